import { deadlineExceeded, maxTimerMs } from "../core/deadline.js";
import type { RpcError } from "../core/rpc-error.js";
import { ServerCallContext, type ServerDispatcher } from "./call-context.js";

/**
 * One unary or oneway call of a protocol that carries a whole call per message (JSON-RPC, HTTP
 * JSON). `run` answers with the handler's value when it returned one synchronously, else with a
 * promise that settles with the output, or rejects once the deadline passes or `abort` is called
 * (connection closed, server shut down), whichever comes first; errors are already `toWire`d.
 */
export class UnaryCall extends ServerCallContext {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private fail: ((err: RpcError) => void) | undefined;

  run(dispatcher: ServerDispatcher, input: unknown): unknown {
    // A call aborted while it waited, or whose deadline passed before it could start, never runs.
    if (this.aborted) throw this.abortReason;
    if (this.deadline !== undefined && this.remainingMs() <= 0) throw deadlineExceeded();
    let out: unknown;
    try {
      out = dispatcher.dispatch(this.method, input, this);
    } catch (err) {
      throw dispatcher.toWire(err, this.method);
    }
    if (!(out instanceof Promise)) return out;
    return new Promise((resolve, reject) => {
      this.fail = reject;
      const ms = this.remainingMs();
      if (ms <= maxTimerMs) this.timer = setTimeout(() => this.abort(deadlineExceeded()), ms);
      out.then(resolve, (err: unknown) => reject(dispatcher.toWire(err, this.method))).finally(() => this.done());
    });
  }

  override abort(reason: RpcError): void {
    super.abort(reason);
    this.fail?.(reason);
    this.done();
  }

  private done(): void {
    clearTimeout(this.timer);
    this.fail = undefined;
  }
}
