import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { copyLimit, headerBytes, prefaceBytes } from "./constants.js";

/** Receives what a {@link FrameReader} parses. */
export interface FrameSink {
  onPreface(preface: Uint8Array): void;
  /** `payload` is a view that stays valid; copy only what must outlive the frame's use. */
  onFrame(type: number, flags: number, id: number, payload: Uint8Array): void;
  /**
   * The buffer to read a body of `length` (at least `copyLimit`) bytes into, when the reader needs
   * one; `undefined` for a fresh one. The next `onFrame` is that frame.
   */
  bodyBuffer?(type: number, id: number, length: number): Uint8Array | undefined;
}

/**
 * A buffer for a frame body that is filled before anyone sees it, so on Node it is taken without
 * zeroing: a 64 KiB stream chunk spans socket reads, and zeroing its buffer took ~2 µs of the
 * ~10 µs its allocation and copy take here. Node's Buffer is found on globalThis (this layer
 * imports nothing from node:); browsers have none and get a zeroed Uint8Array.
 */
const nodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(n: number): Uint8Array } }).Buffer;
export const allocateBody: (n: number) => Uint8Array =
  nodeBuffer === undefined
    ? (n) => new Uint8Array(n)
    : (n) => new Uint8Array(nodeBuffer.allocUnsafeSlow(n).buffer, 0, n);

/**
 * Small bodies copied out of transient chunks share slabs of this size: one read's worth, so a slab
 * costs one allocation per read as Node's own read buffers did, and a small body kept long holds
 * at most this much.
 */
const slabBytes = 64 * 1024;

/**
 * Splits a byte stream into the preface and then frames, whatever the chunk boundaries.
 * A frame wholly inside one chunk is passed as a view of that chunk (no copy); one that spans
 * chunks is assembled once into a buffer of its declared size, and only after that size was
 * checked against `maxFrameBytes`. An oversized declaration throws an `RpcError` at once.
 *
 * With `transient` chunks (valid only during `push`) every body is copied before the sink sees
 * it: small ones into a shared slab, large ones into a buffer of their own or the sink's.
 */
export class FrameReader {
  private readonly head = new Uint8Array(headerBytes);
  private headFill = 0;
  private prefaceLeft = prefaceBytes;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private type = 0;
  private flags = 0;
  private id = 0;
  /** Set after an error: everything after it is ignored. */
  private failed = false;

  private slab: Uint8Array | undefined;
  private slabOff = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxFrameBytes: number,
    private readonly transient = false,
  ) {}

  /** True when no frame is half read: a stream may end cleanly here. */
  get idle(): boolean {
    return this.headFill === 0 && this.body === undefined && this.prefaceLeft === 0;
  }

  /** @throws RpcError on a declared length over the limit; the stream must then be closed. */
  push(chunk: Uint8Array): void {
    if (this.failed) return;
    try {
      this.parse(chunk);
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  private parse(chunk: Uint8Array): void {
    let pos = 0;
    const len = chunk.length;
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, len);
      this.head.set(chunk.subarray(0, n), prefaceBytes - this.prefaceLeft);
      this.prefaceLeft -= n;
      pos = n;
      if (this.prefaceLeft > 0) return;
      this.sink.onPreface(this.head.slice(0, prefaceBytes));
    }
    while (pos < len && !this.failed) {
      const body = this.body;
      if (body !== undefined) {
        const n = Math.min(body.length - this.bodyFill, len - pos);
        body.set(chunk.subarray(pos, pos + n), this.bodyFill);
        this.bodyFill += n;
        pos += n;
        if (this.bodyFill === body.length) {
          this.body = undefined;
          this.sink.onFrame(this.type, this.flags, this.id, body);
        }
        continue;
      }
      let src: Uint8Array;
      let at: number;
      if (this.headFill === 0 && len - pos >= headerBytes) {
        src = chunk;
        at = pos;
        pos += headerBytes;
      } else {
        const n = Math.min(headerBytes - this.headFill, len - pos);
        this.head.set(chunk.subarray(pos, pos + n), this.headFill);
        this.headFill += n;
        pos += n;
        if (this.headFill < headerBytes) return;
        this.headFill = 0;
        src = this.head;
        at = 0;
      }
      const length =
        (src[at] as number) * 0x1000000 +
        (((src[at + 1] as number) << 16) | ((src[at + 2] as number) << 8) | (src[at + 3] as number));
      const type = src[at + 4] as number;
      const flags = src[at + 5] as number;
      const id =
        (src[at + 6] as number) * 0x1000000 +
        (((src[at + 7] as number) << 16) | ((src[at + 8] as number) << 8) | (src[at + 9] as number));
      if (length > this.maxFrameBytes) {
        throw new RpcError(
          Code.ResourceExhausted,
          `frame length ${length} exceeds maxFrameBytes ${this.maxFrameBytes}`,
        );
      }
      if (len - pos >= length) {
        let payload = chunk.subarray(pos, pos + length);
        if (this.transient) payload = this.own(type, id, payload);
        pos += length;
        this.sink.onFrame(type, flags, id, payload);
      } else {
        this.type = type;
        this.flags = flags;
        this.id = id;
        this.body = this.allocate(type, id, length);
        this.bodyFill = 0;
      }
    }
  }

  private allocate(type: number, id: number, length: number): Uint8Array {
    return (length >= copyLimit ? this.sink.bodyBuffer?.(type, id, length) : undefined) ?? allocateBody(length);
  }

  /** A copy of a body that lies in a transient chunk. */
  private own(type: number, id: number, payload: Uint8Array): Uint8Array {
    const n = payload.length;
    if (n >= copyLimit) {
      const body = this.allocate(type, id, n);
      body.set(payload);
      return body;
    }
    let slab = this.slab;
    if (slab === undefined || slab.length - this.slabOff < n) {
      slab = this.slab = allocateBody(slabBytes);
      this.slabOff = 0;
    }
    const at = this.slabOff;
    slab.set(payload, at);
    this.slabOff = at + n;
    return slab.subarray(at, at + n);
  }
}
