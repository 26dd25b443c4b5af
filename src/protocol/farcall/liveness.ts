import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { KeepaliveOptions } from "../protocol.js";

/** When a farcall connection checks on its peer, and when it lets an unused one go. */
export interface LivenessOptions {
  /** Silence (no frame received) with calls open after which a PING is sent; 0 turns keepalive off. */
  readonly keepaliveMs: number;
  /** How long that PING may go unanswered before the connection is closed and its calls fail. */
  readonly keepaliveTimeoutMs: number;
  /** Silence with no calls open after which the connection is closed gracefully; 0: never. */
  readonly idleTimeoutMs: number;
}

/** The liveness of one connection from the server's or the client's settings. */
export function livenessOf(keepalive: KeepaliveOptions | undefined, idleTimeoutMs: number): LivenessOptions {
  return {
    keepaliveMs: keepalive?.intervalMs ?? 0,
    keepaliveTimeoutMs: keepalive?.timeoutMs ?? 0,
    idleTimeoutMs,
  };
}

/** What {@link Liveness} watches and acts on. */
export interface LivenessHost {
  /** Frames received so far (a PONG counts). */
  framesIn(): number;
  /** Calls open on the connection. */
  inflight(): number;
  sendPing(): void;
  /** The peer did not answer: fail the connection with `error`. */
  dead(error: RpcError): void;
  /** Unused for `idleTimeoutMs`: close gracefully. */
  idle(): void;
}

/**
 * One timer per connection. It ticks every half of the shortest period it enforces, so silence is
 * noticed between 1× and 1.5× its limit; while a PING is out it ticks at the PING's deadline.
 */
export class Liveness {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private seen = -1;
  private quietSince = Date.now();
  private pingSentAt = 0;
  private readonly stepMs: number;

  constructor(
    private readonly host: LivenessHost,
    private readonly options: LivenessOptions,
  ) {
    const periods = [options.keepaliveMs, options.idleTimeoutMs].filter((ms) => ms > 0);
    this.stepMs = periods.length === 0 ? 0 : Math.max(1, Math.floor(Math.min(...periods) / 2));
    if (this.stepMs > 0) this.arm(this.stepMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.tick, ms);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const { host, options } = this;
    const now = Date.now();
    const frames = host.framesIn();
    if (frames !== this.seen) {
      this.seen = frames;
      this.quietSince = now;
      this.pingSentAt = 0;
    }
    if (this.pingSentAt !== 0) {
      const waited = now - this.pingSentAt;
      if (waited >= options.keepaliveTimeoutMs) {
        const why = `peer did not answer a PING within keepaliveTimeoutMs ${options.keepaliveTimeoutMs}`;
        return host.dead(new RpcError(Code.Unavailable, why));
      }
      return this.arm(options.keepaliveTimeoutMs - waited);
    }
    const quiet = now - this.quietSince;
    if (host.inflight() > 0) {
      if (options.keepaliveMs > 0 && quiet >= options.keepaliveMs) {
        this.pingSentAt = now;
        host.sendPing();
        return this.arm(options.keepaliveTimeoutMs);
      }
    } else if (options.idleTimeoutMs > 0 && quiet >= options.idleTimeoutMs) {
      return host.idle();
    }
    this.arm(this.stepMs);
  };
}
