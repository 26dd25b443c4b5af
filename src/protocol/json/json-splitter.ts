import { Code } from "../../core/code.js";
import { maxDepthCapacity } from "../../core/limits.js";
import { RpcError } from "../../core/rpc-error.js";

/** Bounds on each JSON text a {@link JsonSplitter} cuts out. */
export interface JsonSplitterLimits {
  /** Most bytes one top-level value may have, from its opening to its closing bracket. */
  readonly maxMessageBytes: number;
  /** Most brackets that may be open at once; the top-level value's own bracket is level 1. */
  readonly maxDepth: number;
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const OPEN_ARRAY = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
/** After this many ordinary bytes in a row inside a string, the scan jumps to the next quote. */
const longString = 16;

/**
 * Cuts a byte stream into top-level JSON texts (objects or arrays), with or without whitespace or
 * newlines between them, whatever the chunk boundaries.
 *
 * Only the structure is followed: which brackets are open (a `]` closing a `{` is an error, since
 * such a value can never end), and strings, inside which brackets do not count and `\` escapes the
 * next byte. Nothing else is validated; the caller parses each text. Byte-wise scanning is safe for UTF-8, whose
 * multibyte sequences hold no byte below 0x80.
 *
 * A value wholly inside one chunk is returned as a view of that chunk. A value that spans chunks
 * is kept as views of the chunks it lies in and concatenated once, into a fresh array, when it
 * ends; so a chunk must not be modified after it was pushed.
 */
export class JsonSplitter {
  private readonly maxMessageBytes: number;
  private readonly maxDepth: number;
  /** Brackets open in the current value; 0 between values. */
  private depth = 0;
  private inString = false;
  /** The previous byte was a backslash inside a string. */
  private escaped = false;
  /** Pieces of the unfinished value from earlier chunks, in order. */
  private pieces: Uint8Array[] = [];
  private held = 0;
  /** The opening bracket at each open level of the current value. */
  private readonly openers: Uint8Array;
  /** Set by the first error; every later push throws it again. */
  private failure: RpcError | undefined;

  constructor(limits: JsonSplitterLimits) {
    this.maxMessageBytes = limits.maxMessageBytes;
    this.maxDepth = limits.maxDepth;
    this.openers = new Uint8Array(Math.min(limits.maxDepth, maxDepthCapacity) + 1);
  }

  /** Bytes of an unfinished value held. */
  get buffered(): number {
    return this.held;
  }

  /**
   * Feeds one chunk and returns the texts it completed, each exactly the value's bytes with no
   * surrounding whitespace.
   * @throws RpcError `ResourceExhausted` when a value passes `maxMessageBytes` (as soon as its bytes
   * so far do) or `maxDepth`; `InvalidArgument` on a byte between values that is neither JSON
   * whitespace nor `{` or `[`. Values the chunk completed before the error are still returned, with
   * `error` set; the splitter is then unusable and throws the same error on every push.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure !== undefined) throw this.failure;
    const out: Uint8Array[] = [];
    try {
      this.split(chunk, out);
    } catch (err) {
      this.failure = RpcError.from(err, Code.Internal);
      this.pieces = [];
      this.held = 0;
      // Values completed before the bad bytes are still handed out; the error comes with the next push.
      if (out.length === 0) throw this.failure;
    }
    return out;
  }

  /** The error that stopped this splitter, if any: check it after a push that returned values. */
  get error(): RpcError | undefined {
    return this.failure;
  }

  private split(chunk: Uint8Array, out: Uint8Array[]): void {
    const len = chunk.length;
    let pos = 0;
    if (this.depth > 0) pos = this.value(chunk, 0, 0, out);
    while (pos < len) {
      const b = chunk[pos] as number;
      if (b === SPACE || b === LF || b === CR || b === TAB) {
        pos++;
        continue;
      }
      if (b !== OPEN_OBJECT && b !== OPEN_ARRAY) {
        throw new RpcError(
          Code.InvalidArgument,
          `unexpected byte 0x${b.toString(16).toUpperCase().padStart(2, "0")} between JSON values`,
        );
      }
      this.depth = 1;
      if (this.maxDepth < 1) throw this.depthError();
      this.openers[0] = b;
      pos = this.value(chunk, pos, pos + 1, out);
    }
  }

  /**
   * Follows the value that began at `start` in `chunk` (0 when it began in an earlier chunk) from
   * `from` on. Appends it to `out` when it ends, else keeps its bytes. Returns where scanning stopped.
   */
  private value(chunk: Uint8Array, start: number, from: number, out: Uint8Array[]): number {
    const len = chunk.length;
    const room = this.maxMessageBytes - this.held;
    const to = Math.min(len, start + room);
    const end = this.scan(chunk, from, to, this.maxDepth);
    if (end >= 0) {
      out.push(this.take(chunk, start, end));
      return end;
    }
    if (to < len) {
      // Over the limit: the size reported is the whole value's when it ends in this chunk, else
      // what has arrived of it.
      const rest = this.scan(chunk, Math.max(from, to), len, Number.POSITIVE_INFINITY);
      const size = this.held + (rest >= 0 ? rest : len) - start;
      throw new RpcError(
        Code.ResourceExhausted,
        `message size ${size} exceeds maxMessageBytes ${this.maxMessageBytes}`,
      );
    }
    if (len > start) {
      this.pieces.push(start === 0 ? chunk : chunk.subarray(start));
      this.held += len - start;
    }
    return len;
  }

  /**
   * Runs the structure state over `chunk[from..to)`. Returns the index just past the byte that
   * closed the value, or -1 when it is still open at `to`.
   */
  private scan(chunk: Uint8Array, from: number, to: number, maxDepth: number): number {
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    /** Bytes in a row inside the current string that were neither a quote nor a backslash. */
    let plain = 0;
    for (let i = from; i < to; i++) {
      const b = chunk[i] as number;
      if (inString) {
        if (escaped) {
          escaped = false;
        } else if (b === QUOTE) {
          inString = false;
        } else if (b === BACKSLASH) {
          escaped = true;
          plain = 0;
        } else if (++plain === longString) {
          // A long string (the bulk of many values): jump to the next quote (indexOf is native)
          // and decide from the run of backslashes right before it whether it closes the string.
          plain = 0;
          const quote = chunk.indexOf(QUOTE, i);
          const stop = quote < 0 || quote >= to ? to : quote;
          let j = stop - 1;
          while (j > i && chunk[j] === BACKSLASH) j--;
          const oddRun = (stop - 1 - j) % 2 === 1;
          if (stop === to) {
            escaped = oddRun;
            break;
          }
          if (!oddRun) inString = false;
          i = quote;
        }
      } else if (b === QUOTE) {
        inString = true;
        plain = 0;
      } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        if (depth < this.openers.length) this.openers[depth] = b;
        if (++depth > maxDepth) throw this.depthError();
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        const opener = depth <= this.openers.length ? this.openers[depth - 1] : undefined;
        if (opener !== undefined && opener !== b - 2) {
          throw new RpcError(
            Code.InvalidArgument,
            `mismatched ${String.fromCharCode(b)} closes ${String.fromCharCode(opener)}`,
          );
        }
        if (--depth === 0) {
          this.depth = 0;
          this.inString = false;
          this.escaped = false;
          return i + 1;
        }
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return -1;
  }

  /** The finished value: a view when it lies in this chunk, else the held pieces joined with its end. */
  private take(chunk: Uint8Array, start: number, end: number): Uint8Array {
    if (this.pieces.length === 0) return chunk.subarray(start, end);
    const whole = new Uint8Array(this.held + end);
    let at = 0;
    for (const piece of this.pieces) {
      whole.set(piece, at);
      at += piece.length;
    }
    whole.set(chunk.subarray(0, end), at);
    this.pieces = [];
    this.held = 0;
    return whole;
  }

  private depthError(): RpcError {
    return new RpcError(Code.ResourceExhausted, `nesting depth exceeds maxDepth ${this.maxDepth}`);
  }
}
