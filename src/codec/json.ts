import { Code } from "../core/code.js";
import { type DecodeLimits, defaultLimits, tooManyKeys } from "../core/limits.js";
import { RpcError } from "../core/rpc-error.js";
import { fromBase64, toBase64 } from "./base64.js";
import { type Codec, forbiddenKey, malformed, tooDeep, unencodable } from "./codec.js";
import { utf8Bytes } from "./utf8.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The key that carries bytes in JSON: `{"$bytes": "<base64>"}` stands for a `Uint8Array`. */
export const bytesKey = "$bytes";

/** True if `value` holds a `Uint8Array` within 64 levels (only objects are looked into). */
function hasBytes(value: object, depth: number): boolean {
  if (value instanceof Uint8Array) return true;
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === "object" && item !== null && hasBytes(item, depth + 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === "object" && item !== null && hasBytes(item, depth + 1)) return true;
  }
  return false;
}

function bytesReplacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already applied Buffer's toJSON to `value`; read the original from the holder.
  const original = (this as Record<string, unknown>)[key];
  return original instanceof Uint8Array ? { [bytesKey]: toBase64(original) } : value;
}

function reviver(key: string, value: unknown): unknown {
  if (key === "__proto__") throw forbiddenKey();
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const text = (value as Record<string, unknown>)[bytesKey];
    if (typeof text === "string" && Object.keys(value).length === 1) {
      const bytes = fromBase64(text);
      if (bytes === undefined) throw malformed("json", "invalid base64 in $bytes");
      return bytes;
    }
  }
  return value;
}

/**
 * True if `text` holds at most `max` of `[` and `{`, in strings or not: then it cannot nest deeper
 * than `max`. Native `indexOf` finds the few brackets of a typical message several times faster
 * than {@link checkDepth} looks at every character (0.1 µs against 1.8 on the bench struct).
 */
function fewOpeners(text: string, max: number): boolean {
  let n = 0;
  for (let i = text.indexOf("{"); i !== -1; i = text.indexOf("{", i + 1)) if (++n > max) return false;
  for (let i = text.indexOf("["); i !== -1; i = text.indexOf("[", i + 1)) if (++n > max) return false;
  return true;
}

/** Depth of `[`/`{` nesting outside strings, failing fast once past `maxDepth`. */
function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth) throw tooDeep(maxDepth);
    } else if (c === 93 || c === 125) depth--;
  }
}

/**
 * {@link checkDepth} that also counts the members of each open object: every `:` outside strings
 * belongs to the innermost open object. The first object past `maxKeys` is followed to its end
 * (or the text's), so the error gives its whole count. The text is not yet known to be JSON; on
 * a malformed one the counts are meaningless but the scan still ends, and `JSON.parse` rejects it
 * unless a limit did first.
 */
function checkDepthAndKeys(text: string, maxDepth: number, maxKeys: number): void {
  // keys[d] counts the members of the object opened at depth d (an array's count stays 0).
  const keys = new Int32Array(Math.min(maxDepth, text.length) + 2);
  let depth = 0;
  let inString = false;
  /** The depth of the first object found over the limit, or 0. */
  let over = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 58 /* : */) {
      if (++(keys[depth] as number) > maxKeys && over === 0) over = depth;
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth) throw tooDeep(maxDepth);
      keys[depth] = 0;
    } else if (c === 93 || c === 125) {
      if (over > 0 && depth === over) throw tooManyKeys(keys[over] as number, maxKeys);
      depth--;
    }
  }
  if (over > 0) throw tooManyKeys(keys[over] as number, maxKeys);
}

/**
 * `value` as JSON text, with `Uint8Array` as `{"$bytes": …}`.
 * @throws RpcError `internal` when the value cannot be encoded (BigInt, cycles, a bare undefined).
 */
export function toJsonText(value: unknown): string {
  let text: string | undefined;
  try {
    text =
      typeof value === "object" && value !== null && hasBytes(value, 0)
        ? JSON.stringify(value, bytesReplacer)
        : JSON.stringify(value);
  } catch (err) {
    throw unencodable("json", err);
  }
  if (text === undefined) throw new RpcError(Code.Internal, `cannot encode ${typeof value} as json`);
  return text;
}

/** Strict UTF-8 decoding. @throws RpcError `invalid_argument` on invalid UTF-8. */
export function utf8Text(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw malformed("json", "invalid utf-8");
  }
}

/**
 * Parses JSON text with the codec's checks: depth, keys per object, `__proto__` keys, `$bytes`.
 * `limits` may be a bare `maxDepth` (then `maxKeys` is the default).
 * @throws RpcError `invalid_argument`
 */
export function fromJsonText(text: string, limits: number | DecodeLimits): unknown {
  const maxDepth = typeof limits === "number" ? limits : limits.maxDepth;
  const maxKeys = (typeof limits === "number" ? undefined : limits.maxKeys) ?? defaultLimits.maxKeys;
  // Both limits are checked by one scan before parsing, and only when the text is long enough to
  // pass one: a text of n characters nests at most n deep, and an object of k members takes at
  // least 5k + 1 characters ({"":0,…}), so a ~1 KiB struct is never scanned for keys under 10,000.
  if (text.length > 5 * maxKeys + 5) checkDepthAndKeys(text, maxDepth, maxKeys);
  else if (text.length > maxDepth && !fewOpeners(text, maxDepth)) checkDepth(text, maxDepth);
  try {
    // A key may be spelled with escapes ("\u005f_proto__"), so any backslash-u also takes the checked path.
    const check = text.includes("__proto__") || text.includes(bytesKey) || text.includes("\\u");
    return check ? JSON.parse(text, reviver) : JSON.parse(text);
  } catch (err) {
    if (err instanceof RpcError) throw err;
    throw malformed("json", (err as Error).message);
  }
}

/**
 * JSON (RFC 8259) as UTF-8. `Uint8Array` values travel as `{"$bytes": "<base64>"}`;
 * `undefined` object fields are dropped, as JSON.stringify does.
 */
export const jsonCodec: Codec = {
  name: "json",
  encode(value) {
    return utf8Bytes(toJsonText(value));
  },
  // Takes a DecodeLimits as well as the Codec interface's bare maxDepth.
  decode(bytes, limits: number | DecodeLimits) {
    return fromJsonText(utf8Text(bytes), limits);
  },
};
