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
