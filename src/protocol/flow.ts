import type { RpcError } from "../core/rpc-error.js";

/**
 * The receiving end of a message stream: an async iterator over decoded messages with a byte
 * budget. The owner pushes messages as frames arrive; `onConsumed` reports bytes the consumer has
 * taken, which the owner turns into credit for the sender (docs/protocol.md §5), so at most about
 * one window of messages is ever buffered. `onCancel` runs when the consumer stops early.
 *
 * State: open → ended (after `end`) or failed (after `fail`); items queued before either are
 * still delivered, a failure after them.
 */
export class MessageQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private sizes: number[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private waiterFail: ((e: unknown) => void) | undefined;
  private done = false;
  private error: RpcError | undefined;
  /** Bytes pushed and not yet taken by the consumer. */
  buffered = 0;

  constructor(
    private readonly onConsumed: (bytes: number) => void,
    private readonly onCancel: () => void,
  ) {}

  /** True once `end`, `fail` or `return` was called. */
  get closed(): boolean {
    return this.done || this.error !== undefined;
  }

  push(item: T, bytes: number): void {
    if (this.closed) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = this.waiterFail = undefined;
      this.onConsumed(bytes);
      waiter({ value: item, done: false });
      return;
    }
    this.items.push(item);
    this.sizes.push(bytes);
    this.buffered += bytes;
  }

  end(): void {
    if (this.closed) return;
    this.done = true;
    this.wake();
  }

  fail(err: RpcError): void {
    if (this.closed) return;
    this.error = err;
    this.wake();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head] as T;
      const bytes = this.sizes[this.head] as number;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head === this.items.length) {
        this.items = [];
        this.sizes = [];
        this.head = 0;
      }
      this.buffered -= bytes;
      this.onConsumed(bytes);
      return Promise.resolve({ value, done: false });
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) return Promise.reject(new TypeError("concurrent next() calls on a stream"));
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.waiterFail = reject;
    });
  }

  /** The consumer is done early: drop what is queued and cancel the stream. */
  return(): Promise<IteratorResult<T>> {
    if (!this.closed) {
      this.done = true;
      this.items = [];
      this.sizes = [];
      this.head = 0;
      this.buffered = 0;
      this.wake();
      this.onCancel();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private wake(): void {
    if (this.waiter === undefined) return;
    const resolve = this.waiter;
    const reject = this.waiterFail as (e: unknown) => void;
    this.waiter = this.waiterFail = undefined;
    if (this.error !== undefined) reject(this.error);
    else resolve({ value: undefined, done: true });
  }
}

/**
 * The sending end's credit (docs/protocol.md §5): a sender may send a message while its credit is
 * above zero, and each message costs its size, so a single message larger than the window still
 * goes through. `ready()` resolves when there is credit again.
 */
export class SendCredit {
  private waiters: (() => void)[] = [];
  constructor(public credit: number) {}

  get available(): boolean {
    return this.credit > 0;
  }

  spend(bytes: number): void {
    this.credit -= bytes;
  }

  grant(bytes: number): void {
    this.credit += bytes;
    if (this.credit > 0 && this.waiters.length > 0) this.release();
  }

  ready(): Promise<void> {
    if (this.credit > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Wakes every waiter (when the stream ends for another reason). */
  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * A stream of small messages keeps at most this many of them in flight (sent, not yet consumed),
 * whatever its window. What stands between a unary reply and its caller is the stream data ahead of
 * it on the connection, and each message costs its reader about a microsecond however small it is:
 * a 4 MiB window of 11-byte numbers let the reader's event loop run 5-7 ms at a time and a unary
 * call beside the stream took 7-9 ms at p99; a 32 KiB one (about 1,500 of them) 2-3 ms, at the same
 * 1.5M items/s.
 */
export const windowMessages = 1_024;

/**
 * The window every stream starts with and never narrows below (or the receiver's whole window when
 * that is smaller): 16 KiB cost 10% of the items/s of 32 KiB. A stream of large messages widens to
 * the whole window one round trip after its first message is consumed.
 */
export const initialWindowBytes = 32 * 1024;

/** The window a receiver announces in SETTINGS (docs/protocol.md §5) when it can widen to `window`. */
export function announcedWindow(window: number): number {
  return Math.min(window, initialWindowBytes);
}

/**
 * Receiver-side accounting: counts bytes consumed and says when to grant credit.
 * The sender starts with {@link announcedWindow}; the window in use is then the whole `window` for
 * large messages and, for small ones, {@link windowMessages} times their average cost (not under
 * {@link initialWindowBytes}). Whenever the sender's outstanding credit has fallen half a window in
 * use short, the counter grants what tops it up again: what was consumed, plus the widening or less
 * the narrowing. So a steady stream costs one WINDOW frame per half window, and what the sender
 * may have in flight is never more than `window`.
 */
export class GrantCounter {
  /** Credit the sender was given and has not yet had consumed: announced + granted - consumed. */
  private outstanding: number;
  /** Moving average of the cost of the last ~16 messages. */
  private averageCost = 0;
  constructor(private readonly window: number) {
    this.outstanding = announcedWindow(window);
  }
  /** Returns the bytes to grant now, or 0. */
  take(bytes: number): number {
    this.outstanding -= bytes;
    if (bytes > 0) this.averageCost += (bytes - this.averageCost) / (this.averageCost === 0 ? 1 : 16);
    const floor = announcedWindow(this.window);
    const inUse = Math.min(this.window, Math.max(floor, Math.floor(this.averageCost * windowMessages)));
    // A WINDOW carries a u32: a window near 2^32 topped up after a large message grants the rest next time.
    const n = Math.min(inUse - this.outstanding, 0xffff_ffff);
    if (n < inUse / 2) return 0;
    this.outstanding += n;
    return n;
  }
}
