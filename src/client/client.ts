import type { Codec } from "../codec/codec.js";
import { currentScope, eitherSignal } from "../core/call-scope.js";
import { Code } from "../core/code.js";
import { deadlineFromTimeout } from "../core/deadline.js";
import { compose, type Handler, type Interceptor, type RpcResponse } from "../core/interceptor.js";
import type { Limits } from "../core/limits.js";
import { createMetadata, idempotencyKeyHeader } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type {
  AnySpec,
  BalancerPolicy,
  CallOptions,
  HedgingOptions,
  MethodDescriptor,
  OutlierOptions,
  ServiceDescriptor,
} from "../core/service.js";
import type { FramedCodec } from "../protocol/farcall/codecs.js";
import type {
  CallTransport,
  ChannelState,
  EndpointStatus,
  KeepaliveOptions,
  Protocol,
  RetryPolicy,
} from "../protocol/protocol.js";
import type { ClientTlsOptions } from "../protocol/tls.js";
import type { BackoffOptions } from "./channel.js";
import { createProxyClient, createServiceClient, type ProxyClient, type ServiceClient } from "./stub.js";

/** Options for {@link createClient}. */
export interface ClientOptions {
  /**
   * farcall framing's codec: `msgpack` (default), `json`, a built-in codec object, or
   * `{ id, codec }` for another codec with its preface id (3–255).
   */
  codec?: "msgpack" | "json" | Codec | FramedCodec;
  /** Limits on what the server may send; see {@link Limits}. */
  limits?: Partial<Limits>;
  /** Client interceptors; the first is outermost. */
  interceptors?: readonly Interceptor[];
  /** How long a connection attempt may take. Default 10,000 ms. */
  connectTimeoutMs?: number;
  /**
   * PINGs on farcall connections that are quiet while calls are open; a server that does not
   * answer has its connection closed and the calls on it fail with `unavailable`. Default every
   * 30 s of silence, 20 s to answer; `false` turns it off.
   */
  keepalive?: Partial<KeepaliveOptions> | false;
  /** Reconnect backoff after failed attempts. */
  backoff?: Partial<BackoffOptions>;
  /**
   * JSON-RPC and Go net/rpc only: the method name sent for a method. Default `Service.method`
   * (`Service.Method` for Go).
   */
  methodName?: (method: MethodDescriptor) => string;
  /**
   * The protocols whose schemes this client dials (default {@link builtinProtocols}`()`): the one
   * that owns the address's scheme builds the transport.
   */
  protocols?: readonly Protocol[];
  /**
   * Which calls refused unprocessed (`safeToRetry`) are sent again. Default: a unary call refused
   * by a draining server goes once more on a fresh connection (`retryRefusedWhileDraining`).
   */
  retryPolicy?: RetryPolicy;
  /**
   * Whom `tls://`, `https://`, `wss://`, `jsonrpc+tls://` … trust (`ca`, default the system's
   * CAs), the client certificate they show for mTLS (`cert`, `key`) and the name to check
   * (`servername`, default the address's host). Node only: browsers use their own.
   */
  tls?: ClientTlsOptions;
  /**
   * A bearer token sent with every call as `authorization: Bearer <token>` (HTTP's Authorization
   * header), or a function asked for it before each call (to refresh it). A call's own
   * `authorization` metadata wins.
   */
  token?: string | (() => string | Promise<string>);
  /**
   * Signs every call with HMAC-SHA256 under this key (docs/security.md §3): farcall framing, HTTP
   * JSON and JSON-RPC over HTTP. Node only.
   */
  hmac?: { readonly keyId: string; readonly secret: Uint8Array | string };
  /**
   * Clients of a name or a list of addresses (docs/cluster.md): how calls are spread. `p2c`
   * (default): of two endpoints at random, the one with fewer calls outstanding × lower latency;
   * `round_robin`: each in turn; `weighted_round_robin`: in proportion to the registered weights;
   * `ring_hash`: by each call's `hashKey` (a call without one goes to a random endpoint).
   * `CallOptions.balancer` overrides it for one call.
   */
  balancer?: BalancerPolicy;
  /** Clients of a name or a list: prefer endpoints registered in this zone while any is usable. */
  zone?: string;
  /**
   * Clients of a name or a list: attempts a unary call may make (default 3), when a retry cannot
   * run it twice: it never reached a server, or its method is `idempotent`.
   */
  maxAttempts?: number;
  /**
   * Clients of a name or a list: outlier ejection (docs/cluster.md, "Health"). An endpoint whose
   * recent calls fail at `failureRate` or more is ejected for a while, then gets one probe call
   * that readmits it or ejects it for longer. On by default; `false` turns it off.
   */
  outlier?: OutlierOptions | false;
  /**
   * Clients of a name or a list: hedged requests for `idempotent` unary methods (docs/cluster.md,
   * "Hedging"). Off by default.
   */
  hedging?: HedgingOptions;
}

const noMetadata = Object.freeze(createMetadata());

/** Adds `authorization: Bearer <token>` to calls that do not carry their own. */
function bearer(token: string | (() => string | Promise<string>)): Interceptor {
  return (next) => async (req) => {
    if (req.metadata.authorization !== undefined) return next(req);
    const value = typeof token === "string" ? token : await token();
    const metadata = Object.assign(createMetadata(), req.metadata, { authorization: `Bearer ${value}` });
    return next({ ...req, metadata });
  };
}

/**
 * A connection to one farcall server: hands out typed stubs and carries their calls over one
 * lazily opened, multiplexed connection.
 */
export class Client {
  private readonly handler: Handler;

  constructor(
    readonly address: string,
    options: ClientOptions,
    private readonly transport: CallTransport,
  ) {
    const terminal: Handler = (req) => this.transport.call(req);
    const interceptors = options.token === undefined ? [] : [bearer(options.token)];
    this.handler = compose([...interceptors, ...(options.interceptors ?? [])], terminal);
  }

  /** A typed stub for a service defined with `defineService`. */
  service<M extends Record<string, AnySpec>>(service: ServiceDescriptor<M>): ServiceClient<M> {
    return createServiceClient(this.invoke, service);
  }

  /** A stub for a service registered net/rpc style, typed by `T` alone. */
  proxy<T>(serviceName: string): ProxyClient<T> {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(serviceName))
      throw new TypeError(`invalid service name ${JSON.stringify(serviceName)}`);
    return createProxyClient<T>(this.invoke, serviceName);
  }

  /**
   * Makes one call through the interceptors: the low-level path under every stub.
   * @throws RpcError
   */
  readonly invoke = (method: MethodDescriptor, input: unknown, options?: CallOptions): Promise<RpcResponse> => {
    // Inside a handler, a call inherits its deadline and cancellation (core/call-scope.ts).
    const parent = options?.parent === undefined ? currentScope() : (options.parent ?? undefined);
    if (options === undefined && parent === undefined) return this.handler({ method, input, metadata: noMetadata });
    if (options?.timeoutMs !== undefined && !(options.timeoutMs >= 0)) {
      return Promise.reject(
        new RpcError(Code.InvalidArgument, `timeoutMs must be a number >= 0, got ${options.timeoutMs}`),
      );
    }
    let deadline = deadlineFromTimeout(options?.timeoutMs);
    let signal = options?.signal;
    if (parent !== undefined) {
      if (parent.deadline !== undefined && (deadline === undefined || parent.deadline < deadline))
        deadline = parent.deadline;
      signal = signal === undefined ? parent.signal : eitherSignal(signal, parent.signal);
    }
    if (options === undefined) return this.handler({ method, input, metadata: noMetadata, signal, deadline });
    const key = options.idempotencyKey;
    return this.handler({
      method,
      input,
      metadata:
        key === undefined
          ? (options.metadata ?? noMetadata)
          : createMetadata({ ...options.metadata, [idempotencyKeyHeader]: key }),
      idempotencyKey: key,
      hedging: options.hedging,
      signal,
      deadline,
      reuseBuffers: options.reuseBuffers,
      hashKey: options.hashKey,
      balancer: options.balancer,
    });
  };

  /**
   * Connects now instead of at the first call (a no-op over HTTP, which has no connection).
   * @throws RpcError `unavailable` when the attempt fails
   */
  connect(): Promise<void> {
    return this.transport.connect?.() ?? Promise.resolve();
  }

  /** The connection's state; always `ready` over HTTP, which has no connection. */
  get state(): ChannelState {
    return this.transport.state ?? "ready";
  }

  /** Calls `cb` with every new connection state; returns the function that stops it. */
  onStateChange(cb: (state: ChannelState) => void): () => void {
    return this.transport.onStateChange?.(cb) ?? (() => {});
  }

  /**
   * A client of a name or a list: its endpoints now, with their connection state, health and
   * calls outstanding. A client of one address has none.
   */
  endpoints(): EndpointStatus[] {
    return this.transport.endpoints?.() ?? [];
  }

  /** Round-trip time to the server in ms (PING). */
  ping(): Promise<number> {
    return this.transport.ping();
  }

  /** Lets calls in flight finish, then closes the connection. Later calls fail with `unavailable`. */
  close(): Promise<void> {
    return this.transport.close();
  }
}
