import { builtinCodecs, type Codec } from "../codec/index.js";
import type { HandlerContext, Interceptor } from "../core/interceptor.js";
import { type Limits, resolveLimits } from "../core/limits.js";
import {
  type AnySpec,
  defineService,
  type MethodDescriptor,
  type MethodSpec,
  type ServiceDescriptor,
  unary,
} from "../core/service.js";
import type { ByteStreamHandler } from "../protocol/byte-stream.js";
import { magic } from "../protocol/farcall/constants.js";
import { ServerSession } from "../protocol/farcall/server-session.js";
import type { SocketStream } from "../transport/socket-stream.js";
import { type Listener, listen } from "../transport/tcp.js";
import { type HandlerFn, Router } from "./router.js";

/** How a handler for one method spec looks. */
export type ServerMethod<S> =
  S extends MethodSpec<infer I, infer O, infer K>
    ? K extends "unary"
      ? (input: I, ctx: HandlerContext) => O | Promise<O>
      : K extends "server_stream"
        ? (input: I, ctx: HandlerContext) => AsyncIterable<O> | Iterable<O>
        : K extends "client_stream"
          ? (inputs: AsyncIterable<I>, ctx: HandlerContext) => O | Promise<O>
          : K extends "bidi_stream"
            ? (inputs: AsyncIterable<I>, ctx: HandlerContext) => AsyncIterable<O> | Iterable<O>
            : (input: I, ctx: HandlerContext) => void | Promise<void>
    : never;

/** An implementation of every method of a service. */
export type ServiceImpl<M extends Record<string, AnySpec>> = { [K in keyof M]: ServerMethod<M[K]> };

/** Options for {@link createServer}. */
export interface ServerOptions {
  /** Codecs clients may pick; default JSON and MessagePack. */
  codecs?: readonly Codec[];
  /** Limits per connection; see {@link Limits} for the defaults. */
  limits?: Partial<Limits>;
  /** Server interceptors; the first is outermost. */
  interceptors?: readonly Interceptor[];
  /** Send the messages of unexpected handler errors to clients. Default false. */
  exposeErrors?: boolean;
  /** Sees every handler error that is not an `RpcError`, e.g. to log it. */
  onError?: (error: unknown, method: MethodDescriptor) => void;
  /** How long `close()` lets calls in flight run before it ends them. Default 10,000 ms. */
  graceMs?: number;
  /** How long a new connection may take to send its whole preface. Default 10,000 ms. */
  handshakeTimeoutMs?: number;
}

/**
 * A farcall server: a method table, listeners, and the sessions on them.
 * Lifecycle: open (add, listen) → closing (`close()`: listeners stop, sessions drain) → closed.
 */
export class Server {
  private readonly router: Router;
  private readonly limits: Limits;
  private readonly codecs: readonly Codec[];
  private readonly interceptors: readonly Interceptor[];
  private readonly listeners: Listener[] = [];
  private readonly sessions = new Set<ServerSession>();
  private readonly pending = new Set<SocketStream>();
  private closing: Promise<void> | undefined;
  private sessionsGone: (() => void) | undefined;

  constructor(private readonly options: ServerOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.codecs = options.codecs ?? builtinCodecs;
    this.interceptors = [...(options.interceptors ?? [])];
    this.router = new Router(() => this.interceptors, {
      exposeErrors: options.exposeErrors ?? false,
      onError: options.onError,
    });
  }

  /**
   * Adds a service defined with {@link defineService}.
   * @throws TypeError when a method has no handler or is registered twice.
   */
  add<M extends Record<string, AnySpec>>(service: ServiceDescriptor<M>, impl: ServiceImpl<M>): this {
    for (const [name, method] of service.methods) {
      const fn = (impl as Record<string, unknown>)[name];
      if (typeof fn !== "function") throw new TypeError(`no handler for ${method.path}`);
      this.router.add(method, fn.bind(impl) as HandlerFn);
    }
    return this;
  }

  /**
   * Registers a plain object or class instance, net/rpc style: every method on it and its
   * prototypes (not `constructor`, not names starting with `_`, nothing from Object.prototype)
   * becomes a unary method `name/method`, typed on the client by `client.proxy<T>(name)`.
   */
  register(name: string, object: object): this {
    const specs: Record<string, AnySpec> = {};
    const seen = new Set<string>();
    for (
      let proto: object | null = object;
      proto !== null && proto !== Object.prototype;
      proto = Object.getPrototypeOf(proto)
    ) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        if (seen.has(key) || key === "constructor" || key.startsWith("_")) continue;
        seen.add(key);
        if (typeof (object as Record<string, unknown>)[key] === "function") specs[key] = unary();
      }
    }
    return this.add(defineService(name, specs), object as ServiceImpl<Record<string, AnySpec>>);
  }

  /** Paths of every registered method, e.g. `Arith/add`. */
  methods(): string[] {
    return this.router.paths();
  }

  /**
   * Starts listening on `tcp://host:port` or `unix:///path`; resolves with the bound address
   * (port 0 picks a free port).
   */
  async listen(address: string): Promise<string> {
    if (this.closing !== undefined) throw new Error("server is closed");
    const listener = await listen(address, (stream) => this.accept(stream));
    this.listeners.push(listener);
    return listener.address;
  }

  /** Addresses listened on. */
  get addresses(): string[] {
    return this.listeners.map((l) => l.address);
  }

  /**
   * Closes gracefully: stops listening, sends GOAWAY on every connection, lets calls in flight
   * finish, refuses new ones (safe to retry), and after `graceMs` ends whatever is left.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(options.graceMs ?? this.options.graceMs ?? 10_000);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    // net.Server's close callback waits for every connection, so it is awaited last.
    const listenersClosed = Promise.all(this.listeners.map((l) => l.close()));
    for (const stream of this.pending) stream.destroy();
    if (this.sessions.size > 0) {
      const gone = new Promise<void>((resolve) => {
        this.sessionsGone = resolve;
      });
      for (const session of this.sessions) session.goAway();
      const timer = setTimeout(() => {
        for (const session of this.sessions) session.forceClose();
      }, graceMs);
      await gone;
      clearTimeout(timer);
    }
    await listenersClosed;
  }

  private accept(stream: SocketStream): void {
    if (this.closing !== undefined) return stream.destroy();
    this.pending.add(stream);
    // Until the first bytes arrive we do not know which protocol the peer speaks.
    const timer = setTimeout(() => stream.destroy(), this.options.handshakeTimeoutMs ?? 10_000);
    const sniff: ByteStreamHandler = {
      onData: (chunk) => {
        this.pending.delete(stream);
        // Bytes so far must match the farcall magic; the session checks the rest of the preface.
        if (!chunk.subarray(0, magic.length).every((b, i) => b === magic[i])) {
          clearTimeout(timer);
          stream.destroy();
          return;
        }
        const session = new ServerSession(stream, this.limits, this.codecs, this.router, {
          onPreface: () => clearTimeout(timer),
          onClose: () => {
            clearTimeout(timer);
            this.sessions.delete(session);
            if (this.sessions.size === 0) this.sessionsGone?.();
          },
        });
        this.sessions.add(session);
        stream.attach(session);
        session.onData(chunk);
      },
      onClose: () => {
        clearTimeout(timer);
        this.pending.delete(stream);
      },
    };
    stream.attach(sniff);
  }
}

/** Creates a server; add services with `add` or `register`, then `listen`. */
export function createServer(options?: ServerOptions): Server {
  return new Server(options);
}
