/** Standard base64 (RFC 4648 §4), with padding, runtime-neutral. */
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const lookup = new Int16Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;

/**
 * Node's Buffer, when the runtime has one: its base64 is native and some 50× faster than the
 * portable code below. Found on globalThis so that this module imports nothing from node:.
 */
interface NativeBuffer {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: "base64"): string };
  from(text: string, encoding: "base64"): Uint8Array;
}
const native = (globalThis as { Buffer?: NativeBuffer }).Buffer;
const outsideAlphabet = /[^A-Za-z0-9+/=]/;

/** Encodes bytes as base64 text. */
export function toBase64(bytes: Uint8Array): string {
  if (native !== undefined) return native.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");
  let out = "";
  const parts: string[] = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out +=
      alphabet.charAt(n >>> 18) +
      alphabet.charAt((n >>> 12) & 63) +
      alphabet.charAt((n >>> 6) & 63) +
      alphabet.charAt(n & 63);
    if (out.length >= 8192) {
      parts.push(out);
      out = "";
    }
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += `${alphabet.charAt(n >>> 18)}${alphabet.charAt((n >>> 12) & 63)}==`;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += `${alphabet.charAt(n >>> 18)}${alphabet.charAt((n >>> 12) & 63)}${alphabet.charAt((n >>> 6) & 63)}=`;
  }
  parts.push(out);
  return parts.join("");
}

/** Decodes base64 text; returns undefined when it is not valid padded base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  if (native !== undefined) {
    // Buffer skips characters outside the alphabet; check strictly first.
    const pad = text.indexOf("=");
    if (outsideAlphabet.test(text) || (pad >= 0 && (pad < text.length - 2 || !text.endsWith("=")))) return undefined;
    const b = native.from(text, "base64");
    // Small results are slices of Node's shared 8 KiB pool: copy them, so the value's `.buffer`
    // holds these bytes only and not whatever else was decoded next to them.
    return b.byteLength === b.buffer.byteLength ? new Uint8Array(b.buffer) : new Uint8Array(b);
  }
  let pad = 0;
  if (text.endsWith("==")) pad = 2;
  else if (text.endsWith("=")) pad = 1;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      let v: number;
      if (c === 61 /* = */ && i + 4 === text.length && j >= 4 - pad) v = 0;
      else {
        v = c < 128 ? (lookup[c] as number) : -1;
        if (v < 0) return undefined;
      }
      n = (n << 6) | v;
    }
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
