import { concatBytes } from "../core/bytes.js";
import { Code } from "../core/code.js";
import type { HandlerContext, Interceptor, Peer } from "../core/interceptor.js";
import { type Limits, resolveLimits } from "../core/limits.js";
import { RpcError } from "../core/rpc-error.js";
import {
  type AnySpec,
  defineService,
  type MethodDescriptor,
  type MethodSpec,
  type ServiceDescriptor,
  unary,
} from "../core/service.js";
import { builtinProtocols } from "../protocol/builtin.js";
import { defaultWriteStallTimeoutMs } from "../protocol/byte-stream.js";
import {
  type AttachableStream,
  type Connection,
  type DrainableSession,
  defaultIdleTimeoutMs,
  defaultMessageTimeoutMs,
  type KeepaliveOptions,
  keepaliveOf,
  type Protocol,
  type ServeContext,
  type ServerPlatform,
  sniffProtocols,
} from "../protocol/protocol.js";
import type { ServerTlsOptions } from "../protocol/tls.js";
import { parseAddress } from "../transport/address.js";
import { installAsyncScopes } from "../transport/call-scope.js";
import { NodeHttpCarrier } from "../transport/http.js";
import { SocketStream } from "../transport/socket-stream.js";
import { connect, type Listener, listen } from "../transport/tcp.js";
import { TlsTerminator, tlsHandshakeByte } from "../transport/tls.js";
import { bindUdp, type UdpListener } from "../transport/udp.js";
import { type Authenticate, type Authorize, createGuard } from "./guard.js";
import { type IdempotencyOptions, IdempotentCalls } from "./idempotency.js";
import { type HandlerFn, Router } from "./router.js";

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
  /**
   * A connection with no calls open and nothing received for this long is closed gracefully (the
   * client reconnects at its next call); 0 never. Default 300,000 ms (5 minutes). HTTP keep-alive
   * connections have node's own 5 s idle timeout.
   */
  idleTimeoutMs?: number;
  /**
   * PINGs on farcall connections that are quiet while calls run; a client that does not answer
   * has its connection closed and its handlers aborted. Default every 30 s of silence, 20 s to
   * answer; `false` turns it off. Other protocols rely on TCP keepalive.
   */
  keepalive?: Partial<KeepaliveOptions> | false;
  /**
   * A message begun (a farcall frame, a JSON value on a stream) must be complete within this long,
   * or the connection is closed with an error. Default 30,000 ms: a 4 MiB message then needs
   * ~1.1 Mbit/s, while a peer that starts one and stalls is cut off. A whole HTTP request (head
   * and body) may take twice this long (60 s), then gets 408.
   */
  messageTimeoutMs?: number;
  /**
   * A connection whose peer takes none of our buffered output (over 1 MiB) for this long is
   * closed: the peer stopped reading. Default 30,000 ms; 0 never.
   */
  writeStallTimeoutMs?: number;
  /**
   * The protocols the server speaks, in sniffing order. Default {@link builtinProtocols}`()`:
   * farcall framing, Go's CONNECT, JSON-RPC, HTTP (each with its own options, e.g.
   * `builtinProtocols({ http: { corsOrigins: "*" } })`).
   */
  protocols?: readonly Protocol[];
  /**
   * TLS on every listener (docs/security.md): a connection whose first byte is a TLS handshake
   * record is decrypted and then sniffed like any other, so one port serves TLS and plaintext
   * clients of every protocol, unless `plaintext: false`. `setTls` replaces the certificates.
   */
  tls?: ServerTlsOptions;
  /**
   * Sees every connection turned away before a protocol took it: a failed TLS handshake (with the
   * reason: no client certificate, unknown CA …), plaintext on a TLS-only port, bytes no protocol
   * recognises. The peer has been told what it can be told; this is for logs.
   */
  onConnectionError?: (error: RpcError, peer: Peer) => void;
  /**
   * Says who is calling, before a call's body is decoded, on every protocol: returns a principal
   * (handlers see it as `ctx.principal`) or throws `unauthenticated`. `bearerTokens`, `jwtVerifier`
   * and `hmacVerifier` make ready ones (docs/security.md).
   */
  authenticate?: Authenticate;
  /**
   * Whether a principal may call a method, after `authenticate`; false is `permission_denied`.
   * A service added with its own `authorize` must pass both.
   */
  authorize?: Authorize;
  /**
   * Unary calls that carry an idempotency key (`CallOptions.idempotencyKey`) run at most once:
   * a repeat gets the first call's outcome (docs/cluster.md, "Idempotency keys"). On by default,
   * in memory; `false` turns it off.
   */
  idempotency?: IdempotencyOptions | false;
}

/** Options for {@link Server.add}. */
export interface AddOptions {
  /** Whether a principal may call this service's methods (besides the server's `authorize`). */
  authorize?: Authorize;
}

/** Options for {@link Server.listen}. */
export interface ListenOptions {
  /**
   * Names of the server's protocols this address speaks (default: all). Routes and WebSocket
   * subprotocols of a protocol left out are not offered either, e.g. `["http", "jsonrpc"]` is
   * HTTP JSON plus JSON-RPC over TCP, HTTP and WebSocket, but no farcall framing.
   */
  protocols?: readonly string[];
  /**
   * Also listen on UDP, same host and port (a `tcp://` address only), for the protocols that serve
   * datagrams (ONC RPC). Default false.
   */
  udp?: boolean;
  /** With the server's `tls` option: `false` serves this address in plaintext only. Default true. */
  tls?: boolean;
}

/** The server's own platform: node:http for the HTTP carrier. */
const nodePlatform: ServerPlatform = {
  httpCarrier: (handlers, options) => new NodeHttpCarrier(handlers, options),
  dialStream: (address, timeoutMs) => connect(address, timeoutMs),
};

/**
 * A farcall server: a method table, listeners, and the sessions on them.
 * Lifecycle: open (add, listen) → closing (`close()`: listeners stop, sessions drain) → closed.
 */
export class Server {
  private readonly router: Router;
  private readonly limits: Limits;
  private readonly interceptors: readonly Interceptor[];
  private readonly protocols: readonly Protocol[];
  private readonly listeners: Listener[] = [];
  private readonly datagramSockets: UdpListener[] = [];
  /** What protocols asked to run once the server has drained (unregistering from rpcbind). */
  private readonly onClosed: (() => Promise<void>)[] = [];
  private readonly sessions = new Set<DrainableSession>();
  private readonly handshakeTimeoutMs: number;
  private readonly writeStallTimeoutMs: number;
  private readonly pending = new Set<AttachableStream | { destroy(): void }>();
  private tls: TlsTerminator | undefined;
  /** Each listener's TLS handshaker, made at its first TLS connection. */
  private readonly handshakers = new WeakMap<ServeContext, ReturnType<TlsTerminator["handshaker"]>>();
  private closing: Promise<void> | undefined;
  /** What runs first when `close()` starts, before any connection is told to go. */
  private readonly closingHooks: (() => Promise<void> | void)[] = [];
  private sessionsGone: (() => void) | undefined;

  constructor(private readonly options: ServerOptions = {}) {
    installAsyncScopes();
    this.limits = resolveLimits(options.limits);
    this.interceptors = [...(options.interceptors ?? [])];
    this.router = new Router(
      () => this.interceptors,
      { exposeErrors: options.exposeErrors ?? false, onError: options.onError },
      options.idempotency === false ? undefined : new IdempotentCalls(options.idempotency),
    );
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? defaultHandshakeTimeoutMs;
    this.writeStallTimeoutMs = options.writeStallTimeoutMs ?? defaultWriteStallTimeoutMs;
    this.protocols = [...(options.protocols ?? builtinProtocols())];
    if (options.tls !== undefined) this.setTls(options.tls);
    if (options.authenticate !== undefined || options.authorize !== undefined) this.guardCalls();
    const names = new Set<string>();
    for (const p of this.protocols) {
      if (names.has(p.name)) throw new TypeError(`protocol ${p.name} is given twice`);
      names.add(p.name);
    }
  }

  /**
   * Adds a service defined with {@link defineService}.
   * @throws TypeError when a method has no handler or is registered twice.
   */
  add<M extends Record<string, AnySpec>>(
    service: ServiceDescriptor<M>,
    impl: ServiceImpl<M>,
    options: AddOptions = {},
  ): this {
    for (const [name, method] of service.methods) {
      const fn = (impl as Record<string, unknown>)[name];
      if (typeof fn !== "function") throw new TypeError(`no handler for ${method.path}`);
    }
    for (const [name, method] of service.methods) {
      const fn = (impl as Record<string, unknown>)[name] as HandlerFn;
      this.router.add(method, fn.bind(impl) as HandlerFn, options.authorize);
    }
    if (options.authorize !== undefined) this.guardCalls();
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

  /** Turns on the guard: from now on every call is authenticated and authorized before it runs. */
  private guardCalls(): void {
    const router = this.router;
    router.guard ??= createGuard(this.options.authenticate, this.options.authorize, (m) => router.authorizeOf(m));
  }

  /**
   * Sets or replaces the TLS certificate, key and client CAs: connections from now on use the new
   * ones, open connections keep theirs. No restart, nothing dropped.
   * @throws TypeError when the PEM does not parse or the key does not match; the old ones stay.
   */
  setTls(options: ServerTlsOptions): void {
    if (this.tls === undefined) {
      this.tls = new TlsTerminator(options, this.handshakeTimeoutMs);
    } else this.tls.reload(options);
  }

  /** Paths of every registered method, e.g. `Arith/add`. */
  methods(): string[] {
    return this.router.paths();
  }

  /**
   * Starts listening on `tcp://host:port` or `unix:///path`; resolves with the bound address
   * (port 0 picks a free port). `options.protocols` narrows what this address speaks.
   * @throws TypeError for a protocol name the server does not have
   */
  async listen(address: string, options: ListenOptions = {}): Promise<string> {
    if (this.closing !== undefined) throw new Error("server is closed");
    const ctx = this.serveContext(this.protocolsNamed(options.protocols));
    const tls = options.tls !== false;
    const listener = await listen(address, (stream) => this.accept(stream, ctx, tls), {
      writeStallTimeoutMs: this.writeStallTimeoutMs,
    });
    this.listeners.push(listener);
    const udp = options.udp === true;
    if (udp) await this.listenUdp(listener.address, ctx);
    const target = parseAddress(listener.address);
    if (target.kind === "tcp") {
      for (const p of ctx.protocols) {
        const undo = await p.listening?.({ host: target.host, port: target.port, udp }, ctx);
        if (undo !== undefined) this.onClosed.push(undo);
      }
    }
    return listener.address;
  }

  /** Binds UDP on a TCP listener's host and port and hands it to the protocols that serve datagrams. */
  private async listenUdp(address: string, ctx: ServeContext): Promise<void> {
    const target = parseAddress(address);
    if (target.kind !== "tcp") throw new TypeError(`udp needs a tcp:// address, not ${address}`);
    const serving = ctx.protocols.filter((p) => p.serveDatagrams !== undefined);
    if (serving.length === 0) throw new TypeError("udp: none of this address's protocols serves datagrams");
    const socket = await bindUdp(target.host, target.port);
    // Closed once the sessions have drained, so calls in flight still get their replies.
    this.datagramSockets.push(socket);
    for (const p of serving) p.serveDatagrams?.(socket, ctx);
  }

  /**
   * Serves a connection that is already open (an in-memory pair's end, a socket from elsewhere):
   * it is sniffed and served as an accepted connection would be.
   * @throws TypeError for a protocol name the server does not have
   */
  serveStream(stream: AttachableStream, options: ListenOptions = {}): void {
    this.accept(stream, this.serveContext(this.protocolsNamed(options.protocols)), options.tls !== false);
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

  /**
   * Runs `hook` first when `close()` starts, while the server still serves: deregistering from a
   * registry (`announce`), so clients stop picking it before it refuses calls. Hooks get at most
   * `graceMs` together.
   */
  onClosing(hook: () => Promise<void> | void): void {
    this.closingHooks.push(hook);
  }

  private protocolsNamed(names: readonly string[] | undefined): readonly Protocol[] {
    if (names === undefined) return this.protocols;
    for (const name of names) {
      if (!this.protocols.some((p) => p.name === name)) {
        const known = this.protocols.map((p) => p.name).join(", ");
        throw new TypeError(`unknown protocol ${JSON.stringify(name)}; this server has ${known}`);
      }
    }
    return this.protocols.filter((p) => names.includes(p.name));
  }

  private serveContext(protocols: readonly Protocol[]): ServeContext {
    const closing = () => this.closing !== undefined;
    return {
      dispatcher: this.router,
      limits: this.limits,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      idleTimeoutMs: this.options.idleTimeoutMs ?? defaultIdleTimeoutMs,
      writeStallTimeoutMs: this.writeStallTimeoutMs,
      messageTimeoutMs: this.options.messageTimeoutMs ?? defaultMessageTimeoutMs,
      keepalive: keepaliveOf(this.options.keepalive),
      protocols,
      platform: nodePlatform,
      get draining() {
        return closing();
      },
      track: (session) => this.track(session),
    };
  }

  private async shutdown(graceMs: number): Promise<void> {
    if (this.closingHooks.length > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hooks = Promise.allSettled(this.closingHooks.map(async (hook) => hook()));
      await Promise.race([hooks, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    // net.Server's close callback waits for every connection, so it is awaited last.
    const listenersClosed = Promise.all(this.listeners.map((l) => l.close()));
    for (const stream of this.pending) stream.destroy();
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.forceClose();
    }, graceMs);
    if (this.sessions.size > 0) {
      const gone = new Promise<void>((resolve) => {
        this.sessionsGone = resolve;
      });
      for (const session of [...this.sessions]) session.goAway();
      await gone;
    }
    clearTimeout(timer);
    await Promise.allSettled(this.onClosed.map((undo) => undo()));
    await Promise.all(this.datagramSockets.map((s) => s.close()));
    await listenersClosed;
  }

  /**
   * Holds a new connection until the listener's protocols recognise its first bytes, then hands it
   * to that protocol. The handshake timer runs until the protocol says its handshake is done. With
   * TLS (`tls`, not yet inside it), a first byte 0x16 starts the TLS handshake, and the decrypted
   * stream is sniffed anew.
   */
  private accept(stream: AttachableStream, ctx: ServeContext, tls: boolean): void {
    if (this.closing !== undefined) return stream.destroy();
    this.pending.add(stream);
    const timer = setTimeout(() => stream.destroy(), this.handshakeTimeoutMs);
    let seen: Uint8Array = new Uint8Array(0);
    const refuse = (why: string) => {
      clearTimeout(timer);
      this.options.onConnectionError?.(new RpcError(Code.Unavailable, why), stream.peer);
      stream.write([encoder.encode(`farcall: ${why}\n`)]);
      stream.end();
    };
    stream.attach({
      onData: (chunk) => {
        seen = seen.length === 0 ? chunk : concatBytes([seen, chunk]);
        const terminator = tls ? this.tls : undefined;
        if (terminator !== undefined) {
          if (seen[0] === tlsHandshakeByte) {
            this.pending.delete(stream);
            clearTimeout(timer);
            return this.startTls(terminator, stream, seen, ctx);
          }
          if (!terminator.plaintext) {
            this.pending.delete(stream);
            return refuse("this port takes TLS connections only");
          }
        }
        const found = sniffProtocols(ctx.protocols, seen);
        if (found === undefined) return;
        this.pending.delete(stream);
        if (typeof found === "string") return refuse(`unrecognised protocol (${found})`);
        const conn: Connection = { stream, first: seen, handshakeDone: () => clearTimeout(timer) };
        found.serve(conn, ctx);
      },
      onClose: () => {
        clearTimeout(timer);
        this.pending.delete(stream);
      },
    });
  }

  /** Runs the TLS handshake on a sniffed socket, then sniffs the protocol inside. */
  private startTls(terminator: TlsTerminator, stream: AttachableStream, seen: Uint8Array, ctx: ServeContext): void {
    if (!(stream instanceof SocketStream)) {
      this.options.onConnectionError?.(new RpcError(Code.Unavailable, "TLS is served on sockets only"), stream.peer);
      return stream.destroy();
    }
    let handshake = this.handshakers.get(ctx);
    if (handshake === undefined) {
      handshake = terminator.handshaker(
        [...new Set(ctx.protocols.flatMap((p) => p.alpn ?? []))],
        (inner, raw) => {
          if (raw !== undefined) this.pending.delete(raw);
          this.accept(inner, ctx, false);
        },
        (error, raw, peer) => {
          if (raw !== undefined) this.pending.delete(raw);
          this.options.onConnectionError?.(error, peer);
        },
        this.writeStallTimeoutMs,
      );
      this.handshakers.set(ctx, handshake);
    }
    const raw = handshake(stream, seen);
    this.pending.add(raw);
    raw.once("close", () => this.pending.delete(raw));
  }

  /** Tracks a session until it closes. */
  private track(session: DrainableSession): () => void {
    this.sessions.add(session);
    return () => {
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.sessionsGone?.();
    };
  }
}

/** Creates a server; add services with `add` or `register`, then `listen`. */
export function createServer(options?: ServerOptions): Server {
  return new Server(options);
}
