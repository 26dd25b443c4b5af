import { builtinCodecs, type Codec } from "../codec/index.js";
import { concatBytes } from "../core/bytes.js";
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
import type { ByteStream, ByteStreamHandler } from "../protocol/byte-stream.js";
import { ServerSession } from "../protocol/farcall/server-session.js";
import { parseConnect } from "../protocol/http/connect.js";
import type { HttpRequest, HttpResponse } from "../protocol/http/exchange.js";
import { JsonRpcEndpoint, type JsonRpcServerOptions } from "../protocol/jsonrpc/server.js";
import { JsonStreamSession } from "../protocol/jsonrpc/stream-session.js";
import { sniff } from "../protocol/sniff.js";
import type { WebSocketLike } from "../protocol/websocket-like.js";
import { WebSocketByteStream, webSocketPieceBytes } from "../protocol/websocket-stream.js";
import { HttpEndpoint } from "../transport/http.js";
import type { SocketStream } from "../transport/socket-stream.js";
import { type Listener, listen } from "../transport/tcp.js";
import { handleHttp } from "./http-routes.js";
import { type HandlerFn, Router } from "./router.js";
import { jsonRpcOverWebSocket } from "./websocket.js";

const encoder = new TextEncoder();
/**
 * A connection that has not shown its protocol within 10 s is idle or hostile: real clients send
 * their first bytes with the connection, and slow TLS or mobile links take a few seconds at most.
 */
const defaultHandshakeTimeoutMs = 10_000;
/** `close()` gives calls in flight 10 s: more than ordinary calls take, short enough for a deploy. */
const defaultGraceMs = 10_000;

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
  /**
   * How long a new connection may take to show its protocol (and for farcall, to send its whole
   * preface); also HTTP's header timeout. Default 10,000 ms.
   */
  handshakeTimeoutMs?: number;
  /** Origins whose browsers may call over HTTP (CORS): a list, or "*". Default: none. */
  corsOrigins?: readonly string[] | "*";
  /** Whether keys in Go net/rpc params are converted to lowerCamel (docs/protocols.md). Default "lowerCamel". */
  goFieldNames?: "lowerCamel" | "asIs";
}

/** A connection's protocol session, as the server drains it. */
interface Session {
  goAway(): void;
  forceClose(): void;
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
  private readonly sessions = new Set<Session>();
  private readonly jsonRpc: JsonRpcServerOptions;
  private readonly handshakeTimeoutMs: number;
  private http: HttpEndpoint | undefined;
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
    this.jsonRpc = { limits: this.limits, goFieldNames: options.goFieldNames ?? "lowerCamel" };
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? defaultHandshakeTimeoutMs;
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
    this.closing ??= this.shutdown(options.graceMs ?? this.options.graceMs ?? defaultGraceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    // net.Server's close callback waits for every connection, so it is awaited last.
    const listenersClosed = Promise.all(this.listeners.map((l) => l.close()));
    for (const stream of this.pending) stream.destroy();
    const http = this.http;
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.forceClose();
      http?.destroy();
    }, graceMs);
    const httpDrained = http?.drain();
    if (this.sessions.size > 0) {
      const gone = new Promise<void>((resolve) => {
        this.sessionsGone = resolve;
      });
      for (const session of this.sessions) session.goAway();
      await gone;
    }
    await httpDrained;
    clearTimeout(timer);
    http?.destroy();
    await listenersClosed;
  }

  private accept(stream: SocketStream): void {
    if (this.closing !== undefined) return stream.destroy();
    this.pending.add(stream);
    // Until the protocol is known (and for farcall, its preface is in) the timer runs.
    const timer = setTimeout(() => stream.destroy(), this.handshakeTimeoutMs);
    let seen: Uint8Array = new Uint8Array(0);
    const sniffer: ByteStreamHandler = {
      onData: (chunk) => {
        seen = seen.length === 0 ? chunk : concatBytes([seen, chunk]);
        const result = sniff(seen);
        if (result === undefined) return;
        this.pending.delete(stream);
        // farcall keeps the timer until its preface is in, CONNECT until its head is.
        if (result.protocol !== "farcall" && result.protocol !== "connect") clearTimeout(timer);
        switch (result.protocol) {
          case "farcall":
            return this.farcall(stream, seen, timer);
          case "connect":
            return this.connect(stream, seen, timer);
          case "json":
            return this.jsonStream(stream, seen);
          case "http":
            this.http ??= this.httpEndpoint();
            return this.http.take(stream, seen);
          default:
            stream.write([encoder.encode(`farcall: unrecognised protocol (${result.reason})\n`)]);
            stream.end();
        }
      },
      onClose: () => {
        clearTimeout(timer);
        this.pending.delete(stream);
      },
    };
    stream.attach(sniffer);
  }

  /**
   * `CONNECT /_goRPC_` (Go's HTTP handshake for net/rpc) is read here, since node's parser does not
   * take its origin-form target, nor Go's bare-LF line ends; the connection then carries a JSON stream.
   */
  private connect(stream: SocketStream, first: Uint8Array, timer: ReturnType<typeof setTimeout>): void {
    let seen = first;
    const step = (): void => {
      const head = parseConnect(seen);
      if (head === undefined) return;
      clearTimeout(timer);
      if (typeof head === "string" || head.target !== "/_goRPC_" || this.closing !== undefined) {
        const why = typeof head === "string" ? head : `no CONNECT target ${head.target}`;
        stream.write([encoder.encode(`HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\n${why}\n`)]);
        return stream.end();
      }
      stream.write([encoder.encode("HTTP/1.0 200 Connected to Go RPC\n\n")]);
      this.jsonStream(stream, head.rest);
    };
    stream.attach({
      onData: (chunk) => {
        seen = concatBytes([seen, chunk]);
        step();
      },
      onClose: () => clearTimeout(timer),
    });
    step();
  }

  /** Tracks a session until it closes. */
  private track(session: Session): () => void {
    this.sessions.add(session);
    return () => {
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.sessionsGone?.();
    };
  }

  private farcall(
    stream: SocketStream | WebSocketByteStream,
    first: Uint8Array,
    timer?: ReturnType<typeof setTimeout>,
  ) {
    let untrack = () => {};
    const session = new ServerSession(stream, this.limits, this.codecs, this.router, {
      onPreface: () => clearTimeout(timer),
      onClose: () => {
        clearTimeout(timer);
        untrack();
      },
    });
    untrack = this.track(session);
    stream.attach(session);
    if (first.length > 0) session.onData(first);
  }

  private jsonStream(stream: ByteStream & { attach(h: ByteStreamHandler): void }, first: Uint8Array): void {
    let untrack = () => {};
    const endpoint = new JsonRpcEndpoint(this.router, this.jsonRpc, stream.peer);
    const session = new JsonStreamSession(stream, endpoint, this.limits, { onClose: () => untrack() });
    untrack = this.track(session);
    stream.attach(session);
    if (first.length > 0) session.onData(first);
  }

  private httpEndpoint(): HttpEndpoint {
    const routes = {
      dispatcher: this.router,
      limits: this.limits,
      jsonRpc: this.jsonRpc,
      corsOrigins: this.options.corsOrigins,
      draining: () => this.closing !== undefined,
    };
    return new HttpEndpoint(
      {
        request: (req: HttpRequest, res: HttpResponse) => handleHttp(req, res, routes),
        websocket: (ws: WebSocketLike, peer) => {
          if (ws.protocol === "farcall") return this.farcall(new WebSocketByteStream(ws, peer), new Uint8Array(0));
          const endpoint = new JsonRpcEndpoint(this.router, this.jsonRpc, peer);
          let untrack = () => {};
          untrack = this.track(jsonRpcOverWebSocket(ws, endpoint, this.limits.maxMessageBytes, () => untrack()));
        },
      },
      {
        headersTimeoutMs: this.handshakeTimeoutMs,
        // JSON-RPC messages are checked against maxMessageBytes by the session itself; farcall
        // framing arrives in pieces of at most webSocketPieceBytes, whatever the frames' size.
        maxWebSocketMessageBytes: Math.max(this.limits.maxMessageBytes, webSocketPieceBytes),
        webSocketProtocols: ["farcall", "jsonrpc"],
      },
    );
  }
}

/** Creates a server; add services with `add` or `register`, then `listen`. */
export function createServer(options?: ServerOptions): Server {
  return new Server(options);
}
