import { Code } from "../../core/code.js";
import { type DecodeLimits, defaultLimits, maxDepthCapacity } from "../../core/limits.js";
import { RpcError } from "../../core/rpc-error.js";
import { malformed, tooDeep } from "../codec.js";
import { armOf, enumNames, resolveType, type XdrType } from "./types.js";

// ignoreBOM: a leading U+FEFF is part of the string as sent, not a mark to drop.
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const bad = (detail: string) => malformed("xdr", detail);

/**
 * Reads XDR from one buffer, checking every length against the bytes left before it allocates.
 * Protocols use it for their headers too (`u32`, `opaque`), then `readXdr` for the body.
 */
export class XdrReader {
  private readonly view: DataView;
  pos = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get left(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.buf.length - this.pos < n) throw bad(`${what} needs ${n} bytes, ${this.buf.length - this.pos} left`);
  }

  u32(what = "unsigned int"): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  i32(what = "int"): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8, "unsigned hyper");
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    this.need(8, "hyper");
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  f32(): number {
    this.need(4, "float");
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8, "double");
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** `n` bytes and their padding (which must be zero), as a view of the input. */
  fixed(n: number, what: string): Uint8Array {
    const padded = n + ((4 - (n & 3)) & 3);
    this.need(padded, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    for (let i = this.pos + n; i < this.pos + padded; i++)
      if (this.buf[i] !== 0) throw bad(`non-zero padding after ${what}`);
    this.pos += padded;
    return out;
  }

  /** A length (at most `max`, and at most the bytes left), then that many bytes, as a view. */
  variable(max: number | undefined, what: string): Uint8Array {
    const n = this.u32(`${what} length`);
    if (max !== undefined && n > max) throw bad(`${what} of ${n} bytes exceeds the maximum ${max}`);
    return this.fixed(n, what);
  }
}

const minSizes = new WeakMap<XdrType, number>();

/** The fewest bytes a value of `type` takes (0 for void; a lazy type counts as 0, its size unknown here). */
export function minBytes(type: XdrType): number {
  const known = minSizes.get(type);
  if (known !== undefined) return known;
  let n: number;
  switch (type.kind) {
    case "void":
    case "lazy":
      n = 0;
      break;
    case "hyper":
    case "uhyper":
    case "double":
      n = 8;
      break;
    case "quadruple":
      n = 16;
      break;
    case "opaque":
      n = type.fixed !== undefined ? (type.fixed + 3) & ~3 : 4;
      break;
    case "array":
      n = type.fixed !== undefined ? Math.min(type.fixed * minBytes(type.of), 2 ** 32) : 4;
      break;
    case "struct":
      n = 0;
      for (const [, ft] of type.fields) n += minBytes(ft);
      break;
    default:
      n = 4;
  }
  minSizes.set(type, n);
  return n;
}

/** Reads one value of `type`; `depth` counts the structs, unions, arrays and optional data around it. */
export function readXdr(r: XdrReader, type: XdrType, maxDepth: number, depth = 0): unknown {
  const t = resolveType(type);
  switch (t.kind) {
    case "int":
      return r.i32();
    case "uint":
      return r.u32();
    case "hyper":
      return r.i64();
    case "uhyper":
      return r.u64();
    case "float":
      return r.f32();
    case "double":
      return r.f64();
    case "quadruple":
      throw new RpcError(Code.Unimplemented, "xdr quadruple is not supported");
    case "bool": {
      const v = r.u32("bool");
      if (v > 1) throw bad(`bool ${v} is neither 0 nor 1`);
      return v === 1;
    }
    case "void":
      return undefined;
    case "enum": {
      const v = r.i32("enum");
      if (!enumNames(t).has(v)) throw bad(`${v} is not a value of enum ${t.name ?? ""}`.trimEnd());
      return v;
    }
    case "opaque":
      // A copy: the input buffer is the connection's and is reused once this message is decoded.
      return (t.fixed !== undefined ? r.fixed(t.fixed, "opaque") : r.variable(t.max, "opaque")).slice();
    case "string": {
      const bytes = r.variable(t.max, "string");
      try {
        return textDecoder.decode(bytes);
      } catch {
        throw bad("string is not valid UTF-8");
      }
    }
    case "array": {
      if (depth >= maxDepth) throw tooDeep(maxDepth);
      let n: number;
      if (t.fixed !== undefined) n = t.fixed;
      else {
        n = r.u32("array length");
        if (t.max !== undefined && n > t.max) throw bad(`array of ${n} elements exceeds the maximum ${t.max}`);
      }
      // The count is checked against what the elements need at least, so it cannot make the
      // decoder loop or allocate beyond the bytes received; elements that take no bytes at all
      // (void, opaque[0]) are allowed no more than the bytes left plus 1,024.
      const of = resolveType(t.of);
      const least = minBytes(of);
      if (least === 0 ? n > r.left + 1024 : n > r.left / least) throw bad(`array of ${n} elements in ${r.left} bytes`);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(readXdr(r, of, maxDepth, depth + 1));
      return out;
    }
    case "struct": {
      if (depth >= maxDepth) throw tooDeep(maxDepth);
      const out: Record<string, unknown> = {};
      for (const [name, ft] of t.fields) out[name] = readXdr(r, ft, maxDepth, depth + 1);
      return out;
    }
    case "union": {
      if (depth >= maxDepth) throw tooDeep(maxDepth);
      const d = t.discriminant;
      const dv = readXdr(r, d.type, maxDepth, depth + 1);
      const arm = armOf(t, typeof dv === "boolean" ? (dv ? 1 : 0) : (dv as number));
      if (arm === undefined) throw bad(`union ${t.name ?? ""} has no arm for ${String(dv)}`.replace("  ", " "));
      const out: Record<string, unknown> = { [d.name]: dv };
      const v = readXdr(r, arm.type, maxDepth, depth + 1);
      if (arm.name !== undefined) out[arm.name] = v;
      return out;
    }
    case "optional": {
      if (depth >= maxDepth) throw tooDeep(maxDepth);
      const flag = r.u32("optional-data flag");
      if (flag > 1) throw bad(`optional-data flag ${flag} is neither 0 nor 1`);
      return flag === 0 ? null : readXdr(r, t.of, maxDepth, depth + 1);
    }
  }
}

/**
 * Decodes `bytes`, which must hold exactly one value of `type`.
 * @throws RpcError `invalid_argument` on anything RFC 4506 or the type does not allow (docs/xdr.md).
 */
export function decodeXdr(type: XdrType, bytes: Uint8Array, limits: number | DecodeLimits = defaultLimits): unknown {
  const maxDepth = Math.min(typeof limits === "number" ? limits : limits.maxDepth, maxDepthCapacity);
  const r = new XdrReader(bytes);
  const value = readXdr(r, type, maxDepth);
  if (r.left !== 0) throw bad(`${r.left} bytes after the value`);
  return value;
}
