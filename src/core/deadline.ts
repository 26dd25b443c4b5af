import { Code } from "./code.js";
import { RpcError } from "./rpc-error.js";

/**
 * Timeouts longer than this are treated as "no deadline": it is the largest delay a JS timer
 * accepts (2^31 - 1 ms, about 24.8 days).
 */
export const maxTimerMs = 0x7fff_ffff;

/** Milliseconds left until `deadline` (epoch ms), never negative; `Infinity` without a deadline. */
export function remainingMs(deadline: number | undefined): number {
  if (deadline === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(0, deadline - Date.now());
}

/** The absolute deadline for a timeout, or undefined when there is none or it is beyond `maxTimerMs`. */
export function deadlineFromTimeout(timeoutMs: number | undefined): number | undefined {
  if (timeoutMs === undefined || !(timeoutMs <= maxTimerMs)) return undefined;
  return Date.now() + Math.max(0, timeoutMs);
}

/** The error for a call whose deadline passed. */
export function deadlineExceeded(): RpcError {
  return new RpcError(Code.DeadlineExceeded, "deadline exceeded");
}

/** The error for a call whose caller aborted it; an `RpcError` abort reason is kept. */
export function canceledBy(signal: AbortSignal): RpcError {
  const reason: unknown = signal.reason;
  if (reason instanceof RpcError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") return deadlineExceeded();
  return new RpcError(Code.Canceled, "call canceled by caller", { cause: reason });
}

/** What a call is watched for: its absolute deadline and its caller's signal, either optional. */
export interface DeadlineAndSignal {
  readonly deadline?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The error for a call that must not start: its caller aborted it or its deadline has passed. */
export function refusalOf(call: DeadlineAndSignal): RpcError | undefined {
  if (call.signal?.aborted) return canceledBy(call.signal);
  if (call.deadline !== undefined && call.deadline <= Date.now()) return deadlineExceeded();
  return undefined;
}

/**
 * A client's watch over one call, the same on every protocol and while a connection is made: from
 * `start` until `stop` or `giveUp`, whichever is first, the call's deadline timer and its caller's
 * abort listener are armed. `giveUp` runs at most once, with the reason, after the watch stopped.
 * The watch is itself the abort listener (`handleEvent`) and the timer's argument, so a call costs
 * no closures.
 */
export abstract class CallWatch {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private caller: AbortSignal | undefined;

  /** The call's caller aborted it or its deadline passed; the watch has already stopped. */
  abstract giveUp(reason: RpcError): void;

  /** Arms the watch; a call already past its deadline or aborted gives up at once. */
  start(call: DeadlineAndSignal): void {
    const refusal = refusalOf(call);
    if (refusal !== undefined) return this.giveUp(refusal);
    const ms = remainingMs(call.deadline);
    if (ms <= maxTimerMs) this.timer = setTimeout(CallWatch.expire, Math.ceil(ms), this);
    if (call.signal !== undefined) {
      this.caller = call.signal;
      call.signal.addEventListener("abort", this, { once: true });
    }
  }

  /** Disarms the watch (the call settled); `giveUp` will not run. */
  stop(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.caller !== undefined) {
      this.caller.removeEventListener("abort", this);
      this.caller = undefined;
    }
  }

  private static expire(watch: CallWatch): void {
    watch.timer = undefined;
    watch.stop();
    watch.giveUp(deadlineExceeded());
  }

  /** @internal The abort listener. */
  handleEvent(): void {
    const signal = this.caller as AbortSignal;
    this.stop();
    this.giveUp(canceledBy(signal));
  }
}
