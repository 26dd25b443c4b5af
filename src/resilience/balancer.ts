// Calls spread over the endpoints a resolver publishes, one channel each (docs/cluster.md).
import type { ResolvedEndpoint, Resolver } from "../client/resolver.js";
import { Code } from "../core/code.js";
import type { RpcRequest, RpcResponse } from "../core/interceptor.js";
import { RpcError } from "../core/rpc-error.js";
import type { BalancerPolicy, HedgingOptions, OutlierOptions } from "../core/service.js";
import type { CallTransport, ChannelState, EndpointStatus } from "../protocol/protocol.js";
import { EndpointState } from "./endpoint-state.js";
import { hedgeCopies, hedged } from "./hedge.js";
import { countsAgainst, Health, type ResolvedOutlierOptions, resolveOutlierOptions } from "./outlier.js";
import { type Picker, pickerFor } from "./pickers.js";
import { RetryBudget } from "./retry-budget.js";

const noneTried: ReadonlySet<never> = new Set();

/** Options of a {@link Balancer}. */
export interface BalancerOptions {
  /** Default `p2c`. */
  readonly policy?: BalancerPolicy | undefined;
  /** Prefer endpoints of this zone while any is usable. */
  readonly zone?: string | undefined;
  /** Attempts a call may make, the first included. Default 3. */
  readonly maxAttempts?: number | undefined;
  /** Hedged requests for idempotent unary methods; off when not given. */
  readonly hedging?: HedgingOptions | undefined;
  /** Outlier ejection (passive health, a breaker per endpoint); `false` turns it off. Default on, with the defaults of {@link OutlierOptions}. */
  readonly outlier?: OutlierOptions | false | undefined;
  /** The name resolved, for messages. */
  readonly name: string;
}

/** What a failed attempt says in `err.details`. */
export interface AttemptDetail {
  readonly phase: "resolve" | "pick" | "connect" | "call";
  readonly endpoint?: string | undefined;
  readonly attempt: number;
  /** `unknown`: the call may have run (its connection was lost in flight) and was not sent again. */
  readonly outcome?: "unknown" | undefined;
}

/**
 * A `CallTransport` over many endpoints: the resolver's sets become channels (made by
 * `transportFor`), a picker chooses one per attempt, and a failed attempt goes again, elsewhere
 * where possible, only when that cannot run the call twice.
 */
export class Balancer implements CallTransport {
  private readonly byAddress = new Map<string, EndpointState>();
  private picker: Picker<EndpointState>;
  /** Pickers of the policies calls asked for instead of the client's, made on demand, dropped on every refresh. */
  private overrides = new Map<BalancerPolicy, Picker<EndpointState>>();
  private resolved = false;
  private resolveError: RpcError | undefined;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly budget = new RetryBudget();
  private readonly maxAttempts: number;
  private readonly outlier: ResolvedOutlierOptions | undefined;
  private readonly watchers = new Set<(state: ChannelState) => void>();
  private current: ChannelState = "idle";

  constructor(
    private readonly resolver: Resolver,
    private readonly transportFor: (address: string) => CallTransport,
    private readonly options: BalancerOptions,
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.outlier = options.outlier === false ? undefined : resolveOutlierOptions(options.outlier ?? {});
    this.picker = pickerFor<EndpointState>(options.policy ?? "p2c", [], options.zone);
    resolver.start({
      onUpdate: (endpoints, complete) => this.update(endpoints, complete),
      onError: (error) => {
        this.resolveError = error;
        if (this.byAddress.size === 0) this.wake();
      },
    });
  }

  get state(): ChannelState {
    return this.current;
  }

  onStateChange(cb: (state: ChannelState) => void): () => void {
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }

  /** The endpoints now, with their state, health and outstanding calls: what a status page or a test reads. */
  endpoints(): EndpointStatus[] {
    return [...this.byAddress.values()].map((e) => ({
      address: e.address,
      state: e.transport.state ?? "ready",
      health: e.health?.state ?? "healthy",
      outstanding: e.outstanding,
    }));
  }

  call(req: RpcRequest): Promise<RpcResponse> {
    if (!this.resolved) return this.whenResolved(req).then(() => this.first(req));
    return this.first(req);
  }

  private first(req: RpcRequest): Promise<RpcResponse> {
    const hedging = this.options.hedging;
    if (
      hedging !== undefined &&
      req.hedging !== false &&
      req.method.kind === "unary" &&
      req.method.idempotent === true &&
      this.byAddress.size > 1
    )
      return this.hedge(req, hedging);
    return this.attempt(req, 1, noneTried);
  }

  async connect(): Promise<void> {
    await this.whenResolved(undefined);
    const ep = this.picker({ method: { kind: "unary" } } as RpcRequest, new Set());
    if (ep === undefined) throw this.noEndpoint(1);
    await ep.transport.connect?.();
  }

  async ping(): Promise<number> {
    await this.whenResolved(undefined);
    const ep = this.picker({ method: { kind: "unary" } } as RpcRequest, new Set());
    if (ep === undefined) throw this.noEndpoint(1);
    return ep.transport.ping();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.resolver.close();
    this.setState("shutdown");
    this.wake();
    for (const e of this.byAddress.values()) e.stopEjection();
    await Promise.all([...this.byAddress.values()].map((e) => e.transport.close()));
    this.byAddress.clear();
  }

  /**
   * One attempt, on the endpoint the picker gives (or `pinned`: a keyed call that may have run
   * goes again only where it ran), and what a failure leads to.
   */
  private attempt(
    req: RpcRequest,
    attempt: number,
    tried: ReadonlySet<EndpointState>,
    pinned?: EndpointState,
  ): Promise<RpcResponse> {
    const ep = pinned ?? this.pickerOf(req)(req, tried);
    if (ep === undefined) return Promise.reject(this.noEndpoint(attempt));
    return this.send(req, ep, (error, phase) => {
      if (pinned !== undefined || (this.keyed(req) && error.code === Code.Unavailable && !error.safeToRetry))
        return this.again(req, error, attempt, ep, phase, pinned !== undefined);
      if (this.retryable(req, error, attempt, ep)) return this.attempt(req, attempt + 1, new Set([...tried, ep]));
      throw annotate(error, { phase, endpoint: ep.address, attempt, outcome: outcomeOf(req, error) });
    });
  }

  /**
   * `req` on `ep`, with what every attempt records (outstanding calls, latency, health, budget);
   * `failed` says what a failure becomes. No await on the way out: a call costs one promise here.
   */
  private send(
    req: RpcRequest,
    ep: EndpointState,
    failed: (error: RpcError, phase: AttemptDetail["phase"]) => Promise<RpcResponse>,
  ): Promise<RpcResponse> {
    const phase: AttemptDetail["phase"] = ep.transport.state === "ready" ? "call" : "connect";
    ep.outstanding++;
    const health = ep.health;
    const probe = health?.sent() === true;
    if (probe) this.refresh(); // no other call goes to it while its probe is out
    const started = performance.now();
    return ep.transport.call(req).then(
      (res) => {
        ep.finished(started);
        if (health !== undefined) this.judge(ep, health, false, probe);
        this.budget.succeeded();
        return res;
      },
      (err: unknown) => {
        ep.finished(started);
        const error = RpcError.from(err, Code.Unavailable);
        if (health !== undefined)
          this.judge(ep, health, error.code === Code.Canceled ? undefined : countsAgainst(error), probe);
        return failed(error, phase);
      },
    );
  }

  /** An idempotent unary call on a client with hedging: copies on other endpoints while none answers. */
  private hedge(req: RpcRequest, hedging: HedgingOptions): Promise<RpcResponse> {
    return hedged<EndpointState>(req, hedging.delayMs, hedgeCopies(hedging), {
      pick: (r, tried) => this.pickerOf(r)(r, tried),
      send: (r, ep, attempt) =>
        this.send(r, ep, (error, phase) => {
          // A copy that failed counts against the budget, as a retry would.
          if (!error.safeToRetry && error.code !== Code.Canceled) this.budget.failed();
          throw annotate(error, { phase, endpoint: ep.address, attempt });
        }),
      allows: () => this.budget.allows(),
      noEndpoint: (attempt) => this.noEndpoint(attempt),
    });
  }

  /** A unary call that is not idempotent but carries an idempotency key: its server answers a repeat with the first outcome. */
  private keyed(req: RpcRequest): boolean {
    return req.idempotencyKey !== undefined && req.method.kind === "unary" && req.method.idempotent !== true;
  }

  /**
   * A keyed call that may have run on `ep`: sent again to `ep` only (another replica has no record
   * of the key), after a jittered backoff, within its deadline and the retry budget. When it
   * cannot be, its outcome is unknown. A retry (`again`) that failed otherwise than unavailable
   * (or refused, unprocessed) has its answer: the deadline or a cancel leaves the outcome unknown;
   * any other error is the first call's outcome.
   */
  private again(
    req: RpcRequest,
    error: RpcError,
    attempt: number,
    ep: EndpointState,
    phase: AttemptDetail["phase"],
    retried: boolean,
  ): Promise<RpcResponse> {
    const code = error.code;
    if (retried && code !== Code.Unavailable && !(code === Code.ResourceExhausted && error.safeToRetry)) {
      const open = code === Code.DeadlineExceeded || code === Code.Canceled;
      return Promise.reject(
        annotate(error, { phase, endpoint: ep.address, attempt, outcome: open ? "unknown" : undefined }),
      );
    }
    const unknown = () => annotate(error, { phase, endpoint: ep.address, attempt, outcome: "unknown" });
    const delay = retryDelay(attempt);
    const late = req.deadline !== undefined && Date.now() + delay >= req.deadline;
    const ok =
      attempt < this.maxAttempts &&
      !this.closed &&
      !late &&
      req.signal?.aborted !== true &&
      this.byAddress.get(ep.address) === ep &&
      (error.safeToRetry || this.charge(ep));
    if (!ok) return Promise.reject(unknown());
    return sleep(delay, req.signal).then(
      () => this.attempt(req, attempt + 1, noneTried, ep),
      () => Promise.reject(unknown()),
    );
  }

  /** Draws on the retry budget for a retry of a call that may have run; false when it is spent. */
  private charge(ep: EndpointState): boolean {
    // Calls cut by one lost connection are one failure: the budget is charged once for them all
    // (their retries are bounded by what was in flight); failures on a live connection, each.
    if (ep.transport.state === "ready" || ep.chargedEpoch !== ep.epoch) {
      ep.chargedEpoch = ep.epoch;
      this.budget.failed();
    }
    return this.budget.allows();
  }

  /** Records a call's outcome on its endpoint, and ejects or readmits it when that is the verdict. */
  private judge(ep: EndpointState, health: Health, failed: boolean | undefined, probe: boolean): void {
    const verdict = health.record(failed, probe);
    if (verdict === undefined || this.closed || this.byAddress.get(ep.address) !== ep) return;
    if (verdict === "eject") {
      // A failed probe stays out; a healthy endpoint is ejected only while the cap allows.
      if (!probe && this.ejected() >= Math.max(1, Math.floor(this.byAddress.size * this.maxEjectedShare()))) return;
      ep.eject(health.eject(), () => this.refresh());
    }
    this.refresh();
  }

  private ejected(): number {
    let n = 0;
    for (const e of this.byAddress.values()) if (e.health !== undefined && e.health.state !== "healthy") n++;
    return n;
  }

  private maxEjectedShare(): number {
    return (this.outlier as ResolvedOutlierOptions).maxEjectedShare;
  }

  /** The picker of the call's policy: the client's, or the one the call asks for. */
  private pickerOf(req: RpcRequest): Picker<EndpointState> {
    const policy = req.balancer;
    if (policy === undefined || policy === (this.options.policy ?? "p2c")) return this.picker;
    let picker = this.overrides.get(policy);
    if (picker === undefined) {
      picker = pickerFor(policy, [...this.byAddress.values()], this.options.zone);
      this.overrides.set(policy, picker);
    }
    return picker;
  }

  /** Whether a failed attempt goes again: never when it could run a call that is not idempotent twice. */
  private retryable(req: RpcRequest, error: RpcError, attempt: number, ep: EndpointState): boolean {
    if (error.code !== Code.Unavailable || req.method.kind !== "unary") return false;
    if (!error.safeToRetry && req.method.idempotent !== true) return false;
    if (attempt >= this.maxAttempts || this.closed) return false;
    if (req.signal?.aborted === true || (req.deadline !== undefined && Date.now() >= req.deadline)) return false;
    // A call that never reached a server is sent again freely (as gRPC's transparent retries);
    // one that may have run draws on the budget.
    if (error.safeToRetry) return true;
    return this.charge(ep);
  }

  private noEndpoint(attempt: number): RpcError {
    if (this.closed) return new RpcError(Code.Unavailable, "client is closed", { safeToRetry: true });
    const error = this.resolveError;
    if (this.byAddress.size === 0 && error !== undefined)
      return annotate(
        new RpcError(Code.Unavailable, `cannot resolve ${this.options.name}: ${error.rawMessage}`, {
          cause: error,
          safeToRetry: true,
        }),
        { phase: "resolve", attempt },
      );
    return annotate(new RpcError(Code.Unavailable, `no endpoints for ${this.options.name}`, { safeToRetry: true }), {
      phase: "pick",
      attempt,
    });
  }

  /** Waits for the first set (or a resolver error, the deadline, an abort). */
  private whenResolved(req: RpcRequest | undefined): Promise<void> {
    if (this.resolved || this.closed || this.resolveError !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        if (timer !== undefined) clearTimeout(timer);
        req?.signal?.removeEventListener("abort", aborted);
        resolve();
      };
      const aborted = () => {
        this.waiters = this.waiters.filter((w) => w !== done);
        if (timer !== undefined) clearTimeout(timer);
        reject(RpcError.from(req?.signal?.reason ?? new RpcError(Code.Canceled, "call canceled")));
      };
      this.waiters.push(done);
      if (req?.deadline !== undefined) {
        timer = setTimeout(
          () => {
            this.waiters = this.waiters.filter((w) => w !== done);
            reject(
              annotate(new RpcError(Code.DeadlineExceeded, `deadline exceeded while resolving ${this.options.name}`), {
                phase: "resolve",
                attempt: 1,
              }),
            );
          },
          Math.max(0, req.deadline - Date.now()),
        );
      }
      req?.signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private update(endpoints: readonly ResolvedEndpoint[], complete: boolean): void {
    if (this.closed) return;
    this.resolveError = undefined;
    const seen = new Set<string>();
    for (const r of endpoints) {
      seen.add(r.address);
      let ep = this.byAddress.get(r.address);
      if (ep === undefined) {
        const transport = this.transportFor(r.address);
        ep = new EndpointState(r, transport, this.outlier === undefined ? undefined : new Health(this.outlier));
        const state = ep;
        transport.onStateChange?.(() => {
          state.epoch++;
          this.refresh();
        });
        this.byAddress.set(r.address, ep);
      } else {
        ep.zone = r.zone;
        ep.weight = r.weight ?? 100;
      }
    }
    if (complete) {
      for (const [address, ep] of this.byAddress) {
        if (seen.has(address)) continue;
        this.byAddress.delete(address);
        ep.stopEjection();
        void ep.transport.close();
      }
    }
    this.resolved = true;
    this.refresh();
    this.wake();
  }

  /** A new picker over the endpoints as they are now (states change it too). */
  private refresh(): void {
    const all = [...this.byAddress.values()];
    this.picker = pickerFor(this.options.policy ?? "p2c", all, this.options.zone);
    this.overrides = new Map();
    const states = all.map((e) => e.transport.state ?? "ready");
    this.setState(
      states.includes("ready")
        ? "ready"
        : states.includes("connecting")
          ? "connecting"
          : states.length > 0 && states.every((s) => s === "transient_failure")
            ? "transient_failure"
            : "idle",
    );
  }

  private setState(state: ChannelState): void {
    if (this.current === state || this.current === "shutdown") return;
    this.current = state;
    for (const w of [...this.watchers]) w(state);
  }
}

/**
 * Before retry n + 1 of a keyed call: 50 ms × 2^(n-1), at most 1 s, jittered to between half and
 * all of it (a reconnect on loopback or a LAN takes well under 50 ms; the jitter keeps the calls
 * cut by one lost connection from coming back at the same instant).
 */
function retryDelay(attempt: number): number {
  const full = Math.min(1_000, 50 * 2 ** (attempt - 1));
  return full / 2 + Math.random() * (full / 2);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", aborted);
      resolve();
    }, ms);
    const aborted = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

function outcomeOf(req: RpcRequest, error: RpcError): "unknown" | undefined {
  return error.code === Code.Unavailable && !error.safeToRetry && req.method.idempotent !== true
    ? "unknown"
    : undefined;
}

/** The error with what the balancer knows of the attempt added to its details. */
function annotate(error: RpcError, detail: AttemptDetail): RpcError {
  const clean: Record<string, unknown> = { phase: detail.phase, attempt: detail.attempt };
  if (detail.endpoint !== undefined) clean.endpoint = detail.endpoint;
  if (detail.outcome !== undefined) clean.outcome = detail.outcome;
  return new RpcError(error.code, error.rawMessage, {
    metadata: error.metadata,
    details: [...error.details, clean],
    cause: error.cause ?? error,
    safeToRetry: error.safeToRetry,
  });
}
