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
 * A body that spans chunks and declares at most this many bytes gets its whole buffer (or the
 * sink's) when its header arrives: two 64 KiB socket reads, so the messages of a stream of
 * 64 KiB chunks (65,541-byte DATA frames with MessagePack) are read into one buffer with one copy.
 * A peer that declares such a frame and stalls holds this much at most, and it is not zeroed.
 */
const eagerBodyBytes = 128 * 1024;
/**
 * The first buffer of a larger body that spans chunks, taken when its first bytes arrive; a peer
 * that declares 4 MiB and sends 20 bytes holds 16 KiB, not 4 MiB (200 such connections held
 * ~800 MiB of ArrayBuffers when the declared size was taken at the header).
 */
const firstGrowBytes = 16 * 1024;

/**
 * A larger body gets its final buffer once this share of it is in (1/4); before that, it is kept
 * in staging buffers that double. So the reader holds at most 4 times what it received (or
 * `firstGrowBytes`), and copies a body about 1.5 times instead of once: a 4 MiB body in 64 KiB
 * reads passes through staging buffers of 64 KiB to 1 MiB (~2 MiB in all) and gets its own once
 * ~1.1 MiB is in. (Waiting for half of it would hold at most twice what was received, but copy
 * a body about twice, through twice as much staging.)
 */
const finalShare = 4;

/**
 * The buffer for the first `need` bytes of a larger body: `firstGrowBytes` times a power of two,
 * so the steps do not depend on where the body started in its first chunk.
 */
function stagingSize(need: number): number {
  let size = firstGrowBytes;
  while (size < need) size *= 2;
  return size;
}

/** The body of a frame whose bytes have not started to arrive. */
const noBody = new Uint8Array(0);

/**
 * Splits a byte stream into the preface and then frames, whatever the chunk boundaries.
 * A frame wholly inside one chunk is passed as a view of that chunk (no copy). One that spans
 * chunks is assembled into a buffer of its declared size, taken (once that size was checked
 * against `maxFrameBytes`) when the header arrives for bodies up to {@link eagerBodyBytes}, and
 * for larger ones only once a quarter of the body is in ({@link finalShare}): until then the body
 * grows in buffers of its own, so memory follows the bytes received rather than the bytes
 * declared. An oversized declaration throws an `RpcError` at once.
 *
 * With `transient` chunks (valid only during `push`) every body is copied before the sink sees
 * it: small ones into a shared slab, large ones into a buffer of their own or the sink's.
 */
export class FrameReader {
  private readonly head = new Uint8Array(headerBytes);
  private headFill = 0;
  private prefaceLeft = prefaceBytes;
  /**
   * While a body is assembled: its buffer, whose first `bodyFill` bytes are in. It is the final
   * buffer once its length is `bodyLength`; before that, a smaller one that {@link grow} replaces.
   */
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private bodyLength = 0;
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

  /** True when part of a frame (after the preface) is in and the rest is not. */
  get inFrame(): boolean {
    return this.prefaceLeft === 0 && (this.headFill > 0 || this.body !== undefined);
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
      let body = this.body;
      if (body !== undefined) {
        const n = Math.min(this.bodyLength - this.bodyFill, len - pos);
        if (this.bodyFill + n > body.length) body = this.grow(this.bodyFill + n);
        body.set(chunk.subarray(pos, pos + n), this.bodyFill);
        this.bodyFill += n;
        pos += n;
        if (this.bodyFill === this.bodyLength) {
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
        this.body = length <= eagerBodyBytes ? this.allocate(type, id, length) : noBody;
        this.bodyFill = 0;
        this.bodyLength = length;
      }
    }
  }

  /**
   * Replaces the body's buffer with one that holds at least `need` bytes and keeps those already
   * in: the final buffer once `need` is a {@link finalShare} of the body, else a staging one.
   */
  private grow(need: number): Uint8Array {
    const length = this.bodyLength;
    const next =
      need * finalShare >= length ? this.allocate(this.type, this.id, length) : allocateBody(stagingSize(need));
    const body = this.body as Uint8Array;
    if (this.bodyFill > 0) next.set(body.subarray(0, this.bodyFill));
    this.body = next;
    return next;
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
