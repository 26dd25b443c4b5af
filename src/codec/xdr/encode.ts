import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { armOf, enumNames, resolveType, type XdrType } from "./types.js";

const textEncoder = new TextEncoder();

/** The error for a value that does not fit its XDR type; `path` says where (`.items[3].id`). */
function misfit(path: string, what: string): RpcError {
  return new RpcError(Code.Internal, `cannot encode value as xdr: ${path === "" ? "value" : path}: ${what}`);
}

/**
 * Writes XDR into a buffer that doubles as it fills. Also used by protocols to lay out their
 * headers (`u32`) before a message.
 */
export class XdrWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  /** Overwrites the 4 bytes at `at` (a length or record mark written once the rest is known). */
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v);
  }

  u64(v: bigint): void {
    this.room(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  i64(v: bigint): void {
    this.room(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }

  f32(v: number): void {
    this.room(4);
    this.view.setFloat32(this.pos, v);
    this.pos += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  /** The bytes, zero-padded to a multiple of 4. */
  bytes(b: Uint8Array): void {
    const padded = (b.length + 3) & ~3;
    this.room(padded);
    this.buf.set(b, this.pos);
    this.buf.fill(0, this.pos + b.length, this.pos + padded);
    this.pos += padded;
  }

  /** A string as a length and its UTF-8 bytes, padded; returns the byte length. */
  text(s: string): number {
    this.room(4 + 3 * s.length + 3);
    const start = this.pos + 4;
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(start));
    this.view.setUint32(this.pos, written);
    const padded = (written + 3) & ~3;
    this.buf.fill(0, start + written, start + padded);
    this.pos = start + padded;
    return written;
  }

  /** What has been written (a view of the buffer; the writer must not be used afterwards). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function integer(value: unknown, min: number, max: number, path: string, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw misfit(path, `expected ${what}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "string") return value.length > 40 ? "a string" : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  return typeof value;
}

/** Writes `value` as the XDR `type`. @throws RpcError `internal` naming the part that does not fit. */
export function writeXdr(w: XdrWriter, type: XdrType, value: unknown, path = ""): void {
  const t = resolveType(type);
  switch (t.kind) {
    case "int":
      w.i32(integer(value, -0x8000_0000, 0x7fff_ffff, path, "an int"));
      return;
    case "uint":
      w.u32(integer(value, 0, 0xffff_ffff, path, "an unsigned int"));
      return;
    case "hyper":
      if (typeof value !== "bigint" || value < -(2n ** 63n) || value >= 2n ** 63n) {
        throw misfit(path, `expected a hyper (a bigint), got ${describe(value)}`);
      }
      w.i64(value);
      return;
    case "uhyper":
      if (typeof value !== "bigint" || value < 0n || value >= 2n ** 64n) {
        throw misfit(path, `expected an unsigned hyper (a bigint), got ${describe(value)}`);
      }
      w.u64(value);
      return;
    case "float":
    case "double":
      if (typeof value !== "number") throw misfit(path, `expected a number, got ${describe(value)}`);
      if (t.kind === "float") w.f32(value);
      else w.f64(value);
      return;
    case "quadruple":
      throw new RpcError(Code.Unimplemented, `xdr quadruple is not supported${path === "" ? "" : ` (${path})`}`);
    case "bool":
      if (typeof value !== "boolean") throw misfit(path, `expected a bool, got ${describe(value)}`);
      w.u32(value ? 1 : 0);
      return;
    case "void":
      if (value !== undefined && value !== null) throw misfit(path, `expected void, got ${describe(value)}`);
      return;
    case "enum":
      if (typeof value !== "number" || !enumNames(t).has(value)) {
        throw misfit(path, `${describe(value)} is not a value of enum ${t.name ?? ""}`.trimEnd());
      }
      w.i32(value);
      return;
    case "opaque": {
      if (!(value instanceof Uint8Array)) throw misfit(path, `expected opaque bytes, got ${describe(value)}`);
      if (t.fixed !== undefined) {
        if (value.length !== t.fixed) throw misfit(path, `expected ${t.fixed} bytes, got ${value.length}`);
      } else {
        if (t.max !== undefined && value.length > t.max)
          throw misfit(path, `${value.length} bytes exceed the maximum ${t.max}`);
        w.u32(value.length);
      }
      w.bytes(value);
      return;
    }
    case "string": {
      if (typeof value !== "string") throw misfit(path, `expected a string, got ${describe(value)}`);
      const at = w.pos;
      const n = w.text(value);
      if (t.max !== undefined && n > t.max) {
        w.pos = at;
        throw misfit(path, `a string of ${n} bytes exceeds the maximum ${t.max}`);
      }
      return;
    }
    case "array": {
      if (!Array.isArray(value)) throw misfit(path, `expected an array, got ${describe(value)}`);
      if (t.fixed !== undefined) {
        if (value.length !== t.fixed) throw misfit(path, `expected ${t.fixed} elements, got ${value.length}`);
      } else {
        if (t.max !== undefined && value.length > t.max)
          throw misfit(path, `${value.length} elements exceed the maximum ${t.max}`);
        w.u32(value.length);
      }
      for (let i = 0; i < value.length; i++) writeXdr(w, t.of, value[i], `${path}[${i}]`);
      return;
    }
    case "struct": {
      if (!isObject(value))
        throw misfit(path, `expected a struct${t.name ? ` ${t.name}` : ""}, got ${describe(value)}`);
      for (const [name, ft] of t.fields) {
        const v = value[name];
        if (v === undefined && resolveType(ft).kind !== "void" && resolveType(ft).kind !== "optional") {
          throw misfit(`${path}.${name}`, "missing");
        }
        writeXdr(w, ft, v, `${path}.${name}`);
      }
      return;
    }
    case "union": {
      if (!isObject(value)) throw misfit(path, `expected a union${t.name ? ` ${t.name}` : ""}, got ${describe(value)}`);
      const d = t.discriminant;
      const dv = value[d.name];
      writeXdr(w, d.type, dv, `${path}.${d.name}`);
      const arm = armOf(t, typeof dv === "boolean" ? (dv ? 1 : 0) : (dv as number));
      if (arm === undefined) throw misfit(`${path}.${d.name}`, `no arm for ${describe(dv)}`);
      writeXdr(
        w,
        arm.type,
        arm.name === undefined ? undefined : value[arm.name],
        arm.name === undefined ? path : `${path}.${arm.name}`,
      );
      return;
    }
    case "optional":
      if (value === null || value === undefined) {
        w.u32(0);
        return;
      }
      w.u32(1);
      writeXdr(w, t.of, value, path);
      return;
  }
}

/** The XDR bytes of `value` as `type`. @throws RpcError `internal` when the value does not fit. */
export function encodeXdr(type: XdrType, value: unknown): Uint8Array {
  const w = new XdrWriter();
  writeXdr(w, type, value);
  return w.finish();
}
