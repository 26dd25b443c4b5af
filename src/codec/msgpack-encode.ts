/**
 * A MessagePack encoder for the values calls mostly carry: null, undefined, booleans, numbers,
 * 64-bit BigInts, strings, bytes (`Uint8Array`, `Buffer`), arrays and plain objects. It writes the
 * shortest form of each (fixmap for a small object, where msgpackr always writes map 16) straight
 * into a slab it shares between messages, with none of msgpackr's per-call set-up. msgpackr's
 * `pack` was a tenth of the client's CPU on `add` at 64 in flight; here `{a, b}` takes 0.14 µs
 * against msgpackr's 0.23, the ~1 KiB bench struct 1.9 µs against 2.4 (bench/codecs.ts). {@link encodeCommon}
 * returns undefined when the value holds anything else (a Date, a Map, a class instance, a typed
 * array other than bytes, nesting past {@link maxEncodeDepth}, …); the codec then encodes it with
 * msgpackr, so those keep msgpackr's spelling and its errors.
 */

import { defaultLimits } from "../core/limits.js";

/** The frame writer's slab is 128 KiB; half that holds hundreds of typical messages per allocation. */
const slabBytes = 64 * 1024;
/**
 * Deeper values go to msgpackr (which fails on cycles the way it always has): past the default
 * maxDepth a peer refuses them unless configured for more, and msgpackr still encodes them for one.
 */
export const maxEncodeDepth = defaultLimits.maxDepth;
/** A slab with less room than this left is replaced before a message: most messages fit in it. */
const minRoom = 256;
/** Strings shorter than this are tried as ASCII in JavaScript; longer ones go to the TextEncoder. */
const asciiLoopUnits = 64;

// Encoder state lives in the module: this is on the path of every message.
let slab = new Uint8Array(slabBytes);
let view = new DataView(slab.buffer);
/** Where the message being written starts, and the next byte to write. */
let start = 0;
let pos = 0;
/** Set while a value is being written: a getter that encodes meanwhile is left to msgpackr. */
let busy = false;
const utf8 = new TextEncoder();

/**
 * Encodes `value`, or returns undefined if it holds a type this encoder leaves to msgpackr. The
 * bytes returned stay valid: a slab region once returned is never written again.
 */
export function encodeCommon(value: unknown): Uint8Array | undefined {
  if (busy) return undefined;
  // A slab grown for one large message is not kept for the small ones after it.
  if (slab.length > slabBytes || slab.length - pos < minRoom) newSlab(slabBytes);
  start = pos;
  busy = true;
  try {
    if (write(value, 0)) return slab.subarray(start, pos);
    pos = start;
    return undefined;
  } catch (err) {
    pos = start; // a getter threw
    throw err;
  } finally {
    busy = false;
  }
}

function newSlab(bytes: number): void {
  slab = new Uint8Array(bytes);
  view = new DataView(slab.buffer);
  start = 0;
  pos = 0;
}

/** Makes room for `n` more bytes, moving the message written so far to a larger slab if needed. */
function reserve(n: number): void {
  if (slab.length - pos >= n) return;
  const sofar = slab.subarray(start, pos);
  newSlab(Math.max(slabBytes, 2 * (sofar.length + n)));
  slab.set(sofar, 0);
  pos = sofar.length;
}

function write(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "number":
      writeNumber(value);
      return true;
    case "string":
      writeString(value);
      return true;
    case "boolean":
      reserve(1);
      slab[pos++] = value ? 0xc3 : 0xc2;
      return true;
    case "undefined":
      // fixext 1, type 0, data 0: how msgpackr writes undefined, and what the decoder accepts.
      reserve(3);
      slab[pos] = 0xd4;
      slab[pos + 1] = 0;
      slab[pos + 2] = 0;
      pos += 3;
      return true;
    case "bigint":
      return writeBigInt(value);
    case "object":
      if (value === null) {
        reserve(1);
        slab[pos++] = 0xc0;
        return true;
      }
      if (depth >= maxEncodeDepth) return false;
      if (value instanceof Uint8Array) {
        writeBytes(value);
        return true;
      }
      if (Array.isArray(value)) {
        if (value.constructor !== Array) return false;
        writeHeader(value.length, 0x90, 0xdc);
        for (let i = 0; i < value.length; i++) if (!write(value[i], depth + 1)) return false;
        return true;
      }
      // Only plain objects. for-in walks their own keys without making an array (a tenth of the
      // time of a ~1 KiB struct); it would add Object.prototype's enumerable keys, and it has none.
      if (Object.getPrototypeOf(value) === Object.prototype)
        return writeObject(value as Record<string, unknown>, depth);
      return false;
    default:
      return false;
  }
}

/**
 * A plain object as a map, in one walk of its keys: the header is written as a fixmap and, in the
 * rare object of 16 keys or more, widened once the count is known (the entries move up 2 or 4
 * bytes). Counting first took a second for-in walk of every object.
 */
function writeObject(object: Record<string, unknown>, depth: number): boolean {
  reserve(1);
  // As an offset into the message: a nested write may move the message to a larger slab.
  const header = pos++ - start;
  let count = 0;
  for (const key in object) {
    count++;
    writeString(key);
    if (!write(object[key], depth + 1)) return false;
  }
  if (count < 16) {
    slab[start + header] = 0x80 | count;
    return true;
  }
  // The entries follow the header; a map 16 header takes 3 bytes, a map 32 header 5.
  const extra = count < 0x10000 ? 2 : 4;
  reserve(extra);
  const at = start + header;
  slab.copyWithin(at + 1 + extra, at + 1, pos);
  pos += extra;
  if (extra === 2) {
    slab[at] = 0xde;
    view.setUint16(at + 1, count);
  } else {
    slab[at] = 0xdf;
    view.setUint32(at + 1, count);
  }
  return true;
}

function writeNumber(n: number): void {
  reserve(9);
  if (n >>> 0 === n) {
    if (n < 0x80) slab[pos++] = n;
    else pos += writeSized(pos, n, 0xcc);
  } else if (n >> 0 === n) {
    if (n >= -0x20) slab[pos++] = n & 0xff;
    else if (n >= -0x80) {
      slab[pos] = 0xd0;
      slab[pos + 1] = n & 0xff;
      pos += 2;
    } else if (n >= -0x8000) {
      slab[pos] = 0xd1;
      view.setInt16(pos + 1, n);
      pos += 3;
    } else {
      slab[pos] = 0xd2;
      view.setInt32(pos + 1, n);
      pos += 5;
    }
  } else {
    // Fractions, NaN, ±Infinity and integers past 32 bits: float 64, exact for every number.
    slab[pos] = 0xcb;
    view.setFloat64(pos + 1, n);
    pos += 9;
  }
}

function writeBigInt(n: bigint): boolean {
  const signed = n >= -0x8000_0000_0000_0000n && n < 0x8000_0000_0000_0000n;
  if (!signed && !(n >= 0n && n <= 0xffff_ffff_ffff_ffffn)) return false; // msgpackr says why it cannot
  reserve(9);
  slab[pos] = signed ? 0xd3 : 0xcf;
  if (signed) view.setBigInt64(pos + 1, n);
  else view.setBigUint64(pos + 1, n);
  pos += 9;
  return true;
}

/** An array or map header: fix form under 16 items, else 16- or 32-bit count. */
function writeHeader(count: number, fix: number, code16: number): void {
  reserve(5);
  if (count < 16) slab[pos++] = fix | count;
  else if (count < 0x10000) {
    slab[pos] = code16;
    view.setUint16(pos + 1, count);
    pos += 3;
  } else {
    slab[pos] = code16 + 1;
    view.setUint32(pos + 1, count);
    pos += 5;
  }
}

function writeBytes(bytes: Uint8Array): void {
  reserve(5 + bytes.length);
  pos += writeSized(pos, bytes.length, 0xc4);
  slab.set(bytes, pos);
  pos += bytes.length;
}

/**
 * Writes at `at` the code for `n`'s size (`code8` below 2^8, then the next two codes for 16 and 32
 * bits) and then `n` in that many bits: uint 8/16/32, and the bin and str length headers. Returns
 * the bytes written.
 */
function writeSized(at: number, n: number, code8: number): number {
  if (n < 0x100) {
    slab[at] = code8;
    slab[at + 1] = n;
    return 2;
  }
  if (n < 0x10000) {
    slab[at] = code8 + 1;
    view.setUint16(at + 1, n);
    return 3;
  }
  slab[at] = code8 + 2;
  view.setUint32(at + 1, n);
  return 5;
}

/** Bytes of the str header for a string of `n` UTF-8 bytes. */
function strHeaderBytes(n: number): number {
  return n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/**
 * A string as fixstr or str 8/16/32. The header's room is set by the UTF-16 length, which is the
 * UTF-8 length for ASCII; when the bytes turn out longer (up to 3 per unit), they move up to make
 * room for a longer header.
 */
function writeString(s: string): void {
  const units = s.length;
  const room = strHeaderBytes(units);
  reserve(5 + 3 * units);
  const at = pos + room;
  let n = 0;
  if (units < asciiLoopUnits) {
    // Short ASCII, the common case, without a call into the TextEncoder. A local: the module's
    // `slab` would be loaded again on every turn.
    const out = slab;
    for (; n < units; n++) {
      const c = s.charCodeAt(n);
      if (c >= 0x80) break;
      out[at + n] = c;
    }
  }
  // Lone surrogates become U+FFFD, as in every other UTF-8 this library writes.
  if (n < units) n = utf8.encodeInto(s, slab.subarray(at)).written;
  const header = strHeaderBytes(n);
  if (header > room) slab.copyWithin(pos + header, at, at + n);
  if (header === 1) slab[pos] = 0xa0 | n;
  else writeSized(pos, n, 0xd9);
  pos += header + n;
}
