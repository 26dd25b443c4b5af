// One endpoint of a balancer: its channel, what the pickers weigh, its health and ejection timer.
import type { ResolvedEndpoint } from "../client/resolver.js";
import type { CallTransport } from "../protocol/protocol.js";
import type { Health } from "./outlier.js";
import type { Endpoint } from "./pickers.js";

/** An endpoint and what the pickers weigh: calls outstanding and a latency EWMA. */
export class EndpointState implements Endpoint {
  readonly address: string;
  zone: string | undefined;
  weight: number;
  outstanding = 0;
  latencyMs = 0;
  /** Counts the channel's state changes; the retry budget is charged once per lost connection. */
  epoch = 0;
  chargedEpoch = -1;
  private lastAt = 0;
  private ejection: ReturnType<typeof setTimeout> | undefined;

  constructor(
    resolved: ResolvedEndpoint,
    readonly transport: CallTransport,
    readonly health: Health | undefined,
  ) {
    this.address = resolved.address;
    this.zone = resolved.zone;
    this.weight = resolved.weight ?? 100;
  }

  get usable(): boolean {
    const s = this.transport.state;
    return s !== "transient_failure" && s !== "shutdown" && (this.health === undefined || this.health.admits);
  }

  /** Out for `ms`; then its next call is a probe, and `changed` makes a picker that may pick it. */
  eject(ms: number, changed: () => void): void {
    this.stopEjection();
    this.ejection = setTimeout(() => {
      this.ejection = undefined;
      this.health?.expire();
      changed();
    }, ms);
    this.ejection.unref?.();
  }

  stopEjection(): void {
    if (this.ejection !== undefined) clearTimeout(this.ejection);
    this.ejection = undefined;
  }

  /** A call started at `started` (performance.now()) has ended: one fewer outstanding, its time in the EWMA. */
  finished(started: number): void {
    this.outstanding--;
    const now = performance.now();
    // The EWMA decays with a 10 s time constant: calls close together weigh alike, old ones fade.
    const w = this.lastAt === 0 ? 0 : Math.exp(-(now - this.lastAt) / 10_000);
    this.lastAt = now;
    this.latencyMs = this.latencyMs * w + (now - started) * (1 - w);
  }
}
