// Passive health: each endpoint's recent calls decide whether it is ejected; an ejected endpoint
// gets one probe call after its ejection time, whose outcome readmits it or ejects it again (a
// circuit breaker per endpoint: closed, open, half-open). docs/cluster.md, "Health".
import { Code } from "../core/code.js";
import type { RpcError } from "../core/rpc-error.js";
import type { OutlierOptions } from "../core/service.js";

export type ResolvedOutlierOptions = { readonly [K in keyof OutlierOptions]-?: number };

export function resolveOutlierOptions(o: OutlierOptions): ResolvedOutlierOptions {
  const num = (v: number | undefined, d: number, min: number, max: number) =>
    v === undefined || !Number.isFinite(v) ? d : Math.min(max, Math.max(min, v));
  const baseEjectionMs = num(o.baseEjectionMs, 30_000, 1, 3_600_000);
  return {
    failureRate: num(o.failureRate, 0.5, 0.01, 1),
    minCalls: Math.round(num(o.minCalls, 10, 1, 1000)),
    windowCalls: Math.round(num(o.windowCalls, 50, 1, 1000)),
    baseEjectionMs,
    maxEjectionMs: num(o.maxEjectionMs, 300_000, baseEjectionMs, 3_600_000),
    maxEjectedShare: num(o.maxEjectedShare, 0.5, 0, 1),
  };
}

/**
 * Whether a failed call counts against the endpoint that ran it: errors that say the server or
 * the way to it is sick, not what the caller asked. A call refused unprocessed (a draining server,
 * a refused connect: `safeToRetry`) does not count; channel backoff already covers connects.
 */
export function countsAgainst(error: RpcError): boolean {
  if (error.safeToRetry) return false;
  switch (error.code) {
    case Code.Unavailable:
    case Code.Internal:
    case Code.Unknown:
    case Code.DeadlineExceeded:
    case Code.DataLoss:
      return true;
    default:
      return false;
  }
}

export type HealthState = "healthy" | "ejected" | "probing";

/**
 * What {@link Health.record} asks the balancer to do: eject the endpoint, or make a new picker
 * because it may be picked again (readmitted, or its probe said nothing and another is due).
 */
export type Verdict = "eject" | "repick" | undefined;

/** One endpoint's recent outcomes and where it stands. */
export class Health {
  state: HealthState = "healthy";
  /** A probe call is in flight (state `probing`): no other call is sent meanwhile. */
  probing = false;
  /** Ejections in a row (reset once a readmitted endpoint served a whole window). */
  ejections = 0;
  private readonly failed: Uint8Array;
  private next = 0;
  private count = 0;
  private failures = 0;
  /** Calls since the last readmission. */
  private served = 0;

  constructor(private readonly o: ResolvedOutlierOptions) {
    this.failed = new Uint8Array(o.windowCalls);
  }

  /** Whether a call may be sent to it now (as far as its health goes). */
  get admits(): boolean {
    return this.state === "healthy" || (this.state === "probing" && !this.probing);
  }

  /** A call was sent to it; returns true when that call is its probe. */
  sent(): boolean {
    if (this.state !== "probing") return false;
    this.probing = true;
    return true;
  }

  /**
   * A call it ran ended: `failed` when its error {@link countsAgainst} it, `undefined` when the
   * outcome says nothing of the endpoint (the caller canceled).
   */
  record(failed: boolean | undefined, probe: boolean): Verdict {
    if (probe) {
      this.probing = false;
      if (failed === true) return "eject";
      if (failed === false) this.readmit();
      return "repick";
    }
    if (failed === undefined) return undefined;
    // Calls started before an ejection that end after it say nothing new.
    if (this.state !== "healthy") return undefined;
    const o = this.o;
    const i = this.next;
    this.failures += (failed ? 1 : 0) - (this.count === o.windowCalls ? (this.failed[i] as number) : 0);
    this.failed[i] = failed ? 1 : 0;
    this.next = i + 1 === o.windowCalls ? 0 : i + 1;
    if (this.count < o.windowCalls) this.count++;
    if (++this.served === o.windowCalls) this.ejections = 0;
    if (failed && this.count >= o.minCalls && this.failures >= o.failureRate * this.count) return "eject";
    return undefined;
  }

  /** Ejects it; returns for how long (ms). */
  eject(): number {
    this.state = "ejected";
    this.ejections++;
    this.clear();
    return Math.min(this.o.baseEjectionMs * this.ejections, this.o.maxEjectionMs);
  }

  /** Its ejection time has passed: the next call to it is a probe. */
  expire(): void {
    if (this.state === "ejected") this.state = "probing";
  }

  /** Forgets its recent outcomes: it is judged afresh from its next calls. */
  clear(): void {
    this.failed.fill(0);
    this.next = 0;
    this.count = 0;
    this.failures = 0;
  }

  private readmit(): void {
    this.state = "healthy";
    this.served = 0;
    this.clear();
  }
}
