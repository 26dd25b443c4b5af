// The one JSON shape of XDR values (docs/xdr.md, "The JSON mapping"): what `npx farcall call`,
// JSON-RPC and HTTP JSON carry for a method whose messages are XDR types.
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { WireTypes } from "../../core/service.js";
import { fromBase64, toBase64 } from "../base64.js";
import { armOf, enumNames, resolveType, type XdrType } from "./types.js";

const misfit = (path: string, what: string) =>
  new RpcError(Code.InvalidArgument, `${path === "" ? "value" : path}: ${what}`);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A decoded XDR value (the codec's JavaScript shape) as JSON. */
export function xdrToJson(type: XdrType, value: unknown): unknown {
  const t = resolveType(type);
  switch (t.kind) {
    case "hyper":
    case "uhyper":
      return String(value);
    case "enum":
      return enumNames(t).get(value as number) ?? value;
    case "opaque":
      return toBase64(value as Uint8Array);
    case "void":
      return null;
    case "array":
      return (value as unknown[]).map((v) => xdrToJson(t.of, v));
    case "struct": {
      const out: Record<string, unknown> = {};
      for (const [name, ft] of t.fields) out[name] = xdrToJson(ft, (value as Record<string, unknown>)[name]);
      return out;
    }
    case "union": {
      const v = value as Record<string, unknown>;
      const d = t.discriminant;
      const dv = v[d.name];
      const out: Record<string, unknown> = { [d.name]: xdrToJson(d.type, dv) };
      const arm = armOf(t, typeof dv === "boolean" ? (dv ? 1 : 0) : (dv as number));
      if (arm?.name !== undefined) out[arm.name] = xdrToJson(arm.type, v[arm.name]);
      return out;
    }
    case "optional":
      return value === null || value === undefined ? null : xdrToJson(t.of, value);
    default:
      return value;
  }
}

const textEncoder = new TextEncoder();
const utf8Length = (s: string) => textEncoder.encode(s).length;

function integer(json: unknown, min: number, max: number, path: string): number {
  if (typeof json !== "number" || !Number.isInteger(json) || json < min || json > max) {
    throw misfit(path, `expected an integer from ${min} to ${max}`);
  }
  return json;
}

function big(json: unknown, min: bigint, max: bigint, path: string): bigint {
  let v: bigint | undefined;
  if (typeof json === "string" && /^-?[0-9]{1,20}$/.test(json)) v = BigInt(json);
  else if (typeof json === "number" && Number.isSafeInteger(json)) v = BigInt(json);
  if (v === undefined || v < min || v > max) throw misfit(path, `expected a decimal string from ${min} to ${max}`);
  return v;
}

/**
 * A JSON value as the codec's JavaScript shape of `type`.
 * @throws RpcError `invalid_argument` naming the path of the part that does not fit.
 */
export function xdrFromJson(type: XdrType, json: unknown, path = ""): unknown {
  const t = resolveType(type);
  switch (t.kind) {
    case "int":
      return integer(json, -0x8000_0000, 0x7fff_ffff, path);
    case "uint":
      return integer(json, 0, 0xffff_ffff, path);
    case "hyper":
      return big(json, -(2n ** 63n), 2n ** 63n - 1n, path);
    case "uhyper":
      return big(json, 0n, 2n ** 64n - 1n, path);
    case "float":
    case "double":
      if (typeof json !== "number") throw misfit(path, "expected a number");
      return json;
    case "quadruple":
      throw new RpcError(Code.Unimplemented, "xdr quadruple is not supported");
    case "bool":
      if (typeof json !== "boolean") throw misfit(path, "expected true or false");
      return json;
    case "void":
      if (json !== null && json !== undefined) throw misfit(path, "expected null");
      return undefined;
    case "enum": {
      if (typeof json === "string" && Object.hasOwn(t.values, json)) return t.values[json];
      if (typeof json === "number" && enumNames(t).has(json)) return json;
      throw misfit(path, `expected one of ${Object.keys(t.values).join(", ")}`);
    }
    case "opaque": {
      const bytes = typeof json === "string" ? fromBase64(json) : undefined;
      if (bytes === undefined) throw misfit(path, "expected base64 text");
      if (t.fixed !== undefined && bytes.length !== t.fixed)
        throw misfit(path, `expected ${t.fixed} bytes, got ${bytes.length}`);
      if (t.max !== undefined && bytes.length > t.max)
        throw misfit(path, `${bytes.length} bytes exceed the maximum ${t.max}`);
      return bytes;
    }
    case "string": {
      if (typeof json !== "string") throw misfit(path, "expected a string");
      const n = t.max === undefined ? 0 : utf8Length(json);
      if (t.max !== undefined && n > t.max) throw misfit(path, `a string of ${n} bytes exceeds the maximum ${t.max}`);
      return json;
    }
    case "array": {
      if (!Array.isArray(json)) throw misfit(path, "expected an array");
      if (t.fixed !== undefined && json.length !== t.fixed)
        throw misfit(path, `expected ${t.fixed} elements, got ${json.length}`);
      if (t.max !== undefined && json.length > t.max)
        throw misfit(path, `${json.length} elements exceed the maximum ${t.max}`);
      return json.map((v, i) => xdrFromJson(t.of, v, `${path}[${i}]`));
    }
    case "struct": {
      if (!isObject(json)) throw misfit(path, "expected an object");
      const out: Record<string, unknown> = {};
      for (const [name, ft] of t.fields) out[name] = xdrFromJson(ft, json[name], `${path}.${name}`);
      return out;
    }
    case "union": {
      if (!isObject(json)) throw misfit(path, "expected an object");
      const d = t.discriminant;
      const dv = xdrFromJson(d.type, json[d.name], `${path}.${d.name}`);
      const arm = armOf(t, typeof dv === "boolean" ? (dv ? 1 : 0) : (dv as number));
      if (arm === undefined) throw misfit(`${path}.${d.name}`, `no arm for ${String(json[d.name])}`);
      const out: Record<string, unknown> = { [d.name]: dv };
      if (arm.name !== undefined) out[arm.name] = xdrFromJson(arm.type, json[arm.name], `${path}.${arm.name}`);
      else xdrFromJson(arm.type, null, path);
      return out;
    }
    case "optional":
      return json === null || json === undefined ? null : xdrFromJson(t.of, json, path);
  }
}

/**
 * A method's wire types for XDR messages: the descriptors, and their JSON mapping for the
 * protocols that carry JSON (`WireTypes.json`). What `farcall gen` writes for each procedure.
 */
export function xdrWire(input: XdrType, output: XdrType): WireTypes {
  const typeOf = (message: "input" | "output") => (message === "input" ? input : output);
  return Object.freeze({
    input,
    output,
    json: Object.freeze({
      fromJson: (json: unknown, message: "input" | "output") => xdrFromJson(typeOf(message), json),
      toJson: (value: unknown, message: "input" | "output") => xdrToJson(typeOf(message), value),
    }),
  });
}
