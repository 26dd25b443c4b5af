import type { ByteStream } from "../byte-stream.js";
import { headerBytes } from "./constants.js";

/** Payloads at least this large are written as their own chunk instead of being copied. */
const copyLimit = 16 * 1024;
const slabBytes = 128 * 1024;

/**
 * Queues frames and writes everything queued in one tick as a single batch.
 * Small frames are laid out back to back in a slab, so a tick's worth of them is one contiguous
 * chunk and one syscall; large payloads are passed by reference between slab regions.
 * A slab is never rewritten: written regions may still be held by the transport.
 */
export class FrameWriter {
  private slab = new Uint8Array(slabBytes);
  private view = new DataView(this.slab.buffer);
  private off = 0;
  private regionStart = 0;
  private chunks: Uint8Array[] = [];
  private scheduled = false;
  private closed = false;
  private readonly flushBound = () => this.flush();

  constructor(private readonly stream: ByteStream) {}

  /**
   * Queues one frame: header, then `prefix` bytes written by `fill` (at `view` offsets starting at
   * the returned position), then `message` if any.
   */
  frame(
    type: number,
    flags: number,
    id: number,
    prefixBytes: number,
    message: Uint8Array | undefined,
    fill?: (view: DataView, bytes: Uint8Array, at: number) => void,
  ): void {
    if (this.closed) return;
    const messageBytes = message === undefined ? 0 : message.length;
    const inline = messageBytes < copyLimit;
    const need = headerBytes + prefixBytes + (inline ? messageBytes : 0);
    this.reserve(need);
    const v = this.view;
    const at = this.off;
    v.setUint32(at, prefixBytes + messageBytes);
    v.setUint8(at + 4, type);
    v.setUint8(at + 5, flags);
    v.setUint32(at + 6, id);
    if (fill !== undefined) fill(v, this.slab, at + headerBytes);
    this.off = at + need;
    if (message !== undefined && messageBytes > 0) {
      if (inline) this.slab.set(message, at + headerBytes + prefixBytes);
      else {
        this.endRegion();
        this.chunks.push(message);
      }
    }
    this.arm();
  }

  /** Queues raw bytes (the connection preface). */
  raw(bytes: Uint8Array): void {
    if (this.closed) return;
    this.reserve(bytes.length);
    this.slab.set(bytes, this.off);
    this.off += bytes.length;
    this.arm();
  }

  /** Writes what is queued now. */
  flush(): void {
    this.scheduled = false;
    this.endRegion();
    if (this.chunks.length === 0 || this.closed) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.stream.write(chunks);
  }

  /** Drops anything queued and refuses further frames. */
  close(): void {
    this.closed = true;
    this.chunks = [];
  }

  private arm(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      this.stream.schedule(this.flushBound);
    }
  }

  private endRegion(): void {
    if (this.off > this.regionStart) this.chunks.push(this.slab.subarray(this.regionStart, this.off));
    this.regionStart = this.off;
  }

  private reserve(n: number): void {
    if (this.slab.length - this.off >= n) return;
    this.endRegion();
    this.slab = new Uint8Array(Math.max(slabBytes, n));
    this.view = new DataView(this.slab.buffer);
    this.off = 0;
    this.regionStart = 0;
  }
}
