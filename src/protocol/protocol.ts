import type { Codec } from "../codec/codec.js";
import type { Peer, RpcRequest, RpcResponse } from "../core/interceptor.js";
import type { Limits } from "../core/limits.js";
import type { Metadata } from "../core/metadata.js";
import type { RpcError } from "../core/rpc-error.js";
import type { MethodDescriptor } from "../core/service.js";
import type { ByteStream, ByteStreamHandler } from "./byte-stream.js";
import type { ServerDispatcher } from "./call-context.js";
import type { DatagramSocket } from "./datagram.js";
import type { CallSigner } from "./hmac.js";
import type { HttpRequest, HttpResponse } from "./http/exchange.js";
import type { MessagePipe } from "./message-pipe.js";
import type { TlsDial } from "./tls.js";
import type { WebSocketCtor, WebSocketLike } from "./websocket-like.js";

// The seam every wire protocol plugs into (docs/architecture.md). A protocol is one folder under
// protocol/ that exports one `Protocol`: how it is recognised on a shared port, how it serves a
// connection (or a WebSocket, or an HTTP route), and the address schemes its client dials. The
// server and the client only loop over the protocols they were given.

/** A byte stream a protocol session can be attached to. */
export type AttachableStream = ByteStream & { attach(handler: ByteStreamHandler): void };

/**
 * What a protocol says of the first bytes of a connection: `yes` it is mine, `no`, or `more`: these
 * bytes could start mine, send more. A sniffer must say `yes` or `no` within a bounded number of bytes.
 */
export type SniffVerdict = "yes" | "no" | "more";

/** A new connection handed to the protocol that recognised it. */
export interface Connection {
  readonly stream: AttachableStream;
  /** The bytes read while sniffing: the protocol reads them first. */
  readonly first: Uint8Array;
  /**
   * The protocol's handshake is complete (or it has none): stops the server's handshake timer,
   * which otherwise closes the connection after `handshakeTimeoutMs`. Safe to call twice.
   */
  handshakeDone(): void;
}

/** A connection's session as the server drains it on `close()`. */
export interface DrainableSession {
  /** Refuse new calls, let calls in flight finish, then close. */
  goAway(): void;
  /** Close now; calls in flight fail. */
  forceClose(): void;
}

/** One HTTP/1.1 server the runtime provides (Node: node:http plus `ws` for upgrades). */
export interface HttpCarrier {
  /** Serves HTTP on a sniffed connection; `first` are the bytes read while sniffing. */
  take(stream: AttachableStream, first: Uint8Array): void;
  /** Ends keep-alive and upgrades; resolves once every connection is closed. */
  drain(): Promise<void>;
  /** Closes every connection now. */
  destroy(): void;
}

/** What an HTTP carrier hands on. */
export interface HttpHandlers {
  request(req: HttpRequest, res: HttpResponse): void;
  /** An upgraded WebSocket; its `protocol` is the subprotocol agreed ("" for none). */
  websocket(ws: WebSocketLike, peer: Peer): void;
}

/** Settings of an HTTP carrier. */
export interface HttpCarrierOptions {
  /** How long a client may take to send a request's headers. */
  headersTimeoutMs: number;
  /** How long a whole request (head and body) may take to arrive; past it the answer is 408. */
  requestTimeoutMs: number;
  /** Largest WebSocket message accepted; larger ones close the socket with 1009. */
  maxWebSocketMessageBytes: number;
  /** Subprotocols offered, in order of preference. */
  webSocketProtocols: readonly string[];
  /** A response whose output the client does not take for this long is destroyed (0: never). */
  writeStallTimeoutMs: number;
}

/** Keepalive on connections that can PING (farcall framing); others rely on TCP keepalive. */
export interface KeepaliveOptions {
  /** Silence (nothing received) with calls open after which a PING is sent. */
  readonly intervalMs: number;
  /** How long that PING may go unanswered before the connection is closed and its calls fail. */
  readonly timeoutMs: number;
}

/**
 * 30 s of silence with calls open, then a PING the peer has 20 s to answer (gRPC's keepalive
 * timeout): a call without a deadline to a host that stopped, or vanished without a FIN, fails
 * within about a minute instead of hanging for as long as the peer is gone, while a healthy
 * connection with a long call open and nothing to say costs 36 bytes every 30 s.
 */
export const defaultKeepalive: KeepaliveOptions = Object.freeze({ intervalMs: 30_000, timeoutMs: 20_000 });

/** Keepalive settings from an option: `false` is off, missing fields are the defaults. */
export function keepaliveOf(option: Partial<KeepaliveOptions> | false | undefined): KeepaliveOptions | undefined {
  if (option === false) return undefined;
  const k = { ...defaultKeepalive, ...option };
  for (const [name, ms] of Object.entries(k)) {
    if (!(Number.isInteger(ms) && ms > 0)) throw new RangeError(`keepalive ${name} must be a whole number of ms > 0`);
  }
  return k;
}

/**
 * A server closes a connection with no calls open and nothing received for 5 minutes: longer than
 * the pauses between a client's bursts, so clients seldom reconnect (they do so at their next
 * call), and short enough that connections of clients that went away without closing do not pile up.
 */
export const defaultIdleTimeoutMs = 300_000;

/**
 * A message begun (a farcall frame, a JSON value on a stream) must be complete within 30 s: a
 * message of the default 4 MiB limit then needs ~1.1 Mbit/s, while a peer that starts one and
 * stalls, to hold the connection and what the reader has buffered, is cut off within 30–45 s.
 */
export const defaultMessageTimeoutMs = 30_000;

/** What the runtime gives protocols on the server side. */
export interface ServerPlatform {
  /** An HTTP/1.1 server over sniffed connections; absent where the runtime has none. */
  readonly httpCarrier?: (handlers: HttpHandlers, options: HttpCarrierOptions) => HttpCarrier;
  /** Opens a `tcp://` or `unix://` connection (for a protocol that talks to a local service, such as rpcbind). */
  readonly dialStream?: (address: string, timeoutMs: number) => Promise<AttachableStream>;
}

/** Where a listener was bound, for {@link Protocol.listening}. */
export interface ListeningOn {
  readonly host: string;
  readonly port: number;
  /** UDP was bound on the same port too. */
  readonly udp: boolean;
}

/**
 * What a protocol gets from the server, one per listener: the method table, the limits, the
 * drain bookkeeping, and the other protocols this listener speaks (for carriers such as HTTP,
 * which hand WebSockets and routes on to them).
 */
export interface ServeContext {
  readonly dispatcher: ServerDispatcher;
  readonly limits: Limits;
  /** How long a connection may take to show its protocol; HTTP's header timeout too. */
  readonly handshakeTimeoutMs: number;
  /** True once the server began to close. */
  readonly draining: boolean;
  /** Close a connection with no calls open and nothing received for this long; 0: never. */
  readonly idleTimeoutMs: number;
  /** Close a connection whose peer does not take our output for this long; 0: never. */
  readonly writeStallTimeoutMs: number;
  /** A message begun (a farcall frame, a JSON value) must be complete within this long; 0: never. */
  readonly messageTimeoutMs: number;
  /** PINGs on quiet connections with calls open; undefined: off. */
  readonly keepalive: KeepaliveOptions | undefined;
  /** The protocols this listener speaks, in the server's order. */
  readonly protocols: readonly Protocol[];
  readonly platform: ServerPlatform;
  /** Counts a session until the returned function is called (when it has closed), so `close()` can drain it. */
  track(session: DrainableSession): () => void;
}

/**
 * An HTTP route a protocol offers on a listener's HTTP carrier. Returns false when the request is
 * not for it (the next protocol's route is tried; when none takes it the answer is 404).
 */
export type HttpRoute = (req: HttpRequest, res: HttpResponse, route: HttpRouteContext) => boolean;

/** What an HTTP route gets besides the request: the server's context and the CORS headers to add. */
export interface HttpRouteContext {
  readonly serve: ServeContext;
  /** CORS headers for this request's origin (empty when it is not allowed). */
  readonly cors: Readonly<Record<string, string>>;
}

/** A WebSocket subprotocol a protocol serves, once an HTTP carrier has upgraded the connection. */
export interface WebSocketService {
  /** Subprotocol names it takes; "" takes a client that asked for none. */
  readonly subprotocols: readonly string[];
  serve(ws: WebSocketLike, peer: Peer, ctx: ServeContext): void;
}

/** Per-call options a client session understands (the stub has turned `timeoutMs` into `deadline`). */
export interface SessionCallOptions {
  metadata?: Readonly<Metadata> | undefined;
  /** Epoch ms. */
  deadline?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Which attempt this is: 1 (or unset) the first; a retry policy's decisions count them. */
  attempt?: number | undefined;
  /** Streamed replies: byte values may live in buffers reused once the next message is asked for. */
  reuseBuffers?: boolean | undefined;
}

/**
 * A connection's connectivity, as gRPC names it: `idle` (no connection, none being made),
 * `connecting`, `ready`, `transient_failure` (the last attempt failed; calls fail fast until the
 * backoff has passed), `shutdown` (closed).
 */
export type ChannelState = "idle" | "connecting" | "ready" | "transient_failure" | "shutdown";

/** One endpoint of a client of a name or a list, as its balancer sees it now. */
export interface EndpointStatus {
  readonly address: string;
  readonly state: ChannelState;
  /** `ejected` by outlier detection; `probing`: its ejection is over and its next call is a probe. */
  readonly health: "healthy" | "ejected" | "probing";
  readonly outstanding: number;
}

/** What carries a client's calls: a channel of connections, or a stateless HTTP transport. */
export interface CallTransport {
  call(req: RpcRequest): Promise<RpcResponse>;
  ping(): Promise<number>;
  /** Lets calls in flight finish, then closes. */
  close(): Promise<void>;
  /** Connects now (transports with connections); stateless ones have nothing to do. */
  connect?(): Promise<void>;
  /** Connectivity (transports with connections). */
  readonly state?: ChannelState;
  /** Calls `cb` with every new state; returns the function that stops it. */
  onStateChange?(cb: (state: ChannelState) => void): () => void;
  /** The endpoints calls are spread over (balancers). */
  endpoints?(): EndpointStatus[];
}

/** One connection's client session, as a channel drives it. */
export interface ChannelSession {
  /** False once draining or closed: new calls go to a new session. */
  readonly usable: boolean;
  readonly closed: boolean;
  /**
   * True once the peer has shown it speaks the protocol (farcall: its preface; JSON-RPC: a reply).
   * A session that closes before that counts as a failed connection attempt (backoff).
   */
  readonly established: boolean;
  call(method: MethodDescriptor, input: unknown, options: SessionCallOptions): Promise<RpcResponse>;
  ping(): Promise<number>;
  /** Lets calls in flight finish, then closes. */
  shutdown(): void;
}

/** What a channel asks of the sessions it opens. */
export interface ChannelHooks {
  /** The server will take no new calls on this connection (GOAWAY): send them elsewhere. */
  onGoAway(): void;
  /** The connection is gone. */
  onClose(error: RpcError): void;
  /**
   * A call failed with an error marked safe to retry (the server refused it unprocessed): returns
   * the retried call's result when the client's retry policy retries it, else `undefined`.
   * `draining` says the refusal came from a connection the server is draining.
   */
  retry(
    method: MethodDescriptor,
    input: unknown,
    options: SessionCallOptions,
    error: RpcError,
    draining: boolean,
  ): Promise<RpcResponse> | undefined;
}

/** What a retry policy decides on: one failed attempt of a call. */
export interface RetryDecision {
  readonly method: MethodDescriptor;
  readonly error: RpcError;
  /** Attempts made so far, this one included (1 after the first). */
  readonly attempt: number;
  /** The refusal came from a connection the server is draining (GOAWAY). */
  readonly draining: boolean;
}

/**
 * Whether to send a failed call again, on a fresh connection if the current one is draining. It
 * is asked only for errors marked `safeToRetry` (the call provably did not run), so no policy can
 * make a call run twice.
 */
export type RetryPolicy = (decision: RetryDecision) => boolean;

/** Opens a connection and starts a session on it, wired to the channel's hooks. */
export type Dial = (hooks: ChannelHooks) => Promise<ChannelSession>;

/** The `fetch` farcall needs (the global one in browsers and Node 20). */
export type Fetch = typeof globalThis.fetch;

/** What the runtime offers a client: Node has all three, a browser no raw sockets. */
export interface ClientPlatform {
  /**
   * Opens `tcp://` or `unix://` (Node only), over TLS with `options.tls` (the client's TLS
   * settings and the protocol's ALPN names). See {@link StreamDialOptions}.
   */
  readonly dialStream?: (address: string, timeoutMs: number, options?: StreamDialOptions) => Promise<AttachableStream>;
  /** The WebSocket class, loaded when a WebSocket address is first dialled. */
  readonly loadWebSocket?: (() => Promise<WebSocketCtor>) | undefined;
  readonly fetch?: Fetch | undefined;
  /** Makes the signer of the client's `hmac` option (Node only). */
  readonly hmacSigner?: ((key: { keyId: string; secret: Uint8Array | string }) => CallSigner) | undefined;
  /** Opens a UDP socket to `host:port` as a pipe of datagrams (Node only). */
  readonly dialDatagram?: ((host: string, port: number) => Promise<MessagePipe>) | undefined;
}

/** How a protocol asks for a byte stream. */
export interface StreamDialOptions {
  /**
   * Chunks are read into one buffer and valid only during `onData` (`transientChunks`): for
   * sessions that copy what they keep. Plain TCP and unix sockets only.
   */
  readonly reuseReadBuffer?: boolean | undefined;
  /** Connect over TLS, asking for these ALPN names; the client's `tls` option says whom to trust. */
  readonly tls?: TlsDial | undefined;
}

/** What a client protocol gets to build the transport for one address. */
export interface DialContext {
  /** The whole address, as given. */
  readonly address: string;
  /** Its scheme, e.g. `tcp` (`tcp` when the address has none). */
  readonly scheme: string;
  /** What follows `scheme://`. */
  readonly rest: string;
  readonly limits: Limits;
  /** How long one connection attempt may take. */
  readonly connectTimeoutMs: number;
  /** PINGs on quiet connections with calls open; undefined: off. */
  readonly keepalive: KeepaliveOptions | undefined;
  /** The client's `codec` option (farcall framing): a built-in's name or object, or `{ id, codec }`. */
  readonly codec: string | Codec | { readonly id: number; readonly codec: Codec } | undefined;
  /** Signs every call (the client's `hmac` option); undefined: unsigned. */
  readonly signer: CallSigner | undefined;
  /** The client's `methodName` option (JSON-RPC, Go). */
  readonly methodName: ((method: MethodDescriptor) => string) | undefined;
  /** Opens a byte stream; throws `invalid_argument` when the platform has no sockets. */
  dialStream(address: string, options?: StreamDialOptions): () => Promise<AttachableStream>;
  /** Opens a WebSocket with a subprotocol; throws `invalid_argument` when the platform has none. */
  dialWebSocket(url: string, subprotocol: string): () => Promise<WebSocketLike>;
  /** The platform's fetch; throws `invalid_argument` when it has none. */
  fetch(): Fetch;
  /** Opens a datagram pipe to `host:port`; throws `invalid_argument` when the platform has no UDP. */
  dialDatagram(host: string, port: number): () => Promise<MessagePipe>;
  /** A channel over `dial`: lazy connect, reconnect with backoff, drain. */
  channel(dial: Dial): CallTransport;
}

/** Builds the transport for one address of a scheme. Throws `invalid_argument` for an address it cannot use. */
export type Dialer = (ctx: DialContext) => CallTransport;

/**
 * A wire protocol, both directions. Every part is optional: a protocol may only serve, only dial,
 * or only ride on a carrier (WebSocket, HTTP).
 */
export interface Protocol {
  /** Its name in `listen(address, { protocols })`, e.g. `farcall`. Unique among a server's protocols. */
  readonly name: string;
  /**
   * Its ALPN names (RFC 7301), offered by a TLS server and asked for by its TLS clients, e.g.
   * `farcall`, `http/1.1`. The protocol inside a TLS connection is still sniffed.
   */
  readonly alpn?: readonly string[];
  /** Recognises the protocol from a connection's first bytes. */
  readonly sniff?: (bytes: Uint8Array) => SniffVerdict;
  /** Serves a connection that `sniff` recognised. */
  readonly serve?: (conn: Connection, ctx: ServeContext) => void;
  /**
   * Called once a listener is bound (ONC RPC registers with the host's rpcbind here). The function
   * it resolves to runs when the server has drained, before it closes (to unregister).
   */
  readonly listening?: (where: ListeningOn, ctx: ServeContext) => Promise<(() => Promise<void>) | undefined>;
  /** Serves a datagram socket (UDP) the server was asked to listen on (`listen(address, { udp: true })`). */
  readonly serveDatagrams?: (socket: DatagramSocket, ctx: ServeContext) => void;
  /** The WebSocket subprotocols it serves. */
  readonly webSocket?: WebSocketService;
  /** The HTTP routes it serves. */
  readonly http?: HttpRoute;
  /** Address schemes its client dials, e.g. `{ tcp: …, unix: … }`. */
  readonly schemes?: Readonly<Record<string, Dialer>>;
}

/** Bytes a connection may send before some protocol must have recognised it. */
export const maxSniffBytes = 4096;
/**
 * Blank bytes (space, tab, CR, LF) allowed before the first meaningful one: JSON streams may start
 * with a newline or two, nothing real sends dozens, and without a bound a peer could hold a
 * connection in the sniffing stage by sending only blanks.
 */
export const maxLeadingBlanks = 64;

const isBlank = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Index of the first byte that is not blank (`bytes.length` if all are). */
export function firstNonBlank(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && isBlank(bytes[i] as number)) i++;
  return i;
}

/**
 * Decides which protocol a connection speaks from the bytes seen so far: the first protocol (in
 * order) that says `yes`, unless one before it still says `more`. Returns the protocol, `undefined`
 * to wait for more bytes, or the reason none will take it.
 */
export function sniffProtocols(
  protocols: readonly Protocol[],
  bytes: Uint8Array,
): (Protocol & Required<Pick<Protocol, "serve">>) | undefined | string {
  let waiting = false;
  for (const p of protocols) {
    const verdict = p.serve === undefined ? "no" : (p.sniff?.(bytes) ?? "no");
    if (verdict === "yes") return waiting ? undefined : (p as Protocol & Required<Pick<Protocol, "serve">>);
    if (verdict === "more") waiting = true;
  }
  if (waiting) return bytes.length <= maxSniffBytes ? undefined : `no protocol recognised in ${bytes.length} bytes`;
  const at = firstNonBlank(bytes);
  if (at > maxLeadingBlanks) return `more than ${maxLeadingBlanks} blank bytes`;
  const b = (at < bytes.length ? bytes[at] : bytes[0]) as number;
  return `first byte 0x${b.toString(16).padStart(2, "0")}`;
}
