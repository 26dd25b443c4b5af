import type { ByteStream } from "../byte-stream.js";
import { copyLimit, headerBytes } from "./constants.js";

/**
 * Size of a shared slab. One slab serves every writer in the process until it is full, so a slab
 * is allocated once per 128 KiB of small frames, whatever the number of connections.
 */
const defaultSlabBytes = 128 * 1024;
/**
 * Most frames in one write. A tick that queues more (a reply to each of 64 calls in flight) goes
 * out in several writes, so the peer starts on the first frames while this side lays out the rest;
 * with one write per tick the two ends of a busy connection take turns instead of working at once
 * (add at 64 in flight on one connection, 2 cores: ~100k → ~170k calls/s, p50 halved).
 */
const batchFrames = 16;

const noBytes: Uint8Array = new Uint8Array(0);
const noView: DataView = new DataView(noBytes.buffer);

/**
 * The slab that {@link FrameWriter}s lay their frames out in, shared by all of them: a writer
 * holds a slab only from its first frame of a batch until the batch is written, so an idle
 * connection costs no slab. (A slab of 128 KiB per writer, taken at construction, made an idle
 * server connection cost ~77 KiB of RSS and ~132 KiB of heap and ArrayBuffers; without it,
 * ~9-12 KiB and ~4.4 KiB: test/farcall-memory.test.ts, 1,000 connections.)
 *
 * Ownership: bytes below `off` belong to a writer or to the transport it handed them to, and are
 * never written again; bytes from `off` on are free. A writer claims bytes by moving `off`. A full
 * slab is replaced, never reused: the old one lives as long as some transport holds a chunk of it,
 * and the garbage collector frees it after that.
 *
 * @internal Pass a fresh one to a writer in tests, for slab boundaries that do not depend on what
 * other tests wrote.
 */
export class SharedSlab {
  bytes: Uint8Array = noBytes;
  view: DataView = noView;
  off = 0;

  constructor(readonly slabBytes = defaultSlabBytes) {}

  /** Replaces the slab with a fresh one that has room for at least `n` bytes. */
  renew(n: number): void {
    this.bytes = new Uint8Array(Math.max(this.slabBytes, n));
    this.view = new DataView(this.bytes.buffer);
    this.off = 0;
  }
}

/** The process's slab; taken at the first frame written, so a process without farcall has none. */
const processSlab = new SharedSlab();

/**
 * Queues frames and writes what is queued in one tick in batches of up to {@link batchFrames}.
 * Small frames are laid out back to back in a slab shared with the other writers, so a tick's
 * worth of them is one contiguous chunk and one syscall (unless another writer took slab space in
 * between, which splits the batch into one more chunk); large payloads are passed by reference
 * between slab regions. Slab bytes are never rewritten: written regions may still be held by the
 * transport. Once a batch is written the writer lets go of the slab (see {@link SharedSlab}).
 */
export class FrameWriter {
  /** The slab this writer's current region lies in, or `noBytes` between batches. */
  private slab: Uint8Array = noBytes;
  private dataView: DataView = noView;
  private off = 0;
  private regionStart = 0;
  private chunks: Uint8Array[] = [];
  private scheduled = false;
  private queued = 0;
  private closed = false;
  private readonly flushBound = () => this.flush();

  constructor(
    private readonly stream: ByteStream,
    private readonly shared: SharedSlab = processSlab,
  ) {}

  /**
   * Queues one frame: header, `prefixBytes` of fixed fields, then `head` and `message` if any
   * (`head` is always copied; a large `message` goes by reference). Returns where the prefix starts
   * in {@link bytes} / {@link view}; the caller writes the prefix there at once (before queueing
   * anything else). Returns -1 after `close()`.
   */
  begin(
    type: number,
    flags: number,
    id: number,
    prefixBytes: number,
    message: Uint8Array | undefined,
    head?: Uint8Array,
  ): number {
    if (this.closed) return -1;
    // Only frames already complete go out: the caller fills this frame's prefix after begin().
    if (this.queued === batchFrames) this.writeQueued();
    this.queued++;
    const messageBytes = message === undefined ? 0 : message.length;
    const inline = messageBytes < copyLimit;
    const fixed = prefixBytes + (head === undefined ? 0 : head.length);
    const need = headerBytes + fixed + (inline ? messageBytes : 0);
    this.reserve(need);
    const v = this.dataView;
    const at = this.off;
    v.setUint32(at, fixed + messageBytes);
    v.setUint8(at + 4, type);
    v.setUint8(at + 5, flags);
    v.setUint32(at + 6, id);
    this.off = at + need;
    this.shared.off = this.off;
    if (head !== undefined) this.slab.set(head, at + headerBytes + prefixBytes);
    if (message !== undefined && messageBytes > 0) {
      if (inline) this.slab.set(message, at + headerBytes + fixed);
      else {
        this.endRegion();
        this.chunks.push(message);
      }
    }
    this.scheduleFlush();
    return at + headerBytes;
  }

  /** The slab the prefix returned by {@link begin} is written into. */
  get bytes(): Uint8Array {
    return this.slab;
  }

  /** A DataView over {@link bytes}. */
  get view(): DataView {
    return this.dataView;
  }

  /** Queues a frame whose payload is `head` and `message` (or nothing). */
  frame(type: number, flags: number, id: number, message?: Uint8Array, head?: Uint8Array): void {
    this.begin(type, flags, id, 0, message, head);
  }

  /** Queues a frame whose payload is one u32 (WINDOW). */
  frameU32(type: number, id: number, value: number): void {
    const at = this.begin(type, 0, id, 4, undefined);
    if (at >= 0) this.dataView.setUint32(at, value);
  }

  /** Queues raw bytes (the connection preface). */
  raw(bytes: Uint8Array): void {
    if (this.closed) return;
    this.reserve(bytes.length);
    this.slab.set(bytes, this.off);
    this.off += bytes.length;
    this.shared.off = this.off;
    this.scheduleFlush();
  }

  /** Writes what is queued now. */
  flush(): void {
    this.scheduled = false;
    this.writeQueued();
  }

  private scheduleFlush(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.stream.schedule(this.flushBound);
  }

  /** Writes what is queued, leaving a scheduled flush in place (it writes what comes after). */
  private writeQueued(): void {
    this.queued = 0;
    this.endRegion();
    // Nothing of this batch is left to fill in: let go of the slab, so an idle writer pins none.
    this.slab = noBytes;
    this.dataView = noView;
    this.off = 0;
    this.regionStart = 0;
    if (this.chunks.length === 0 || this.closed) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.stream.write(chunks);
  }

  /** Drops anything queued and refuses further frames. */
  close(): void {
    this.closed = true;
    this.chunks = [];
    this.slab = noBytes;
    this.dataView = noView;
  }

  private endRegion(): void {
    if (this.off > this.regionStart) this.chunks.push(this.slab.subarray(this.regionStart, this.off));
    this.regionStart = this.off;
  }

  /**
   * Makes room for `n` more bytes of this batch at `off`. The batch goes on in the same region
   * when no other writer claimed slab bytes since and there is room; otherwise it ends the region
   * (it stays queued as a chunk) and starts a new one where the slab is free.
   */
  private reserve(n: number): void {
    const shared = this.shared;
    if (this.slab === shared.bytes && this.off === shared.off && shared.bytes.length - shared.off >= n) return;
    this.endRegion();
    if (shared.bytes.length - shared.off < n) shared.renew(n);
    this.slab = shared.bytes;
    this.dataView = shared.view;
    this.off = shared.off;
    this.regionStart = shared.off;
  }
}
