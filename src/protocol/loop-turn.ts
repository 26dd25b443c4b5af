/**
 * Lets code that runs on promises alone (a reply stream fed by a synchronous or fast async
 * generator) give the event loop a turn now and then, so the sockets' read callbacks run.
 *
 * A chain of promises that never waits on I/O keeps the microtask queue busy, and Node runs no I/O
 * callback until that queue is empty: a server stream with credit left and a socket that took
 * every write read nothing else from its connection, so a CANCEL after the first of 2,000,000
 * items let the whole stream through, and a unary call beside it waited 0.2–0.8 s.
 *
 * The turn is taken with `setImmediate`, which Node runs after the loop's poll phase (where the
 * reads are delivered) and which costs ~6 µs here. `process.nextTick` and `queueMicrotask` run
 * before any I/O, so they would not help; `setTimeout(0)` waits at least 1 ms, which would idle
 * the stream for as long as it ran. Runtimes without `setImmediate` (browsers, Deno) get
 * `setTimeout(0)`. Both are found on globalThis, so this layer imports nothing from `node:`.
 */

type Immediate = (cb: () => void) => unknown;

const setImmediateFn = (globalThis as { setImmediate?: Immediate }).setImmediate;
const nextTurn: Immediate =
  typeof setImmediateFn === "function" ? (cb) => setImmediateFn(cb) : (cb) => setTimeout(cb, 0);

/**
 * `performance.now()` where there is one (Node ≥ 16, browsers, Deno), Date.now() elsewhere. The
 * object is looked up once: Node's global `performance` is a getter.
 */
const clock: { now(): number } = typeof performance === "object" ? performance : Date;
const now = (): number => clock.now();

/**
 * A time slice shared by the code that calls it: `due` turns true once `sliceMs` have passed since
 * the loop last took a turn, and `next()` resolves after the next one. All callers wait on the same
 * turn, so many streams cost one `setImmediate` a slice, not one each.
 *
 * Reading the clock costs ~75 ns, so callers check it every few items or kilobytes, not per item.
 */
export class LoopTurn {
  private sliceStart = now();
  private waiting: Promise<void> | undefined;

  constructor(readonly sliceMs: number) {}

  /** True once the current slice is used up: the caller should `await next()`. */
  get due(): boolean {
    return now() - this.sliceStart >= this.sliceMs;
  }

  /** The caller just came back from waiting on I/O: the loop has turned, a new slice starts. */
  restart(): void {
    this.sliceStart = now();
  }

  /** Resolves once the event loop has had a turn (read callbacks included). */
  next(): Promise<void> {
    this.waiting ??= new Promise<void>((resolve) =>
      nextTurn(() => {
        this.waiting = undefined;
        this.sliceStart = now();
        resolve();
      }),
    );
    return this.waiting;
  }
}

/**
 * The slice server reply streams share: 1 ms. A call that arrives beside a busy stream waits for
 * at most about that long before it is read, and one turn a millisecond costs the stream about
 * 0.6% (6 µs a turn).
 */
export const replyStreamTurn = new LoopTurn(1);
