import { type DecodeLimits, defaultLimits, maxDepthCapacity, tooManyKeys } from "../core/limits.js";
import { forbiddenKey, malformed, tooDeep } from "./codec.js";

/**
 * A MessagePack decoder for untrusted input (https://github.com/msgpack/msgpack/blob/master/spec.md)
 * that validates while it builds, in one pass: every declared length and count is checked against
 * the bytes that remain before anything is allocated for it; nesting beyond `maxDepth`, maps
 * declaring more than `maxKeys` entries and `__proto__` map keys are rejected; the only extension types accepted are the spec's timestamp
 * (-1, as a Date) and `d4 00 00` (how msgpackr writes `undefined` inside arrays and maps). No type
 * named by the peer is ever instantiated. Maps become plain objects; their keys must be strings or
 * numbers. 64-bit integers become numbers up to ±2^53, BigInt beyond. Binary values
 * are views of the input (no copy). Short strings come from a cache of recent ones (see
 * {@link strings}): on the ~1 KiB bench struct this decoder then takes 2.8 µs, msgpackr's
 * `unpack` 3.0 (bench/codecs.ts; 4.9 µs without the cache).
 */

// Decoder state lives in the module, not in closures: this is on the path of every message.
const empty = new Uint8Array(0);
let src: Uint8Array = empty;
const emptyView: DataView = new DataView(empty.buffer);
/** A DataView of `src`, made only for the types that need one (floats, 64-bit, signed). */
let view = emptyView;
let viewOf: Uint8Array = empty;
let pos = 0;
let end = 0;
let limit = 0;
let keyLimit = 0;
const utf8 = new TextDecoder("utf-8");

/**
 * Decodes exactly one value from `bytes`. `limits` may be a bare `maxDepth` (then `maxKeys` is
 * the default). @throws RpcError `invalid_argument`
 */
export function decodeMsgpack(bytes: Uint8Array, limits: number | DecodeLimits): unknown {
  src = bytes;
  pos = 0;
  end = bytes.length;
  if (typeof limits === "number") {
    limit = Math.min(limits, maxDepthCapacity);
    keyLimit = defaultLimits.maxKeys;
  } else {
    limit = Math.min(limits.maxDepth, maxDepthCapacity);
    keyLimit = limits.maxKeys ?? defaultLimits.maxKeys;
  }
  try {
    const value = read(0);
    if (pos !== end) throw malformed("msgpack", `${end - pos} bytes after the value`);
    return value;
  } finally {
    src = empty; // do not keep the message alive
    view = emptyView;
    viewOf = empty;
  }
}

function dv(): DataView {
  if (viewOf !== src) {
    view = new DataView(src.buffer, src.byteOffset, src.length);
    viewOf = src;
  }
  return view;
}

function u16(): number {
  need(2);
  pos += 2;
  return ((src[pos - 2] as number) << 8) | (src[pos - 1] as number);
}

function u32(): number {
  need(4);
  pos += 4;
  return (
    (src[pos - 4] as number) * 0x100_0000 +
    (((src[pos - 3] as number) << 16) | ((src[pos - 2] as number) << 8) | (src[pos - 1] as number))
  );
}

function need(n: number): void {
  if (n > end - pos) throw malformed("msgpack", "truncated value");
}

function read(depth: number): unknown {
  need(1);
  const t = src[pos++] as number;
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t < 0x90) return readMap(t & 0x0f, depth);
  if (t < 0xa0) return readArray(t & 0x0f, depth);
  if (t < 0xc0) return readString(t & 0x1f);
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      need(1);
      return readBytes(src[pos++] as number);
    case 0xc5:
      return readBytes(u16());
    case 0xc6:
      return readBytes(u32());
    case 0xc7:
      need(1);
      return readExt(src[pos++] as number);
    case 0xc8:
      return readExt(u16());
    case 0xc9:
      return readExt(u32());
    case 0xca:
      need(4);
      pos += 4;
      return dv().getFloat32(pos - 4);
    case 0xcb:
      need(8);
      pos += 8;
      return dv().getFloat64(pos - 8);
    case 0xcc:
      need(1);
      return src[pos++] as number;
    case 0xcd:
      return u16();
    case 0xce:
      return u32();
    case 0xcf: {
      need(8);
      pos += 8;
      const n = dv().getBigUint64(pos - 8);
      return n <= 0x20_0000_0000_0000n ? Number(n) : n;
    }
    case 0xd0:
      need(1);
      pos += 1;
      return dv().getInt8(pos - 1);
    case 0xd1:
      need(2);
      pos += 2;
      return dv().getInt16(pos - 2);
    case 0xd2:
      need(4);
      pos += 4;
      return dv().getInt32(pos - 4);
    case 0xd3: {
      need(8);
      pos += 8;
      const n = dv().getBigInt64(pos - 8);
      return n <= 0x20_0000_0000_0000n && n >= -0x20_0000_0000_0000n ? Number(n) : n;
    }
    case 0xd4:
      // fixext 1: only type 0 with data 0, msgpackr's `undefined`.
      need(2);
      if (src[pos] !== 0 || src[pos + 1] !== 0) throw noExtensions();
      pos += 2;
      return undefined;
    case 0xd6:
      need(5);
      if (src[pos] !== 0xff) throw noExtensions();
      pos += 5;
      return new Date(dv().getUint32(pos - 4) * 1000);
    case 0xd7: {
      need(9);
      if (src[pos] !== 0xff) throw noExtensions();
      pos += 9;
      const hi = dv().getUint32(pos - 8);
      const lo = dv().getUint32(pos - 4);
      // 30 bits of nanoseconds, then 34 bits of seconds.
      return timestamp((hi & 0x3) * 0x1_0000_0000 + lo, hi >>> 2);
    }
    case 0xd9:
      need(1);
      return readString(src[pos++] as number);
    case 0xda:
      return readString(u16());
    case 0xdb:
      return readString(u32());
    case 0xdc:
      return readArray(u16(), depth);
    case 0xdd:
      return readArray(u32(), depth);
    case 0xde:
      return readMap(u16(), depth);
    case 0xdf:
      return readMap(u32(), depth);
    case 0xd5:
    case 0xd8:
      throw noExtensions();
    default:
      throw malformed("msgpack", `invalid byte 0x${t.toString(16)}`);
  }
}

function noExtensions() {
  return malformed("msgpack", "extension types are not accepted");
}

function readArray(n: number, depth: number): unknown[] {
  if (depth >= limit) throw tooDeep(limit);
  need(n); // every element takes at least one byte
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = read(depth + 1);
  return out;
}

function readMap(n: number, depth: number): Record<string, unknown> {
  if (depth >= limit) throw tooDeep(limit);
  // The declared count, before the bytes are looked at: a map 32 may declare 4,294,967,295.
  if (n > keyLimit) throw tooManyKeys(n, keyLimit);
  need(2 * n); // every key and value takes at least one byte
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const t = src[pos] as number;
    let key: string;
    if (t >= 0xa0 && t < 0xc0) {
      pos++;
      key = readString(t & 0x1f);
    } else {
      const k = read(depth + 1);
      if (typeof k === "string") key = k;
      else if (typeof k === "number" || typeof k === "bigint") key = String(k);
      else throw malformed("msgpack", "map keys must be strings or numbers");
    }
    if (key === "__proto__") throw forbiddenKey();
    out[key] = read(depth + 1);
  }
  return out;
}

function readBytes(n: number): Uint8Array {
  need(n);
  pos += n;
  return src.subarray(pos - n, pos);
}

/**
 * Strings of up to this many bytes go through {@link strings}: map keys and the short values that
 * repeat (names, enum-like tags) are found there instead of being built again. 32 covers every
 * fixstr (≤ 31 bytes, the form keys take) and a UUID-less id; longer strings seldom repeat, and
 * each slot keeps this many bytes, so doubling it would double the cache's memory for little.
 */
const cachedMaxBytes = 32;
/**
 * Slots of the string cache (a power of two). 4,096 holds the keys and repeated values of many
 * record shapes at once (the bench struct needs ~20, a page of records ~40) with few collisions,
 * in 128 KiB of bytes plus the strings; a peer sending only new strings gets misses, never more
 * memory.
 */
const cacheSlots = 4096;
/**
 * Short strings seen lately, one per slot, by a hash of their bytes. Building a string costs
 * ~50 ns, more than the rest of decoding a key, and a key found here is already internalized, so
 * the property store that follows is cheaper too. A colliding string only replaces the slot.
 */
const strings: (string | undefined)[] = new Array(cacheSlots).fill(undefined);
/** The UTF-8 bytes of each slot's string, {@link cachedMaxBytes} per slot. */
const stringBytes = new Uint8Array(cacheSlots * cachedMaxBytes);
/** The byte length of each slot's string. */
const stringLengths = new Uint8Array(cacheSlots);

function readString(n: number): string {
  need(n);
  const start = pos;
  pos += n;
  if (n > cachedMaxBytes) return utf8.decode(src.subarray(start, pos));
  // Locals: the module's `let`s would be loaded again on every turn of the loops.
  const bytes = src;
  let h = n;
  let high = 0;
  for (let i = start; i < pos; i++) {
    const c = bytes[i] as number;
    h = (Math.imul(h, 31) + c) | 0;
    high |= c;
  }
  const slot = (h ^ (h >>> 13)) & (cacheSlots - 1);
  const seen = strings[slot];
  const at = slot * cachedMaxBytes;
  if (seen !== undefined && stringLengths[slot] === n) {
    const cached = stringBytes;
    let i = 0;
    while (i < n && cached[at + i] === bytes[start + i]) i++;
    if (i === n) return seen;
  }
  const made = high < 0x80 ? ascii(bytes, start, n) : utf8.decode(bytes.subarray(start, pos));
  strings[slot] = made;
  for (let i = 0; i < n; i++) stringBytes[at + i] = bytes[start + i] as number;
  stringLengths[slot] = n;
  return made;
}

const char = String.fromCharCode;

/** `n` (at most {@link cachedMaxBytes}) ASCII bytes as a string, built four characters at a time. */
function ascii(bytes: Uint8Array, start: number, n: number): string {
  let out = "";
  let i = start;
  const end = start + n;
  for (; i + 4 <= end; i += 4) {
    out += char(bytes[i] as number, bytes[i + 1] as number, bytes[i + 2] as number, bytes[i + 3] as number);
  }
  for (; i < end; i++) out += char(bytes[i] as number);
  return out;
}

function readExt(n: number): unknown {
  need(1 + n);
  const type = src[pos] as number;
  if (type !== 0xff || n !== 12) throw noExtensions();
  pos += 1 + n;
  // 96-bit timestamp: u32 nanoseconds, then i64 seconds.
  const ns = dv().getUint32(pos - 12);
  const seconds = dv().getBigInt64(pos - 8);
  // Beyond Date's range, which the check in timestamp() then refuses; Number() would round first.
  if (seconds > maxDateSeconds || seconds < -maxDateSeconds) throw badTimestamp();
  return timestamp(Number(seconds), ns);
}

/** Date's range is ±8.64e15 ms (ECMA-262 §21.4.1.1), ±8.64e12 s. */
const maxDateSeconds = 8_640_000_000_000n;

function badTimestamp() {
  return malformed("msgpack", "timestamp outside the range of a Date, or nanoseconds over 999999999");
}

/**
 * A timestamp extension's value as a Date. The spec bounds nanoseconds to 0..999,999,999; a
 * time beyond Date's range would become an Invalid Date, which no encoder writes back as a
 * timestamp (msgpackr writes `d4 ff ff`, which this decoder refuses), so both are refused.
 */
function timestamp(seconds: number, ns: number): Date {
  if (ns > 999_999_999) throw badTimestamp();
  const ms = seconds * 1000 + Math.floor(ns / 1e6);
  if (!(Math.abs(ms) <= 8.64e15)) throw badTimestamp();
  return new Date(ms);
}
