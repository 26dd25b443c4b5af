/**
 * Properties of the XDR codec (docs/xdr.md, RFC 4506) over random descriptors and values:
 * decode(encode(v)) is v, every encoding is a whole number of 4-byte units, the JSON mapping
 * round-trips, and any bytes at all either decode or are refused with RpcError invalid_argument;
 * a truncated or extended encoding is always refused, and whatever decodes encodes back to the same
 * bytes (strict decoding leaves no second spelling of a value).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Code, decodeXdr, encodeXdr, RpcError, type XdrType, xdrFromJson, xdrToJson } from "../src/index.js";
import { toHex } from "./bytes.js";

/** The descriptors of docs/xdr.md, as plain data (no quadruple, no lazy). */
type Desc =
  | { kind: "int" | "uint" | "hyper" | "uhyper" | "float" | "double" | "bool" | "void" }
  | { kind: "enum"; name: string; values: Record<string, number> }
  | { kind: "opaque"; fixed?: number; max?: number }
  | { kind: "string"; max?: number }
  | { kind: "array"; of: Desc; fixed?: number; max?: number }
  | { kind: "struct"; name: string; fields: [string, Desc][] }
  | {
      kind: "union";
      name: string;
      discriminant: { name: string; type: Desc };
      arms: { cases: number[]; name?: string; type: Desc }[];
      default?: { name?: string; type: Desc };
    }
  | { kind: "optional"; of: Desc };

const SEED = 20_240_611;
const asType = (d: Desc): XdrType => d as unknown as XdrType;

// ---------------------------------------------------------------------------------------------
// Descriptors

const int32 = fc.oneof(
  fc.integer({ min: -4, max: 8 }),
  fc.constantFrom(-2147483648, 2147483647, -1, 255, 65536),
  fc.integer(),
);
const uint32 = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.constantFrom(0xffffffff, 0x80000000),
  fc.integer({ min: 0, max: 0xffffffff }),
);

const enumDesc: fc.Arbitrary<Desc> = fc
  .uniqueArray(int32, { minLength: 1, maxLength: 5 })
  .map((vals) => ({ kind: "enum", name: "e", values: Object.fromEntries(vals.map((v, i) => [`E${i}`, v])) }));

const maybeMax = (max: number) => fc.option(fc.integer({ min: 0, max }), { nil: undefined });

const opaqueDesc: fc.Arbitrary<Desc> = fc.oneof(
  fc.integer({ min: 0, max: 6 }).map((fixed): Desc => ({ kind: "opaque", fixed })),
  maybeMax(9).map((max): Desc => (max === undefined ? { kind: "opaque" } : { kind: "opaque", max })),
);

const stringDesc: fc.Arbitrary<Desc> = maybeMax(12).map(
  (max): Desc => (max === undefined ? { kind: "string" } : { kind: "string", max }),
);

const leaf: fc.Arbitrary<Desc> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<Desc>(
      { kind: "int" },
      { kind: "uint" },
      { kind: "hyper" },
      { kind: "uhyper" },
      { kind: "float" },
      { kind: "double" },
      { kind: "bool" },
    ),
  },
  enumDesc,
  opaqueDesc,
  stringDesc,
);

/** Case labels a discriminant of type `d` can take, to choose arms' cases from. */
function labels(d: Desc): fc.Arbitrary<number> {
  switch (d.kind) {
    case "bool":
      return fc.constantFrom(0, 1);
    case "uint":
      return uint32;
    case "enum":
      return fc.constantFrom(...Object.values(d.values));
    default:
      return int32;
  }
}

function unionDesc(inner: fc.Arbitrary<Desc>): fc.Arbitrary<Desc> {
  const disc = fc.oneof(fc.constantFrom<Desc>({ kind: "int" }, { kind: "uint" }, { kind: "bool" }), enumDesc);
  return disc.chain((dtype) =>
    fc
      .record({
        cases: fc.uniqueArray(labels(dtype), { minLength: 1, maxLength: 4 }),
        share: fc.boolean(),
        types: fc.array(fc.oneof(inner, fc.constant<Desc>({ kind: "void" })), { minLength: 4, maxLength: 4 }),
        dflt: fc.option(fc.oneof(inner, fc.constant<Desc>({ kind: "void" })), { nil: undefined }),
      })
      .map(({ cases, share, types, dflt }): Desc => {
        // Each label its own arm, or the first two sharing one.
        const groups =
          share && cases.length >= 2 ? [cases.slice(0, 2), ...cases.slice(2).map((c) => [c])] : cases.map((c) => [c]);
        const arms = groups.map((g, i) => {
          const type = types[i] ?? { kind: "void" };
          return type.kind === "void" ? { cases: g, type } : { cases: g, name: `a${i}`, type };
        });
        const union: Desc = { kind: "union", name: "u", discriminant: { name: "d", type: dtype }, arms };
        if (dflt === undefined) return union;
        return { ...union, default: dflt.kind === "void" ? { type: dflt } : { name: "dflt", type: dflt } };
      }),
  );
}

/**
 * Whether `d` can encode to no bytes at all (fixed opaque[0], arrays of none). Arrays of such
 * elements are left out: a count can then not be checked against the bytes left, and
 * docs/xdr.md has every length checked so; the valid vectors hold the one fixed case.
 */
function canBeEmpty(d: Desc): boolean {
  switch (d.kind) {
    case "void":
      return true;
    case "opaque":
      return d.fixed === 0;
    case "array":
      return d.fixed === 0 || (d.fixed !== undefined && canBeEmpty(d.of));
    case "struct":
      return d.fields.every(([, t]) => canBeEmpty(t));
    default:
      return false;
  }
}

function compound(inner: fc.Arbitrary<Desc>): fc.Arbitrary<Desc> {
  const element = inner.filter((d) => !canBeEmpty(d));
  return fc.oneof(
    fc
      .record({ of: element, fixed: fc.integer({ min: 0, max: 3 }) })
      .map(({ of, fixed }): Desc => ({ kind: "array", of, fixed })),
    fc
      .record({ of: element, max: maybeMax(4) })
      .map(({ of, max }): Desc => (max === undefined ? { kind: "array", of } : { kind: "array", of, max })),
    fc
      .array(inner, { minLength: 1, maxLength: 4 })
      .map((types): Desc => ({ kind: "struct", name: "s", fields: types.map((t, i): [string, Desc] => [`f${i}`, t]) })),
    unionDesc(inner),
    // Optional data of optional data has no JavaScript value of its own for "present but null".
    inner.filter((d) => d.kind !== "optional").map((of): Desc => ({ kind: "optional", of })),
  );
}

function descAt(depth: number): fc.Arbitrary<Desc> {
  if (depth === 0) return leaf;
  const inner = descAt(depth - 1);
  return fc.oneof({ weight: 2, arbitrary: leaf }, { weight: 3, arbitrary: compound(inner) });
}

/** Random descriptors, nested at most 3 compounds deep; `void` as a whole message or a union arm. */
const descriptor: fc.Arbitrary<Desc> = fc.oneof(
  { weight: 20, arbitrary: descAt(3) },
  { weight: 1, arbitrary: fc.constant<Desc>({ kind: "void" }) },
);

// ---------------------------------------------------------------------------------------------
// Values

const utf8 = new TextEncoder();

/** `s` cut, at a code point, to at most `max` UTF-8 bytes. */
function fitUtf8(s: string, max: number | undefined): string {
  if (max === undefined) return s;
  let out = "";
  let bytes = 0;
  for (const ch of s) {
    const n = utf8.encode(ch).length;
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * Values of `d`. With `jsonSafe`, floats are finite (JSON has no NaN or Infinity); otherwise any
 * float32 or float64 value, NaN, infinities and -0 included.
 */
function valuesOf(d: Desc, jsonSafe: boolean): fc.Arbitrary<unknown> {
  switch (d.kind) {
    case "int":
      return int32;
    case "uint":
      return uint32;
    case "hyper":
      return fc.oneof(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n, 2n ** 53n + 1n),
      );
    case "uhyper":
      return fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 2n ** 64n - 1n, 2n ** 63n));
    case "float":
      return fc.float({ noNaN: jsonSafe, noDefaultInfinity: jsonSafe });
    case "double":
      return fc.double({ noNaN: jsonSafe, noDefaultInfinity: jsonSafe });
    case "bool":
      return fc.boolean();
    case "void":
      return fc.constant(undefined);
    case "enum":
      return fc.constantFrom(...Object.values(d.values));
    case "opaque": {
      const min = d.fixed ?? 0;
      const max = d.fixed ?? Math.min(d.max ?? 10, 10);
      return fc.uint8Array({ minLength: min, maxLength: max });
    }
    case "string":
      return fc
        .oneof(
          fc.string({ maxLength: 10 }),
          fc.string({ unit: "binary", maxLength: 6 }),
          fc.string({ unit: "grapheme", maxLength: 3 }),
        )
        .map((s) => fitUtf8(s, d.max));
    case "array": {
      const min = d.fixed ?? 0;
      const max = d.fixed ?? Math.min(d.max ?? 3, 3);
      return fc.array(valuesOf(d.of, jsonSafe), { minLength: min, maxLength: max });
    }
    case "struct":
      return fc
        .tuple(...d.fields.map(([, t]) => valuesOf(t, jsonSafe)))
        .map((vals) => Object.fromEntries(d.fields.map(([name], i) => [name, vals[i]])));
    case "optional":
      return fc.option(valuesOf(d.of, jsonSafe), { nil: null });
    case "union":
      return unionValue(d, jsonSafe);
  }
}

function unionValue(d: Extract<Desc, { kind: "union" }>, jsonSafe: boolean): fc.Arbitrary<unknown> {
  const dtype = d.discriminant.type;
  const discJs = (label: number): unknown => (dtype.kind === "bool" ? label === 1 : label);
  const make = (label: number, arm: { name?: string; type: Desc }): fc.Arbitrary<unknown> =>
    arm.type.kind === "void" || arm.name === undefined
      ? fc.constant({ [d.discriminant.name]: discJs(label) })
      : valuesOf(arm.type, jsonSafe).map((v) => ({ [d.discriminant.name]: discJs(label), [arm.name as string]: v }));
  const choices: fc.Arbitrary<unknown>[] = d.arms.map((arm) =>
    fc.constantFrom(...arm.cases).chain((c) => make(c, arm)),
  );
  const dflt = d.default;
  if (dflt !== undefined) {
    const taken = new Set(d.arms.flatMap((a) => a.cases));
    let free: fc.Arbitrary<number> | undefined;
    if (dtype.kind === "enum" || dtype.kind === "bool") {
      const all: number[] = dtype.kind === "enum" ? Object.values(dtype.values) : [0, 1];
      const left = all.filter((v) => !taken.has(v));
      if (left.length > 0) free = fc.constantFrom(...left);
    } else {
      free = labels(dtype).filter((v) => !taken.has(v));
    }
    if (free) choices.push(free.chain((c) => make(c, dflt)));
  }
  return fc.oneof(...choices);
}

const typed = (jsonSafe: boolean) => descriptor.chain((d) => valuesOf(d, jsonSafe).map((value) => ({ d, value })));

// ---------------------------------------------------------------------------------------------
// Comparison

/** `value` with byte strings as tagged hex and objects as plain objects; -0 as 0 with `unsign`. */
function norm(value: unknown, unsign = false): unknown {
  if (value instanceof Uint8Array) return { $bytes: toHex(value) };
  if (Array.isArray(value)) return value.map((v) => norm(v, unsign));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, norm(v, unsign)]));
  }
  if (unsign && value === 0) return 0;
  return value;
}

function hasNaN(value: unknown): boolean {
  if (typeof value === "number") return Number.isNaN(value);
  if (value instanceof Uint8Array) return false;
  if (Array.isArray(value)) return value.some(hasNaN);
  if (typeof value === "object" && value !== null) return Object.values(value).some(hasNaN);
  return false;
}

function describeCase(d: Desc, bytes?: Uint8Array): string {
  return `${JSON.stringify(d)}${bytes ? ` bytes ${toHex(bytes)}` : ""}`;
}

/** Decodes `bytes`: the value, or undefined after checking that the refusal is an invalid_argument RpcError. */
function decodeOrRefuse(d: Desc, bytes: Uint8Array): { value: unknown } | undefined {
  try {
    return { value: decodeXdr(asType(d), bytes) };
  } catch (err) {
    assert.ok(err instanceof RpcError, `not an RpcError for ${describeCase(d, bytes)}: ${String(err)}`);
    assert.equal(err.code, Code.InvalidArgument, `${describeCase(d, bytes)}: ${err.message}`);
    return undefined;
  }
}

function assertRefused(d: Desc, bytes: Uint8Array): void {
  assert.equal(decodeOrRefuse(d, bytes), undefined, `accepted ${describeCase(d, bytes)}`);
}

/** Whatever decodes must encode back to exactly the bytes it came from. */
function assertCanonical(d: Desc, bytes: Uint8Array, value: unknown): void {
  if (hasNaN(value)) return; // NaN payloads need not survive
  assert.equal(toHex(encodeXdr(asType(d), value)), toHex(bytes), describeCase(d));
}

// ---------------------------------------------------------------------------------------------
// Properties

test("decode(encode(v)) is v, in whole 4-byte units", () => {
  fc.assert(
    fc.property(typed(false), ({ d, value }) => {
      const bytes = encodeXdr(asType(d), value);
      assert.equal(bytes.length % 4, 0, describeCase(d, bytes));
      const back = decodeXdr(asType(d), bytes);
      assert.deepEqual(norm(back), norm(value), describeCase(d, bytes));
      assertCanonical(d, bytes, back);
    }),
    { seed: SEED, numRuns: 600 },
  );
});

test("xdrFromJson(xdrToJson(v)) is v, also through JSON text", () => {
  fc.assert(
    fc.property(typed(true), ({ d, value }) => {
      const json = xdrToJson(asType(d), value);
      assert.deepEqual(norm(xdrFromJson(asType(d), json)), norm(value), describeCase(d));
      // JSON text has no -0 and no bigint: the mapping must survive it (a bigint would make stringify throw).
      const text = JSON.stringify(json);
      const parsed: unknown = text === undefined ? null : JSON.parse(text);
      assert.deepEqual(norm(xdrFromJson(asType(d), parsed), true), norm(value, true), describeCase(d));
      assert.deepEqual(norm(decodeXdr(asType(d), encodeXdr(asType(d), xdrFromJson(asType(d), json)))), norm(value));
    }),
    { seed: SEED + 1, numRuns: 500 },
  );
});

/** Byte strings made of 4-byte units, mostly small numbers, so that random input gets past lengths and flags. */
const words = fc
  .array(
    fc.oneof(
      fc.constantFrom(0, 1, 2, 3, 4, 0xffffffff, 0x80000000, 0x61626364),
      fc.integer({ min: 0, max: 0xffffffff }),
    ),
    { maxLength: 16 },
  )
  .map((ws) => {
    const out = new Uint8Array(ws.length * 4);
    const view = new DataView(out.buffer);
    for (const [i, w] of ws.entries()) view.setUint32(i * 4, w);
    return out;
  });

test("any bytes decode or are refused with invalid_argument, and what decodes is canonical", () => {
  fc.assert(
    fc.property(descriptor, fc.oneof(fc.uint8Array({ maxLength: 64 }), words), (d, bytes) => {
      const got = decodeOrRefuse(d, bytes);
      if (got) assertCanonical(d, bytes, got.value);
    }),
    { seed: SEED + 2, numRuns: 1000 },
  );
});

test("a valid encoding with a byte changed decodes or is refused with invalid_argument", () => {
  fc.assert(
    fc.property(typed(false), fc.nat(), fc.integer({ min: 1, max: 255 }), ({ d, value }, at, xor) => {
      const bytes = encodeXdr(asType(d), value).slice();
      if (bytes.length === 0) return;
      const i = at % bytes.length;
      bytes[i] = (bytes[i] ?? 0) ^ xor;
      const got = decodeOrRefuse(d, bytes);
      if (got) assertCanonical(d, bytes, got.value);
    }),
    { seed: SEED + 3, numRuns: 600 },
  );
});

test("a valid encoding cut short is refused with invalid_argument", () => {
  fc.assert(
    fc.property(typed(false), fc.nat(), ({ d, value }, at) => {
      const bytes = encodeXdr(asType(d), value);
      if (bytes.length === 0) return;
      assertRefused(d, bytes.subarray(0, at % bytes.length));
    }),
    { seed: SEED + 4, numRuns: 500 },
  );
});

test("a valid encoding with bytes after it is refused with invalid_argument", () => {
  fc.assert(
    fc.property(typed(false), fc.uint8Array({ minLength: 1, maxLength: 8 }), ({ d, value }, extra) => {
      const bytes = encodeXdr(asType(d), value);
      const longer = new Uint8Array(bytes.length + extra.length);
      longer.set(bytes);
      longer.set(extra, bytes.length);
      assertRefused(d, longer);
    }),
    { seed: SEED + 5, numRuns: 500 },
  );
});
