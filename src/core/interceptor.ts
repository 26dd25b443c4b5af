import type { Metadata } from "./metadata.js";
import type { BalancerPolicy, MethodDescriptor } from "./service.js";

/** Who is on the other end of a connection. */
export interface Peer {
  /** `tcp`, `unix`, `http`, `websocket`, or `memory` for in-process pipes. */
  readonly transport: string;
  /** IP address, socket path, or a name. */
  readonly address: string;
  readonly port?: number | undefined;
  /** Set when the connection is TLS (`tls://`, `https://`, `wss://` …): the session and the peer's certificate. */
  readonly tls?: PeerTls | undefined;
}

/** A TLS connection as a handler sees it. */
export interface PeerTls {
  /** `TLSv1.2` or `TLSv1.3`. */
  readonly protocol: string;
  /** The cipher suite's standard name, e.g. `TLS_AES_256_GCM_SHA384`. */
  readonly cipher: string;
  /** The ALPN name agreed, if any (`farcall`, `http/1.1` …). */
  readonly alpn: string | undefined;
  /**
   * On a server: the client presented a certificate that chains to the server's `ca` (mTLS). On a
   * client: the server's certificate was verified.
   */
  readonly authorized: boolean;
  /** The certificate the peer presented, if it presented one. */
  readonly certificate: PeerCertificate | undefined;
}

/** A peer's X.509 certificate, as far as authorization decisions need it. */
export interface PeerCertificate {
  /** The subject's distinguished name, e.g. `CN=billing, O=example`. */
  readonly subject: string;
  readonly commonName: string | undefined;
  /** Subject alternative names as OpenSSL prints them: `DNS:api.example`, `URI:spiffe://…`, `IP Address:127.0.0.1`. */
  readonly subjectAltNames: readonly string[];
  readonly issuer: string;
  readonly serialNumber: string;
  /** SHA-256 of the DER certificate, as colon-separated hex. */
  readonly fingerprint256: string;
  /** Epoch ms. */
  readonly validFrom: number;
  /** Epoch ms. */
  readonly validTo: number;
}

/**
 * Credentials a call carried. AUTH_SYS (ONC RPC) is what the caller claims, unverified: the uid,
 * gid and groups of the calling process and the name of its machine.
 */
export interface Credentials {
  readonly flavor: "auth_sys";
  readonly stamp: number;
  readonly machineName: string;
  readonly uid: number;
  readonly gid: number;
  readonly gids: readonly number[];
}

/** What a handler learns about its call, and how it answers with metadata. */
export interface HandlerContext {
  readonly method: MethodDescriptor;
  /** Aborted when the caller cancels, the deadline passes, or the server shuts down. */
  readonly signal: AbortSignal;
  /** Epoch ms by which the caller wants an answer, if it set one. */
  readonly deadline: number | undefined;
  /** Milliseconds left until the deadline; `Infinity` without one. */
  remainingMs(): number;
  /** Request metadata; read-only. */
  readonly metadata: Readonly<Metadata>;
  readonly peer: Peer;
  /** What the caller said it is, on protocols that carry credentials (ONC RPC's AUTH_SYS). */
  readonly credentials?: Credentials | undefined;
  /** Metadata sent back with the reply (or with the end of a stream, or with an error). */
  readonly responseMetadata: Metadata;
  /** Who the server's `authenticate` hook said the caller is; undefined without one. */
  readonly principal?: unknown;
}

/**
 * One call as interceptors see it, on both sides. For client-streaming and bidi methods `input` is
 * an `AsyncIterable`; for server-streaming and bidi methods the response's `output` is one.
 */
export interface RpcRequest {
  readonly method: MethodDescriptor;
  readonly input: unknown;
  readonly metadata: Readonly<Metadata>;
  /** The caller's signal; always set on the server. */
  readonly signal?: AbortSignal | undefined;
  /** Epoch ms. */
  readonly deadline?: number | undefined;
  /** Set on the server only. */
  readonly context?: HandlerContext | undefined;
  /** Client only: see `CallOptions.reuseBuffers`. */
  readonly reuseBuffers?: boolean | undefined;
  /** Client only: see `CallOptions.hashKey`. */
  readonly hashKey?: string | undefined;
  /** Client only: see `CallOptions.balancer`. */
  readonly balancer?: BalancerPolicy | undefined;
  /** Client only: see `CallOptions.hedging`. */
  readonly hedging?: false | undefined;
  /** Client only: see `CallOptions.idempotencyKey` (it travels in the metadata too). */
  readonly idempotencyKey?: string | undefined;
}

/** The result of a call. */
export interface RpcResponse {
  readonly output: unknown;
  readonly metadata: Metadata;
}

/** A call as a function. */
export type Handler = (req: RpcRequest) => Promise<RpcResponse>;

/**
 * A function over calls: gets the next handler, returns one that wraps it. Used alike by clients
 * (wrapping the transport) and servers (wrapping the method). It should forward `req.signal`,
 * return what `next` returned or throw an `RpcError`.
 */
export type Interceptor = (next: Handler) => Handler;

/**
 * Composes interceptors; the first is outermost. Synchronous throws become rejections.
 * @throws TypeError when an element is not a function.
 */
export function compose(interceptors: readonly Interceptor[], terminal: Handler): Handler {
  for (const i of interceptors) {
    if (typeof i !== "function") throw new TypeError("interceptor must be a function (next) => handler");
  }
  let handler = terminal;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const wrapped = (interceptors[i] as Interceptor)(handler);
    if (typeof wrapped !== "function") throw new TypeError("interceptor must return a handler function");
    handler = (req) => {
      try {
        return wrapped(req);
      } catch (err) {
        return Promise.reject(err);
      }
    };
  }
  return handler;
}
