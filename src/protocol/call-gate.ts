import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";

/** A call as the gate sees it. */
export interface GatedCall {
  /** Set once the call ended: answered, canceled by the client, timed out, or its connection failed. */
  readonly done: boolean;
  /** Epoch ms after which the client no longer waits for the call; undefined for none. */
  readonly deadline: number | undefined;
}

/**
 * Decides when the handlers of one connection's calls start (docs/protocol.md §9.3; JSON-RPC uses it too): at most
 * `maxRunning` at once, the rest in a FIFO queue. A call is never started once the client has
 * given up on it:
 *
 * - Calls admitted while a read is being parsed (between `beginRead` and `endRead`) are held until
 *   the whole read was parsed, so a CANCEL later in the same read ends them before they start.
 *   After a stall a server reads REQUESTs together with the CANCELs the client sent when their
 *   deadlines passed; started at once, 220 of 225 such calls ran. The caller may let a call that
 *   is last in its read skip the hold (nothing can follow it), which keeps a lone call's path as
 *   short as it was.
 * - A call whose deadline has passed by the time it would start is handed to `expire` instead:
 *   a call that waited in the queue behind a handler that held the thread reaches the front
 *   before its own timer could fire.
 *
 * The owner ends calls (sets `done`) on its own; the gate only skips ended calls. It calls `run`
 * for each call it starts, and the owner calls `handlerDone` once that handler has returned.
 */
export class CallGate<C extends GatedCall> {
  private running = 0;
  private queue: C[] = [];
  private queueHead = 0;
  private held: C[] = [];
  private reading = false;

  constructor(
    private readonly maxRunning: number,
    private readonly run: (call: C) => void,
    private readonly expire: (call: C) => void,
  ) {}

  /** A read is about to be parsed: calls admitted until `endRead` wait for the end of it. */
  beginRead(): void {
    this.reading = true;
  }

  /** The read was parsed: the calls held meanwhile that are still open start, or queue, in order. */
  endRead(): void {
    this.reading = false;
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    for (const call of held) if (!call.done) this.admitNow(call);
  }

  /**
   * Starts `call`, queues it, or holds it to the end of the read. A call `lastInRead` is not held
   * unless others are: it must not start before the calls that arrived ahead of it.
   */
  admit(call: C, lastInRead = false): void {
    if (this.reading && !(lastInRead && this.held.length === 0)) this.held.push(call);
    else this.admitNow(call);
  }

  /** A handler started by the gate has returned (or thrown, or settled): start the next ones. */
  handlerDone(): void {
    this.running--;
    while (this.running < this.maxRunning && this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead] as C;
      this.queue[this.queueHead++] = undefined as unknown as C;
      if (this.queueHead === this.queue.length) {
        this.queue = [];
        this.queueHead = 0;
      }
      if (!next.done) this.start(next);
    }
  }

  private admitNow(call: C): void {
    if (this.running < this.maxRunning) this.start(call);
    else this.queue.push(call);
  }

  private start(call: C): void {
    if (call.deadline !== undefined && call.deadline <= Date.now()) return this.expire(call);
    this.running++;
    this.run(call);
  }
}

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
