// TCP record marking (RFC 5531 §11): each record is fragments, each with a 4-byte mark of
// last-fragment bit and 31-bit length. Memory grows with the bytes received: a mark that declares
// 2 GiB and sends 20 bytes holds 20 bytes.
import { lastFragment } from "./constants.js";

export class RecordReader {
  private readonly mark = new Uint8Array(4);
  private markHave = 0;
  private fragmentLeft = 0;
  private last = false;
  private parts: Uint8Array[] = [];
  /** Bytes of the record so far, fragment marks included (so endless empty fragments count too). */
  private size = 0;
  private begun = false;

  /**
   * @param maxRecordBytes the largest record, marks included; a larger one ends the stream.
   * @param copy whether chunks must be copied (they are valid only during `push`).
   */
  constructor(
    private readonly maxRecordBytes: number,
    private readonly copy: boolean,
  ) {}

  /** True while a record has begun and not yet ended. */
  get inRecord(): boolean {
    return this.begun;
  }

  /**
   * Takes a chunk and calls `onRecord` with every record it completes; stops and returns why when
   * the stream cannot go on (a record over the limit), else undefined.
   */
  push(chunk: Uint8Array, onRecord: (record: Uint8Array) => boolean | undefined): string | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.fragmentLeft === 0 && this.markHave < 4) {
        const n = Math.min(4 - this.markHave, chunk.length - at);
        this.mark.set(chunk.subarray(at, at + n), this.markHave);
        this.markHave += n;
        at += n;
        this.begun = true;
        if (this.markHave < 4) break;
        const word =
          ((this.mark[0] as number) << 24) |
          ((this.mark[1] as number) << 16) |
          ((this.mark[2] as number) << 8) |
          (this.mark[3] as number);
        this.last = (word & lastFragment) !== 0;
        this.fragmentLeft = word & 0x7fff_ffff;
        this.size += 4 + this.fragmentLeft;
        if (this.size > this.maxRecordBytes) {
          return `record of at least ${this.size} bytes exceeds the limit of ${this.maxRecordBytes}`;
        }
        if (this.fragmentLeft === 0) {
          this.markHave = 0;
          if (this.last && this.finish(onRecord) === false) return undefined;
          continue;
        }
      }
      const n = Math.min(this.fragmentLeft, chunk.length - at);
      const piece = chunk.subarray(at, at + n);
      this.parts.push(this.copy ? piece.slice() : piece);
      at += n;
      this.fragmentLeft -= n;
      if (this.fragmentLeft === 0) {
        this.markHave = 0;
        if (this.last && this.finish(onRecord) === false) return undefined;
      }
    }
    return undefined;
  }

  private finish(onRecord: (record: Uint8Array) => boolean | undefined): boolean | undefined {
    const parts = this.parts;
    let record: Uint8Array;
    if (parts.length === 1) record = parts[0] as Uint8Array;
    else {
      let n = 0;
      for (const p of parts) n += p.length;
      record = new Uint8Array(n);
      n = 0;
      for (const p of parts) {
        record.set(p, n);
        n += p.length;
      }
    }
    this.parts = [];
    this.size = 0;
    this.begun = false;
    this.last = false;
    return onRecord(record);
  }
}

/** The mark of a one-fragment record of `length` bytes. */
export function recordMark(length: number): Uint8Array {
  const m = new Uint8Array(4);
  new DataView(m.buffer).setUint32(0, (lastFragment | length) >>> 0);
  return m;
}
