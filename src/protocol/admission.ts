import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";

/**
 * The refusal of a call beyond `maxInflight` (running plus waiting) on one connection, the same on
 * every protocol: `resource_exhausted`, as gRPC answers a server out of room for a call, and safe
 * to retry, since the call never reached its handler.
 */
export function tooManyCalls(maxInflight: number): RpcError {
  return new RpcError(
    Code.ResourceExhausted,
    `too many calls in flight on this connection (maxInflight ${maxInflight})`,
    {
      safeToRetry: true,
    },
  );
}

/**
 * The handlers of one connection: at most `max` run at once (`maxConcurrentCalls`), the rest wait
 * in FIFO order. A started call holds its slot until `done()`. The queue is an array with a head
 * index, so a burst of waiting calls costs one push and one read each.
 */
export class Concurrency {
  private running = 0;
  private queue: ((() => void) | undefined)[] = [];
  private head = 0;

  constructor(readonly max: number) {}

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Takes a slot if one is free. */
  tryStart(): boolean {
    if (this.running >= this.max) return false;
    this.running++;
    return true;
  }

  /** Runs `start` once a slot is free; it then holds the slot until `done()`. */
  enqueue(start: () => void): void {
    this.queue.push(start);
  }

  /** A started call finished: its slot goes to the longest-waiting call. */
  done(): void {
    this.running--;
    while (this.running < this.max && this.head < this.queue.length) {
      const next = this.queue[this.head] as () => void;
      this.queue[this.head++] = undefined;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      this.running++;
      next();
    }
  }
}
