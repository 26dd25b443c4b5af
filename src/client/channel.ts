import { Code } from "../core/code.js";
import { CallWatch } from "../core/deadline.js";
import type { RpcRequest, RpcResponse } from "../core/interceptor.js";
import { RpcError } from "../core/rpc-error.js";
import type { CallTransport, ChannelSession, ChannelState, Dial, RetryPolicy } from "../protocol/protocol.js";

/** Reconnect backoff: the wait after the n-th failed attempt is min(maxMs, initialMs·multiplier^(n-1)) ± jitter. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Fraction of the wait added or taken at random, 0..1. */
  jitter: number;
}

export const defaultBackoff: Readonly<BackoffOptions> = Object.freeze({
  initialMs: 100,
  maxMs: 10_000,
  multiplier: 1.6,
  jitter: 0.2,
});

/** The wait before attempt `failures + 1`, jittered. */
export function backoffDelay(failures: number, b: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * b.multiplier ** Math.max(0, failures - 1));
  return Math.max(0, Math.round(base * (1 + b.jitter * (2 * random() - 1))));
}

/**
 * The default retry policy: a unary call the server refused unprocessed because it was draining
 * (GOAWAY) goes once more, on a fresh connection; nothing else is retried.
 */
export const retryRefusedWhileDraining: RetryPolicy = (d) => d.draining && d.attempt === 1 && d.method.kind === "unary";

/** Options of a {@link Channel}. */
export interface ChannelOptions {
  readonly backoff: BackoffOptions;
  /** Which refused calls go again; default {@link retryRefusedWhileDraining}. */
  readonly retryPolicy?: RetryPolicy | undefined;
}

/**
 * One endpoint's connection: made lazily on the first call (or by `connect()`), shared by every
 * call (multiplexed), replaced when it drains or drops. After a failed attempt, calls fail fast
 * with `unavailable` (safe to retry) until the backoff has passed; then the next call tries again.
 * No timer runs in the background. A balancer watches `state` through `onStateChange`.
 */
export class Channel implements CallTransport {
  private session: ChannelSession | undefined;
  private connecting: Promise<ChannelSession> | undefined;
  private readonly old = new Set<ChannelSession>();
  private failures = 0;
  private retryAt = 0;
  private lastError: RpcError | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private current: ChannelState = "idle";
  private readonly watchers = new Set<(state: ChannelState) => void>();
  private readonly backoff: BackoffOptions;
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly dial: Dial,
    options: ChannelOptions,
  ) {
    this.backoff = options.backoff;
    this.retryPolicy = options.retryPolicy ?? retryRefusedWhileDraining;
  }

  /** The channel's connectivity now. */
  get state(): ChannelState {
    return this.current;
  }

  /** Calls `cb` with every new state; returns the function that stops it. */
  onStateChange(cb: (state: ChannelState) => void): () => void {
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }

  /**
   * Connects now instead of at the first call; resolves once the connection is open.
   * @throws RpcError `unavailable` when the attempt fails, or fails fast during backoff
   */
  async connect(): Promise<void> {
    await this.connected();
  }

  /**
   * Sends a call on the current connection, connecting first if needed. The call's deadline and
   * signal cover the connecting too: a call fails at its deadline even while the connection
   * attempt (shared by every call waiting for it) goes on.
   */
  call(req: RpcRequest): Promise<RpcResponse> {
    const session = this.session;
    if (session?.usable) return session.call(req.method, req.input, req);
    const connecting = this.connected();
    if (req.deadline === undefined && req.signal === undefined)
      return connecting.then((s) => s.call(req.method, req.input, req));
    return whileConnecting(connecting, req).then((s) => s.call(req.method, req.input, req));
  }

  /** Round-trip time to the server in ms. */
  async ping(): Promise<number> {
    const s = this.session?.usable ? this.session : await this.connected();
    return s.ping();
  }

  /** Lets calls in flight finish, then closes every connection; new calls fail. */
  close(): Promise<void> {
    this.closed = true;
    this.setState("shutdown");
    const sessions = [...this.old];
    if (this.session !== undefined) sessions.push(this.session);
    for (const s of sessions) s.shutdown();
    if (this.old.size === 0 && this.session === undefined && this.connecting === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private setState(state: ChannelState): void {
    if (this.current === state || this.current === "shutdown") return;
    this.current = state;
    for (const w of [...this.watchers]) w(state);
  }

  /** The current usable session, or the one being made. */
  private connected(): Promise<ChannelSession> {
    if (this.closed) return Promise.reject(new RpcError(Code.Unavailable, "client is closed", { safeToRetry: true }));
    if (this.session?.usable) return Promise.resolve(this.session);
    if (this.connecting !== undefined) return this.connecting;
    const wait = this.retryAt - Date.now();
    if (wait > 0) {
      const last = this.lastError?.rawMessage ?? "connection failed";
      return Promise.reject(
        new RpcError(Code.Unavailable, `${last}; next attempt in ${wait} ms`, {
          safeToRetry: true,
          cause: this.lastError,
        }),
      );
    }
    let session: ChannelSession | undefined;
    this.setState("connecting");
    this.connecting = this.dial({
      onGoAway: () => session !== undefined && this.retire(session),
      retry: (method, input, options, error, draining) => {
        const attempt = options.attempt ?? 1;
        if (!this.retryPolicy({ method, error, attempt, draining })) return undefined;
        return this.connected().then((s) => s.call(method, input, { ...options, attempt: attempt + 1 }));
      },
      onClose: (error) => {
        if (session === undefined) return;
        this.closedSession(session, error);
        this.retire(session);
        this.old.delete(session);
        this.checkIdle();
      },
    }).then(
      (opened) => {
        session = opened;
        this.connecting = undefined;
        if (this.closed) opened.shutdown();
        if (!opened.closed) {
          this.session = opened;
          this.setState("ready");
        } else this.closedSession(opened, new RpcError(Code.Unavailable, "connection closed at once"));
        return opened;
      },
      (err: unknown) => {
        this.connecting = undefined;
        this.failed(RpcError.from(err, Code.Unavailable));
        this.checkIdle();
        throw this.lastError;
      },
    );
    return this.connecting;
  }

  /**
   * A connection closed. One that never showed the peer speaks the protocol (accepted, then
   * closed; a bad preface) counts as a failed attempt, so a broken server is not dialled again for
   * every call; one that did resets the backoff.
   */
  private closedSession(session: ChannelSession, error: RpcError): void {
    if (session.established) this.failures = 0;
    else this.failed(error);
    if (this.session === undefined || this.session === session)
      this.setState(session.established ? "idle" : "transient_failure");
  }

  private failed(error: RpcError): void {
    this.failures++;
    this.retryAt = Date.now() + backoffDelay(this.failures, this.backoff);
    this.lastError = error;
    this.setState("transient_failure");
  }

  /** Stops giving `session` new calls; it closes itself once its calls are done. */
  private retire(session: ChannelSession): void {
    if (this.session === session) {
      this.session = undefined;
      if (this.connecting === undefined) this.setState("idle");
    }
    if (!session.closed) this.old.add(session);
  }

  private checkIdle(): void {
    if (!this.closed || this.old.size > 0 || this.session !== undefined || this.connecting !== undefined) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** A call waiting for a connection: it gives up at its deadline or abort, whichever is first. */
class ConnectWait extends CallWatch {
  constructor(
    private readonly resolve: (s: ChannelSession) => void,
    private readonly reject: (e: RpcError) => void,
  ) {
    super();
  }

  giveUp(reason: RpcError): void {
    this.reject(
      reason.code === Code.DeadlineExceeded
        ? new RpcError(Code.DeadlineExceeded, "deadline exceeded while connecting")
        : reason,
    );
  }

  connected(session: ChannelSession): void {
    this.stop();
    this.resolve(session);
  }

  failed(error: RpcError): void {
    this.stop();
    this.reject(error);
  }
}

/** `connecting`, or the call's deadline or abort, whichever comes first. */
function whileConnecting(connecting: Promise<ChannelSession>, req: RpcRequest): Promise<ChannelSession> {
  return new Promise((resolve, reject) => {
    const wait = new ConnectWait(resolve, reject);
    wait.start(req);
    connecting.then(
      (s) => wait.connected(s),
      (err: RpcError) => wait.failed(err),
    );
  });
}
