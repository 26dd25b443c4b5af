import type { Peer } from "../core/interceptor.js";
import { type ByteStreamHandler, maxBufferedBytes } from "./byte-stream.js";
import type { AttachableStream } from "./protocol.js";

/**
 * One end of an in-memory connection. Bytes written reach the other end's handler in a later
 * microtask (never inside `write`, as with a socket); `needDrain` turns true past
 * `maxBufferedBytes` not yet delivered, and `pause` holds delivery, so back-pressure behaves as
 * over a socket. Chunks are copied on write, since a writer may reuse its buffers.
 */
class MemoryStream implements AttachableStream {
  other!: MemoryStream;
  private handler: ByteStreamHandler | undefined;
  private inbox: Uint8Array[] = [];
  private queued = 0;
  private paused = false;
  private delivering = false;
  private drainWaiters: (() => void)[] = [];
  /** This side will write no more. */
  private ended = false;
  /** The other side's end arrived (after every byte it wrote). */
  private endSeen = false;
  closed = false;

  constructor(readonly peer: Peer) {}

  attach(handler: ByteStreamHandler): void {
    this.handler = handler;
    if (this.closed) handler.onClose();
    else this.deliverSoon();
  }

  write(chunks: Uint8Array[]): void {
    if (this.closed || this.ended) return;
    for (const c of chunks) if (c.length > 0) this.other.receive(c.slice());
  }

  get needDrain(): boolean {
    return this.other.queued > maxBufferedBytes;
  }

  onDrain(cb: () => void): void {
    if (!this.needDrain || this.closed) cb();
    else this.other.drainWaiters.push(cb);
  }

  schedule(cb: () => void): void {
    queueMicrotask(cb);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.deliverSoon();
  }

  end(): void {
    if (this.closed || this.ended) return;
    this.ended = true;
    this.other.endSeen = true;
    this.other.deliverSoon();
    if (this.endSeen) this.closeBoth();
  }

  destroy(): void {
    this.closeBoth();
  }

  private receive(chunk: Uint8Array): void {
    if (this.closed) return;
    this.inbox.push(chunk);
    this.queued += chunk.length;
    this.deliverSoon();
  }

  private deliverSoon(): void {
    if (this.delivering) return;
    this.delivering = true;
    queueMicrotask(() => {
      this.delivering = false;
      this.deliver();
    });
  }

  private deliver(): void {
    const handler = this.handler;
    if (handler === undefined || this.closed) return;
    while (!this.paused && this.inbox.length > 0 && !this.closed) {
      const chunk = this.inbox.shift() as Uint8Array;
      this.queued -= chunk.length;
      handler.onData(chunk);
    }
    if (this.queued <= maxBufferedBytes) this.releaseDrain();
    if (this.inbox.length === 0 && this.endSeen && !this.closed) {
      // The peer ended: a handler that answers half-closed streams ends its side itself.
      if (handler.onEnd !== undefined) handler.onEnd();
      else this.end();
    }
  }

  private releaseDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private closeBoth(): void {
    for (const s of [this, this.other]) {
      if (s.closed) continue;
      s.closed = true;
      s.inbox = [];
      s.queued = 0;
      s.releaseDrain();
      s.handler?.onClose();
    }
  }
}

/**
 * A connected pair of in-memory byte streams, for running a client session against a server
 * (`Server.serveStream`) or one protocol's sessions against each other without sockets.
 */
export function memoryPair(name = "memory"): [AttachableStream, AttachableStream] {
  const a = new MemoryStream({ transport: "memory", address: `${name}:a` });
  const b = new MemoryStream({ transport: "memory", address: `${name}:b` });
  a.other = b;
  b.other = a;
  return [a, b];
}
