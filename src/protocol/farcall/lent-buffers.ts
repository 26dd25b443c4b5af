import { allocateBody } from "./frame-reader.js";

/**
 * The body buffers of one stream whose consumer asked for `reuseBuffers`: each DATA body is read
 * into a buffer taken here, and that buffer comes back once the consumer has asked for the message
 * after the one it holds. So a stream of any length needs only about one flow-control window of
 * buffers, and the process allocates nothing per message (a fresh 64 KiB buffer per message is
 * collected by V8 only after tens of MiB of them pile up).
 *
 * Messages are taken in the order they arrive; `arrived` and `taken` are called once per message.
 */
export class LentBuffers {
  private free: ArrayBuffer[] = [];
  /** Per message not yet taken, in order: its buffer, or undefined when it has none from here. */
  private waiting: (ArrayBuffer | undefined)[] = [];
  private held: ArrayBuffer | undefined;
  private last: Uint8Array | undefined;

  /** A buffer of exactly `length` bytes for the next body. */
  take(length: number): Uint8Array {
    const free = this.free;
    let body: Uint8Array | undefined;
    for (let i = free.length - 1; i >= 0; i--) {
      const b = free[i] as ArrayBuffer;
      if (b.byteLength >= length) {
        free[i] = free[free.length - 1] as ArrayBuffer;
        free.pop();
        body = new Uint8Array(b, 0, length);
        break;
      }
    }
    body ??= allocateBody(length);
    this.last = body;
    return body;
  }

  /** A message arrived with body `payload` (one of ours if it is the last buffer taken). */
  arrived(payload: Uint8Array): void {
    this.waiting.push(payload === this.last ? (payload.buffer as ArrayBuffer) : undefined);
    this.last = undefined;
  }

  /** The consumer took the next message: the one it held before is done with. */
  taken(): void {
    if (this.held !== undefined) this.free.push(this.held);
    this.held = this.waiting.shift();
  }
}
