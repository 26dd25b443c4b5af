import { forbiddenKey, malformed, tooDeep } from "./codec.js";

/** `__proto__` as UTF-8, to spot it as a map key without decoding strings. */
const protoKey = [95, 95, 112, 114, 111, 116, 111, 95, 95];

function isProtoKey(b: Uint8Array, at: number): boolean {
  for (let i = 0; i < 9; i++) if (b[at + i] !== protoKey[i]) return false;
  return true;
}

/**
 * Walks MessagePack bytes (https://github.com/msgpack/msgpack/blob/master/spec.md) without building
 * anything, and throws unless they hold exactly one well-formed value that is no deeper than
 * `maxDepth`, has no `__proto__` map key, and uses no extension type but the spec's timestamp (-1)
 * and `d4 00 00`, msgpackr's `undefined`.
 * Every declared length and count is checked against the bytes that remain, so a hostile header
 * cannot make the decoder that runs afterwards allocate more than the message's size.
 */
/** Deepest nesting the walk can track; `Limits.maxDepth` may not exceed it. */
export const stackCapacity = 1024;
const stackLeft = new Float64Array(stackCapacity);
const stackMap = new Uint8Array(stackCapacity);
const empty = new Uint8Array(0);
let b: Uint8Array = empty;
let end = 0;
let pos = 0;

function need(n: number): void {
  if (n > end - pos) throw malformed("msgpack", "truncated value");
}

function u8(): number {
  need(1);
  return b[pos++] as number;
}

function u16(): number {
  need(2);
  const v = ((b[pos] as number) << 8) | (b[pos + 1] as number);
  pos += 2;
  return v;
}

function u32(): number {
  need(4);
  const v =
    (b[pos] as number) * 0x1000000 +
    (((b[pos + 1] as number) << 16) | ((b[pos + 2] as number) << 8) | (b[pos + 3] as number));
  pos += 4;
  return v;
}

export function checkMsgpack(bytes: Uint8Array, maxDepth: number): void {
  // The walk runs on module state (no closures, no arrays per call): it is on every message's path.
  b = bytes;
  end = bytes.length;
  pos = 0;
  try {
    walk(Math.min(maxDepth, stackCapacity));
  } finally {
    b = empty; // do not keep the message alive
  }
}

function walk(maxDepth: number): void {
  let left = 1; // values still to read in the current container
  let inMap = false;
  let depth = 0;
  for (;;) {
    if (left === 0) {
      if (depth === 0) break;
      depth--;
      left = stackLeft[depth] as number;
      inMap = stackMap[depth] === 1;
      continue;
    }
    const isKey = inMap && left % 2 === 0;
    left--;
    need(1);
    const t = b[pos++] as number;
    let container = -1; // element count of an array or map, in values
    let map = false;
    let skip = 0;
    let str = -1;
    if (t <= 0x7f || t >= 0xe0) continue;
    if (t <= 0x8f) {
      container = (t & 0x0f) * 2;
      map = true;
    } else if (t <= 0x9f) container = t & 0x0f;
    else if (t <= 0xbf) str = t & 0x1f;
    else {
      switch (t) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          continue;
        case 0xc4:
          need(1);
          skip = b[pos++] as number;
          break;
        case 0xc5:
          skip = u16();
          break;
        case 0xc6:
          skip = u32();
          break;
        case 0xc7:
        case 0xc8:
        case 0xc9: {
          const len = t === 0xc7 ? u8() : t === 0xc8 ? u16() : u32();
          need(1);
          if (b[pos++] !== 0xff || len !== 12) throw malformed("msgpack", "extension types are not accepted");
          skip = len;
          break;
        }
        case 0xca:
          skip = 4;
          break;
        case 0xcb:
          skip = 8;
          break;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xd6:
        case 0xd7:
          need(1);
          if (b[pos++] !== 0xff) throw malformed("msgpack", "extension types are not accepted");
          skip = t === 0xd6 ? 4 : 8;
          break;
        case 0xd4:
          // fixext 1 of type 0 with a 0 byte is how msgpackr writes `undefined` inside arrays and maps.
          need(2);
          if (b[pos] !== 0 || b[pos + 1] !== 0) throw malformed("msgpack", "extension types are not accepted");
          skip = 2;
          break;
        case 0xd5:
        case 0xd8:
          throw malformed("msgpack", "extension types are not accepted");
        case 0xd9:
          need(1);
          str = b[pos++] as number;
          break;
        case 0xda:
          str = u16();
          break;
        case 0xdb:
          str = u32();
          break;
        case 0xdc:
          container = u16();
          break;
        case 0xdd:
          container = u32();
          break;
        case 0xde:
          container = u16() * 2;
          map = true;
          break;
        case 0xdf:
          container = u32() * 2;
          map = true;
          break;
        default:
          throw malformed("msgpack", `invalid byte 0x${t.toString(16)}`);
      }
    }
    if (str >= 0) {
      need(str);
      if (isKey && str === 9 && isProtoKey(b, pos)) throw forbiddenKey();
      pos += str;
    } else if (container >= 0) {
      // Every element takes at least one byte: a count beyond the bytes left is a lie.
      need(container);
      if (depth >= maxDepth) throw tooDeep(maxDepth);
      if (container > 0) {
        stackLeft[depth] = left;
        stackMap[depth] = inMap ? 1 : 0;
        depth++;
        left = container;
        inMap = map;
      }
    } else {
      need(skip);
      pos += skip;
    }
  }
  if (pos !== end) throw malformed("msgpack", `${end - pos} bytes after the value`);
}
