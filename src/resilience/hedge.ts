// Hedged requests (docs/cluster.md, "Hedging"): copies of an idempotent call on other endpoints
// when the first is slow to answer; the first answer wins, the others are canceled.
import { eitherSignal } from "../core/call-scope.js";
import { Code } from "../core/code.js";
import type { RpcRequest, RpcResponse } from "../core/interceptor.js";
import { RpcError } from "../core/rpc-error.js";
import type { HedgingOptions } from "../core/service.js";

/** What a hedged call needs of the balancer. */
export interface HedgeTarget<E> {
  /** An endpoint not in `tried`, or undefined when there is none. */
  pick(req: RpcRequest, tried: ReadonlySet<E>): E | undefined;
  /** One attempt on `ep`; rejects with the error as the caller would see it. */
  send(req: RpcRequest, ep: E, attempt: number): Promise<RpcResponse>;
  /** Whether the retry budget allows another copy. */
  allows(): boolean;
  /** The error when no endpoint is there at all. */
  noEndpoint(attempt: number): RpcError;
}

/** The most copies a call is sent as, whatever the options say: more buys little tail latency and multiplies load. */
const maxCopies = 5;

export function hedgeCopies(options: HedgingOptions): number {
  return Math.min(maxCopies, Math.max(2, Math.floor(options.maxAttempts ?? 2)));
}

/**
 * Sends `req` to one endpoint, and to one more every `delayMs` while none has answered, up to
 * `copies` in all; a copy that fails with `unavailable` starts the next at once. The first answer
 * (success or any other error) settles the call and cancels the rest; when every copy failed,
 * the last error is the call's.
 */
export function hedged<E>(
  req: RpcRequest,
  delayMs: number,
  copies: number,
  target: HedgeTarget<E>,
): Promise<RpcResponse> {
  return new Promise((resolve, reject) => {
    const tried = new Set<E>();
    const controllers: AbortController[] = [];
    let running = 0;
    let done = false;
    let last: RpcError | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (fn: () => void) => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      req.signal?.removeEventListener("abort", canceled);
      for (const c of controllers) c.abort(new RpcError(Code.Canceled, "another copy of the hedged call answered"));
      fn();
    };
    const canceled = () => settle(() => reject(RpcError.from(req.signal?.reason, Code.Canceled)));
    /** Starts the next copy; false when there is none to start. */
    const launch = (): boolean => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (done || controllers.length >= copies) return false;
      if (controllers.length > 0 && (!target.allows() || (req.deadline !== undefined && Date.now() >= req.deadline)))
        return false;
      const ep = target.pick(req, tried);
      if (ep === undefined || tried.has(ep)) return false;
      tried.add(ep);
      const controller = new AbortController();
      controllers.push(controller);
      const signal = req.signal === undefined ? controller.signal : eitherSignal(req.signal, controller.signal);
      running++;
      target.send({ ...req, signal }, ep, controllers.length).then(
        (res) => {
          running--;
          if (!done) settle(() => resolve(res));
        },
        (err: unknown) => {
          running--;
          if (done) return;
          last = RpcError.from(err, Code.Unavailable);
          if (last.code !== Code.Unavailable) return settle(() => reject(last));
          if (!launch() && running === 0) settle(() => reject(last));
        },
      );
      if (controllers.length < copies) timer = setTimeout(launch, delayMs);
      return true;
    };
    if (req.signal?.aborted === true) return canceled();
    req.signal?.addEventListener("abort", canceled, { once: true });
    if (!launch()) settle(() => reject(target.noEndpoint(1)));
  });
}
