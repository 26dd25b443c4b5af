/**
 * The XDR codec (docs/xdr.md, RFC 4506) against the conformance vectors of testdata/vectors/xdr/:
 * every valid vector decodes to its JSON mapping and is produced again byte for byte from it, every
 * invalid one is refused with `invalid_argument`. Then the API's promises one by one: what encoding
 * refuses, quadruple, the JSON mapping's acceptance rules, the JavaScript values, depth limits and
 * declared lengths that must not size memory.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Code,
  decodeXdr,
  encodeXdr,
  RpcError,
  type XdrType,
  xdr,
  xdrCodec,
  xdrFromJson,
  xdrToJson,
} from "../src/index.js";
import { fromHex, loadVectors, toHex } from "./bytes.js";

interface ValidVector {
  name: string;
  type?: unknown;
  typeRef?: string;
  hex: string;
  json: unknown;
}

interface InvalidVector {
  name: string;
  type?: unknown;
  typeRef?: string;
  hex: string;
  why: string;
  maxDepth?: number;
}

/** struct node { int value; node *next; }: the recursive type the vectors name `intList`. */
const intList: XdrType = xdr.struct("node", [
  ["value", xdr.int],
  ["next", xdr.optional(xdr.lazy(() => intList))],
]);

const typeRefs: Record<string, XdrType> = { intList };

function typeOf(v: { name: string; type?: unknown; typeRef?: string }): XdrType {
  if (v.typeRef !== undefined) {
    const t = typeRefs[v.typeRef];
    assert.ok(t, `${v.name}: unknown typeRef ${v.typeRef}`);
    return t;
  }
  assert.ok(v.type !== undefined, `${v.name}: no type`);
  return v.type as XdrType;
}

/** The hex of a vector without its decorative spaces. */
function clean(hex: string): string {
  return hex.replace(/\s+/g, "");
}

/** A deep copy of a JSON value, so a codec that mutated its input could not spoil the vector. */
function copy<T>(json: T): T {
  return structuredClone(json);
}

/**
 * A value with its byte strings as plain arrays and its objects as plain objects, so values compare
 * whatever Uint8Array subclass or object prototype a decoder chose.
 */
function norm(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(norm);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, norm(v)]));
  }
  return value;
}

/** `assert.throws` validation: an RpcError with `code`, its message (without the code) matching `message`. */
function rpcError(code: Code, message?: RegExp): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
    assert.equal(err.code, code, `expected code ${Code[code]}, got ${Code[err.code]}: ${err.message}`);
    if (message) assert.match(err.rawMessage, message);
    return true;
  };
}

const invalidArgument = rpcError(Code.InvalidArgument);
const internal = rpcError(Code.Internal);
const malformed = rpcError(Code.InvalidArgument, /^malformed xdr message/);

const valid = loadVectors<ValidVector>("xdr/valid.json");
const invalid = loadVectors<InvalidVector>("xdr/invalid.json");

describe("valid vectors", () => {
  test("there are enough of them", () => {
    assert.ok(valid.length >= 60, `${valid.length} valid vectors`);
  });
  for (const v of valid) {
    test(v.name, () => {
      const type = typeOf(v);
      const bytes = fromHex(v.hex);
      const value = decodeXdr(type, bytes);
      assert.deepEqual(xdrToJson(type, value), v.json, "decoded value in the JSON mapping");
      assert.equal(toHex(encodeXdr(type, xdrFromJson(type, copy(v.json)))), clean(v.hex), "encoding of the JSON value");
      assert.equal(toHex(encodeXdr(type, value)), clean(v.hex), "re-encoding of the decoded value");
    });
  }
});

describe("invalid vectors", () => {
  test("there are enough of them", () => {
    assert.ok(invalid.length >= 30, `${invalid.length} invalid vectors`);
  });
  for (const v of invalid) {
    test(`${v.name} (${v.why})`, () => {
      const type = typeOf(v);
      const limits = v.maxDepth === undefined ? undefined : { maxDepth: v.maxDepth, maxKeys: 10_000 };
      // docs/xdr.md gives decoding refusals the words `malformed xdr message`; depth is checked by code alone.
      assert.throws(
        () => decodeXdr(type, fromHex(v.hex), limits),
        v.maxDepth === undefined ? malformed : invalidArgument,
      );
    });
  }
  test("the depth vectors are refused for their depth alone", () => {
    const deep = invalid.filter((v) => v.maxDepth !== undefined);
    assert.ok(deep.length >= 3);
    for (const v of deep) {
      assert.doesNotThrow(() => decodeXdr(typeOf(v), fromHex(v.hex), { maxDepth: 64, maxKeys: 10_000 }), v.name);
      assert.throws(
        () => decodeXdr(typeOf(v), fromHex(v.hex), v.maxDepth),
        invalidArgument,
        `${v.name}, limit as a number`,
      );
    }
  });
});

// Descriptors used by the API-level tests.
const color = xdr.enum("color", { RED: 0, GREEN: 1, BLUE: 2 });
const point = xdr.struct("point", [
  ["x", xdr.int],
  ["y", xdr.int],
]);
const shape = xdr.union(
  "shape",
  ["kind", xdr.int],
  [
    { cases: [1], name: "circle", type: xdr.struct("circle", [["r", xdr.int]]) },
    { cases: [2, 3], name: "side", type: xdr.uint },
    { cases: [4], type: xdr.void },
  ],
  { name: "other", type: xdr.string() },
);
const paint = xdr.union(
  "paint",
  ["color", color],
  [
    { cases: [0], name: "red", type: xdr.int },
    { cases: [1], type: xdr.void },
  ],
);
const result = xdr.union(
  "result",
  ["ok", xdr.bool],
  [
    { cases: [1], name: "value", type: xdr.int },
    { cases: [0], type: xdr.void },
  ],
);

function encodesTo(type: XdrType, value: unknown, hex: string): void {
  assert.equal(toHex(encodeXdr(type, value)), clean(hex));
}

describe("builders", () => {
  const cases: { name: string; built: XdrType; json: unknown; value: unknown; hex: string }[] = [
    { name: "int", built: xdr.int, json: { kind: "int" }, value: -1, hex: "ffffffff" },
    { name: "uint", built: xdr.uint, json: { kind: "uint" }, value: 4294967295, hex: "ffffffff" },
    { name: "hyper", built: xdr.hyper, json: { kind: "hyper" }, value: -2n, hex: "ffffffff fffffffe" },
    { name: "uhyper", built: xdr.uhyper, json: { kind: "uhyper" }, value: 2n ** 64n - 1n, hex: "ffffffff ffffffff" },
    { name: "float", built: xdr.float, json: { kind: "float" }, value: 1.5, hex: "3fc00000" },
    { name: "double", built: xdr.double, json: { kind: "double" }, value: -2.5, hex: "c0040000 00000000" },
    { name: "bool", built: xdr.bool, json: { kind: "bool" }, value: true, hex: "00000001" },
    { name: "void", built: xdr.void, json: { kind: "void" }, value: undefined, hex: "" },
    {
      name: "enum",
      built: color,
      json: { kind: "enum", name: "color", values: { RED: 0, GREEN: 1, BLUE: 2 } },
      value: 2,
      hex: "00000002",
    },
    {
      name: "fixed opaque",
      built: xdr.opaque(3),
      json: { kind: "opaque", fixed: 3 },
      value: Uint8Array.of(1, 2, 3),
      hex: "01020300",
    },
    {
      name: "variable opaque with a maximum",
      built: xdr.varOpaque(8),
      json: { kind: "opaque", max: 8 },
      value: Uint8Array.of(0xff),
      hex: "00000001 ff000000",
    },
    {
      name: "variable opaque",
      built: xdr.varOpaque(),
      json: { kind: "opaque" },
      value: new Uint8Array(0),
      hex: "00000000",
    },
    {
      name: "string with a maximum",
      built: xdr.string(5),
      json: { kind: "string", max: 5 },
      value: "ab",
      hex: "00000002 61620000",
    },
    { name: "string", built: xdr.string(), json: { kind: "string" }, value: "abcd", hex: "00000004 61626364" },
    {
      name: "fixed array",
      built: xdr.array(xdr.int, 2),
      json: { kind: "array", of: { kind: "int" }, fixed: 2 },
      value: [1, 2],
      hex: "00000001 00000002",
    },
    {
      name: "variable array with a maximum",
      built: xdr.varArray(xdr.bool, 3),
      json: { kind: "array", of: { kind: "bool" }, max: 3 },
      value: [false, true],
      hex: "00000002 00000000 00000001",
    },
    {
      name: "variable array",
      built: xdr.varArray(xdr.string()),
      json: { kind: "array", of: { kind: "string" } },
      value: ["a"],
      hex: "00000001 00000001 61000000",
    },
    {
      name: "struct",
      built: point,
      json: {
        kind: "struct",
        name: "point",
        fields: [
          ["x", { kind: "int" }],
          ["y", { kind: "int" }],
        ],
      },
      value: { x: 1, y: -2 },
      hex: "00000001 fffffffe",
    },
    {
      name: "union with a default",
      built: shape,
      json: {
        kind: "union",
        name: "shape",
        discriminant: { name: "kind", type: { kind: "int" } },
        arms: [
          { cases: [1], name: "circle", type: { kind: "struct", name: "circle", fields: [["r", { kind: "int" }]] } },
          { cases: [2, 3], name: "side", type: { kind: "uint" } },
          { cases: [4], type: { kind: "void" } },
        ],
        default: { name: "other", type: { kind: "string" } },
      },
      value: { kind: 3, side: 7 },
      hex: "00000003 00000007",
    },
    {
      name: "union without a default",
      built: result,
      json: {
        kind: "union",
        name: "result",
        discriminant: { name: "ok", type: { kind: "bool" } },
        arms: [
          { cases: [1], name: "value", type: { kind: "int" } },
          { cases: [0], type: { kind: "void" } },
        ],
      },
      value: { ok: true, value: 42 },
      hex: "00000001 0000002a",
    },
    {
      name: "optional",
      built: xdr.optional(point),
      json: {
        kind: "optional",
        of: {
          kind: "struct",
          name: "point",
          fields: [
            ["x", { kind: "int" }],
            ["y", { kind: "int" }],
          ],
        },
      },
      value: { x: 1, y: 2 },
      hex: "00000001 00000001 00000002",
    },
  ];
  for (const c of cases) {
    test(`${c.name}: the builder's descriptor is the documented plain data and behaves as it`, () => {
      assert.ok(Object.isFrozen(c.built), "a descriptor is frozen");
      assert.deepEqual(JSON.parse(JSON.stringify(c.built)), c.json);
      const plain = c.json as XdrType;
      encodesTo(c.built, c.value, c.hex);
      encodesTo(plain, c.value, c.hex);
      assert.deepEqual(norm(decodeXdr(c.built, fromHex(c.hex))), norm(c.value));
      assert.deepEqual(norm(decodeXdr(plain, fromHex(c.hex))), norm(c.value));
    });
  }
  test("lazy is a descriptor with a kind and a getter", () => {
    const t = xdr.lazy(() => xdr.int);
    assert.equal((t as { kind: string }).kind, "lazy");
    assert.equal(typeof (t as unknown as { get: unknown }).get, "function");
    encodesTo(t, 7, "00000007");
    assert.equal(decodeXdr(t, fromHex("00000007")), 7);
  });
});

describe("encoding refuses what does not fit, with internal", () => {
  const refusals: [string, XdrType, unknown][] = [
    ["int 2^31", xdr.int, 2 ** 31],
    ["int -2^31-1", xdr.int, -(2 ** 31) - 1],
    ["int 1.5", xdr.int, 1.5],
    ["int NaN", xdr.int, Number.NaN],
    ["int Infinity", xdr.int, Number.POSITIVE_INFINITY],
    ["int given a string", xdr.int, "1"],
    ["int given a bigint", xdr.int, 1n],
    ["uint -1", xdr.uint, -1],
    ["uint 2^32", xdr.uint, 2 ** 32],
    ["uint 0.5", xdr.uint, 0.5],
    ["hyper given a number", xdr.hyper, 1],
    ["hyper given a string", xdr.hyper, "1"],
    ["hyper 2^63", xdr.hyper, 2n ** 63n],
    ["hyper -2^63-1", xdr.hyper, -(2n ** 63n) - 1n],
    ["uhyper -1", xdr.uhyper, -1n],
    ["uhyper 2^64", xdr.uhyper, 2n ** 64n],
    ["uhyper given a number", xdr.uhyper, 5],
    ["float given a string", xdr.float, "1.5"],
    ["double given a bigint", xdr.double, 1n],
    ["bool given 1", xdr.bool, 1],
    ["bool given null", xdr.bool, null],
    ["enum undeclared value", color, 7],
    ["enum non-integer", color, 0.5],
    ["string over its maximum", xdr.string(3), "abcd"],
    ["string over its maximum in bytes, not characters", xdr.string(2), "aé"],
    ["string given bytes", xdr.string(), Uint8Array.of(0x61)],
    ["fixed opaque too short", xdr.opaque(4), Uint8Array.of(1, 2, 3)],
    ["fixed opaque too long", xdr.opaque(4), Uint8Array.of(1, 2, 3, 4, 5)],
    ["variable opaque over its maximum", xdr.varOpaque(2), Uint8Array.of(1, 2, 3)],
    ["opaque given an array of numbers", xdr.varOpaque(), [1, 2, 3]],
    ["opaque given a string", xdr.varOpaque(), "AQID"],
    ["fixed array too short", xdr.array(xdr.int, 3), [1, 2]],
    ["variable array over its maximum", xdr.varArray(xdr.int, 1), [1, 2]],
    ["array given an object", xdr.varArray(xdr.int), { 0: 1, length: 1 }],
    ["struct missing a field", point, { x: 1 }],
    ["struct field undefined", point, { x: 1, y: undefined }],
    ["struct given null", point, null],
    ["struct given an array", point, [1, 2]],
    ["union discriminant without arm or default", paint, { color: 2 }],
    ["union discriminant not declared by its enum", paint, { color: 9 }],
    ["union discriminant missing", shape, { circle: { r: 1 } }],
    ["union arm value missing", shape, { kind: 1 }],
    ["union arm value of the wrong type", shape, { kind: 2, side: -1 }],
    ["optional of the wrong type", xdr.optional(xdr.int), "x"],
  ];
  for (const [name, type, value] of refusals) {
    test(name, () => {
      assert.throws(() => encodeXdr(type, value), internal);
    });
  }
  test("the refusal names the path to the value", () => {
    const order = xdr.struct("order", [["items", xdr.varArray(xdr.struct("item", [["id", xdr.int]]))]]);
    assert.throws(
      () => encodeXdr(order, { items: [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 1.5 }] }),
      rpcError(Code.Internal, /^cannot encode value as xdr: .*\.items\[3\]\.id/),
    );
  });
  test("void takes undefined or null", () => {
    encodesTo(xdr.void, undefined, "");
    encodesTo(xdr.void, null, "");
  });
  test("-0 is the integer 0", () => {
    encodesTo(xdr.int, -0, "00000000");
    encodesTo(xdr.uint, -0, "00000000");
  });
});

describe("float and double", () => {
  test("a float is rounded to single precision", () => {
    encodesTo(xdr.float, 0.1, "3dcccccd");
    assert.equal(decodeXdr(xdr.float, fromHex("3dcccccd")), Math.fround(0.1));
  });
  test("infinities and NaN pass through the binary encoding", () => {
    encodesTo(xdr.float, Number.POSITIVE_INFINITY, "7f800000");
    encodesTo(xdr.float, Number.NEGATIVE_INFINITY, "ff800000");
    encodesTo(xdr.double, Number.POSITIVE_INFINITY, "7ff00000 00000000");
    assert.equal(decodeXdr(xdr.float, fromHex("ff800000")), Number.NEGATIVE_INFINITY);
    assert.ok(Number.isNaN(decodeXdr(xdr.float, fromHex("7fc00000"))));
    assert.ok(Number.isNaN(decodeXdr(xdr.double, fromHex("7ff80000 00000000"))));
    assert.ok(Number.isNaN(decodeXdr(xdr.double, encodeXdr(xdr.double, Number.NaN))));
    assert.ok(Number.isNaN(decodeXdr(xdr.float, encodeXdr(xdr.float, Number.NaN))));
  });
  test("-0 keeps its sign", () => {
    assert.ok(Object.is(decodeXdr(xdr.float, fromHex("80000000")), -0));
    assert.ok(Object.is(decodeXdr(xdr.double, fromHex("80000000 00000000")), -0));
  });
});

describe("quadruple is unimplemented", () => {
  const unimplemented = rpcError(Code.Unimplemented);
  test("encoding", () => {
    assert.throws(() => encodeXdr(xdr.quadruple, 1), unimplemented);
    assert.throws(() => encodeXdr({ kind: "quadruple" } as XdrType, 0), unimplemented);
  });
  test("decoding", () => {
    assert.throws(() => decodeXdr(xdr.quadruple, new Uint8Array(16)), unimplemented);
    assert.throws(
      () => decodeXdr({ kind: "quadruple" } as XdrType, fromHex("3fff0000 00000000 00000000 00000000")),
      unimplemented,
    );
  });
});

describe("JavaScript values", () => {
  test("hyper and unsigned hyper are bigint", () => {
    assert.equal(decodeXdr(xdr.hyper, fromHex("00000000 00000001")), 1n);
    assert.equal(decodeXdr(xdr.hyper, fromHex("80000000 00000000")), -(2n ** 63n));
    assert.equal(decodeXdr(xdr.uhyper, fromHex("ffffffff ffffffff")), 2n ** 64n - 1n);
    assert.equal(typeof decodeXdr(xdr.uhyper, fromHex("00000000 00000000")), "bigint");
  });
  test("int, unsigned int and enum are numbers", () => {
    assert.equal(decodeXdr(xdr.int, fromHex("80000000")), -2147483648);
    assert.equal(decodeXdr(xdr.uint, fromHex("80000000")), 2147483648);
    assert.equal(decodeXdr(color, fromHex("00000002")), 2);
  });
  test("opaque is a Uint8Array", () => {
    const fixed = decodeXdr(xdr.opaque(3), fromHex("01020300"));
    assert.ok(fixed instanceof Uint8Array);
    assert.deepEqual([...fixed], [1, 2, 3]);
    const variable = decodeXdr(xdr.varOpaque(), fromHex("00000002 abcd0000"));
    assert.ok(variable instanceof Uint8Array);
    assert.deepEqual([...variable], [0xab, 0xcd]);
    const empty = decodeXdr(xdr.varOpaque(), fromHex("00000000"));
    assert.ok(empty instanceof Uint8Array);
    assert.equal(empty.length, 0);
  });
  test("void decodes to undefined", () => {
    assert.equal(decodeXdr(xdr.void, new Uint8Array(0)), undefined);
  });
  test("a union is its discriminant and, unless the arm is void, the arm's field", () => {
    assert.deepEqual(norm(decodeXdr(shape, fromHex("00000001 00000002"))), { kind: 1, circle: { r: 2 } });
    const voidArm = decodeXdr(shape, fromHex("00000004")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(voidArm), ["kind"]);
    assert.equal(voidArm.kind, 4);
    assert.deepEqual(norm(decodeXdr(shape, fromHex("00000063 00000001 7a000000"))), { kind: 99, other: "z" });
    assert.deepEqual(norm(decodeXdr(paint, fromHex("00000000 00000005"))), { color: 0, red: 5 });
    assert.deepEqual(norm(decodeXdr(result, fromHex("00000001 0000002a"))), { ok: true, value: 42 });
    assert.deepEqual(norm(decodeXdr(result, fromHex("00000000"))), { ok: false });
    encodesTo(result, { ok: false }, "00000000");
  });
  test("optional data is null or the value", () => {
    assert.equal(decodeXdr(xdr.optional(xdr.int), fromHex("00000000")), null);
    assert.deepEqual(norm(decodeXdr(xdr.optional(point), fromHex("00000001 00000001 00000002"))), { x: 1, y: 2 });
    encodesTo(xdr.optional(xdr.int), null, "00000000");
  });
  test("a string is kept as sent, a leading U+FEFF included", () => {
    assert.equal(decodeXdr(xdr.string(), fromHex("00000004 efbbbf61")), "\ufeffa");
    encodesTo(xdr.string(), "\ufeffa", "00000004 efbbbf61");
  });
  test("bytes that are a view into a larger buffer are read from the view", () => {
    const whole = fromHex("ffffff 00000001 00000002 ee");
    assert.deepEqual(norm(decodeXdr(point, whole.subarray(3, 11))), { x: 1, y: 2 });
    assert.deepEqual(norm(decodeXdr(point, Buffer.from(whole.buffer, 3, 8))), { x: 1, y: 2 });
  });
  test("xdrCodec is the same pair behind the Codec interface", () => {
    const value = { kind: 9, other: "hi" };
    const bytes = xdrCodec.encode(value, shape);
    assert.equal(toHex(bytes), clean("00000009 00000002 68690000"));
    assert.deepEqual(norm(xdrCodec.decode(bytes, 64, shape)), value);
    assert.deepEqual(
      norm(xdrCodec.decode(bytes, { maxDepth: 64, maxKeys: 10_000 }, shape)),
      norm(decodeXdr(shape, bytes)),
    );
    assert.throws(() => xdrCodec.decode(fromHex("00000009 00000002 68690001"), 64, shape), invalidArgument);
  });
});

describe("the JSON mapping", () => {
  test("hyper is a decimal string; a safe-integer number is accepted", () => {
    assert.equal(xdrToJson(xdr.hyper, -9007199254740993n), "-9007199254740993");
    assert.equal(xdrToJson(xdr.uhyper, 2n ** 64n - 1n), "18446744073709551615");
    assert.equal(xdrFromJson(xdr.hyper, "-9007199254740993"), -9007199254740993n);
    assert.equal(xdrFromJson(xdr.hyper, 5), 5n);
    assert.equal(xdrFromJson(xdr.hyper, -9007199254740991), -9007199254740991n);
    assert.equal(xdrFromJson(xdr.uhyper, 9007199254740991), 9007199254740991n);
  });
  describe("hyper refuses what is not a decimal integer in range", () => {
    const refused: [XdrType, unknown][] = [
      [xdr.hyper, 2 ** 53],
      [xdr.hyper, 1.5],
      [xdr.hyper, "1.5"],
      [xdr.hyper, "12x"],
      [xdr.hyper, ""],
      [xdr.hyper, "0x10"],
      [xdr.hyper, "1e3"],
      [xdr.hyper, "9223372036854775808"],
      [xdr.hyper, "-9223372036854775809"],
      [xdr.hyper, true],
      [xdr.hyper, null],
      [xdr.uhyper, "-1"],
      [xdr.uhyper, -1],
      [xdr.uhyper, "18446744073709551616"],
    ];
    for (const [type, json] of refused) {
      test(`${(type as { kind: string }).kind} ${JSON.stringify(json)}`, () => {
        assert.throws(() => xdrFromJson(type, json), invalidArgument);
      });
    }
  });
  test("an enum is its name; its number is accepted too", () => {
    assert.equal(xdrToJson(color, 2), "BLUE");
    assert.equal(xdrFromJson(color, "GREEN"), 1);
    assert.equal(xdrFromJson(color, 1), 1);
    assert.equal(xdrFromJson(color, 0), 0);
  });
  describe("an enum refuses names and numbers it does not declare", () => {
    for (const json of ["PURPLE", "green", 7, -1, 1.5, "toString", "__proto__", "constructor", null, true]) {
      test(JSON.stringify(json), () => {
        assert.throws(() => xdrFromJson(color, json), invalidArgument);
      });
    }
  });
  test("opaque is base64 with padding", () => {
    assert.equal(xdrToJson(xdr.varOpaque(), Uint8Array.of(0xde, 0xad, 0xbe, 0xef)), "3q2+7w==");
    assert.equal(xdrToJson(xdr.opaque(1), Uint8Array.of(0xff)), "/w==");
    const bytes = xdrFromJson(xdr.varOpaque(), "3q2+7w==");
    assert.ok(bytes instanceof Uint8Array);
    assert.deepEqual([...bytes], [0xde, 0xad, 0xbe, 0xef]);
    assert.deepEqual([...(xdrFromJson(xdr.varOpaque(), "") as Uint8Array)], []);
  });
  describe("bad base64 and wrong lengths are refused", () => {
    const refused: [XdrType, unknown][] = [
      [xdr.varOpaque(), "@@@@"],
      [xdr.varOpaque(), "A"],
      [xdr.varOpaque(), "AQ="],
      [xdr.varOpaque(), "A==="],
      [xdr.varOpaque(), "3q2+7w==3q2+"],
      [xdr.varOpaque(), [1, 2, 3]],
      [xdr.varOpaque(), 5],
      [xdr.varOpaque(), null],
      [xdr.opaque(2), "AQID"],
      [xdr.varOpaque(2), "AQID"],
    ];
    for (const [type, json] of refused) {
      test(`${JSON.stringify(type)} ${JSON.stringify(json)}`, () => {
        assert.throws(() => xdrFromJson(type, json), invalidArgument);
      });
    }
  });
  describe("values of the wrong type are refused", () => {
    const refused: [string, XdrType, unknown][] = [
      ["int given a string", xdr.int, "1"],
      ["int given 1.5", xdr.int, 1.5],
      ["int out of range", xdr.int, 2 ** 31],
      ["int given null", xdr.int, null],
      ["uint -1", xdr.uint, -1],
      ["float given a string", xdr.float, "1.5"],
      ["double given a boolean", xdr.double, false],
      ["bool given 1", xdr.bool, 1],
      ["bool given a string", xdr.bool, "true"],
      ["string given a number", xdr.string(), 5],
      ["string over its maximum", xdr.string(2), "abc"],
      ["array given an object", xdr.varArray(xdr.int), { 0: 1 }],
      ["fixed array of the wrong length", xdr.array(xdr.int, 2), [1]],
      ["variable array over its maximum", xdr.varArray(xdr.int, 1), [1, 2]],
      ["struct given an array", point, [1, 2]],
      ["struct given null", point, null],
      ["struct missing a field", point, { x: 1 }],
      ["union discriminant without arm", paint, { color: "BLUE" }],
      ["union discriminant missing", shape, { circle: { r: 1 } }],
      ["union discriminant not in its enum", paint, { color: "PURPLE" }],
      ["union arm missing", shape, { kind: 1 }],
      ["optional of the wrong type", xdr.optional(xdr.int), "1"],
    ];
    for (const [name, type, json] of refused) {
      test(name, () => {
        assert.throws(() => xdrFromJson(type, json), invalidArgument);
      });
    }
  });
  test("the refusal names the path to the value", () => {
    const line = xdr.struct("line", [["points", xdr.varArray(point)]]);
    assert.throws(
      () =>
        xdrFromJson(line, {
          points: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
            { x: "a", y: 2 },
          ],
        }),
      (err: unknown) => {
        assert.ok(err instanceof RpcError);
        assert.equal(err.code, Code.InvalidArgument);
        assert.ok(err.rawMessage.includes(".points[2].x"), err.rawMessage);
        return true;
      },
    );
  });
  test("unions, optional data and void", () => {
    assert.deepEqual(xdrToJson(paint, { color: 0, red: 5 }), { color: "RED", red: 5 });
    assert.deepEqual(norm(xdrFromJson(paint, { color: "RED", red: 5 })), { color: 0, red: 5 });
    assert.deepEqual(norm(xdrFromJson(paint, { color: 0, red: 5 })), { color: 0, red: 5 });
    assert.deepEqual(xdrToJson(result, { ok: true, value: 1 }), { ok: true, value: 1 });
    assert.equal(xdrToJson(xdr.optional(xdr.int), null), null);
    assert.equal(xdrFromJson(xdr.optional(xdr.int), null), null);
    assert.equal(xdrToJson(xdr.void, undefined), null);
    assert.equal(xdrFromJson(xdr.void, null), undefined);
  });
});

/** A linked list of `n` nodes holding 1…n. */
function list(n: number): unknown {
  let next: unknown = null;
  for (let i = n; i >= 1; i--) next = { value: i, next };
  return next;
}

describe("depth", () => {
  test("a linked list of n nodes is 2n levels deep", () => {
    const bytes = encodeXdr(intList, list(3));
    assert.equal(toHex(bytes), clean("00000001 00000001 00000002 00000001 00000003 00000000"));
    assert.deepEqual(norm(decodeXdr(intList, bytes, { maxDepth: 7, maxKeys: 10_000 })), list(3));
    assert.throws(() => decodeXdr(intList, bytes, { maxDepth: 4, maxKeys: 10_000 }), invalidArgument);
    const ten = encodeXdr(intList, list(10));
    assert.deepEqual(norm(decodeXdr(intList, ten, 21)), list(10));
    assert.throws(() => decodeXdr(intList, ten, 18), invalidArgument);
  });
  test("the ONC RPC limit of 1024 levels decodes a list of 500 nodes", () => {
    const bytes = encodeXdr(intList, list(500));
    assert.equal(bytes.length, 500 * 8);
    assert.deepEqual(norm(decodeXdr(intList, bytes, { maxDepth: 1024, maxKeys: 10_000 })), list(500));
  });
  test("a list far deeper than the limit is refused, not a stack overflow", () => {
    const bytes = encodeXdr(intList, list(600));
    assert.throws(() => decodeXdr(intList, bytes), invalidArgument);
    assert.throws(() => decodeXdr(intList, bytes, { maxDepth: 1024, maxKeys: 10_000 }), invalidArgument);
    // 100,000 nodes, written directly: 1, value, 1, value, …, 0.
    const words = new Uint8Array(100_000 * 8);
    const view = new DataView(words.buffer);
    for (let i = 0; i < 100_000; i++) {
      view.setUint32(i * 8, i);
      view.setUint32(i * 8 + 4, i === 99_999 ? 0 : 1);
    }
    assert.throws(() => decodeXdr(intList, words), invalidArgument);
  });
  test("short lists decode with the default limits", () => {
    assert.deepEqual(norm(decodeXdr(intList, encodeXdr(intList, list(20)))), list(20));
  });
});

describe("declared lengths never size memory", () => {
  function refusedCheaply(type: XdrType, hex: string): void {
    const bytes = fromHex(hex);
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    assert.throws(() => decodeXdr(type, bytes), invalidArgument);
    const elapsed = performance.now() - started;
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(elapsed < 200, `took ${elapsed} ms`);
    assert.ok(grown < 1 << 20, `array buffers grew by ${grown} bytes`);
  }
  test("opaque of declared length 0x7ffffff0 with 8 bytes present", () => {
    refusedCheaply({ kind: "opaque" } as XdrType, "7ffffff0 00000000 00000000");
  });
  test("string of declared length 0x7ffffff0 with 8 bytes present", () => {
    refusedCheaply({ kind: "string" } as XdrType, "7ffffff0 61616161 61616161");
  });
  test("array of declared count 0x7ffffff0 with 8 bytes present", () => {
    refusedCheaply({ kind: "array", of: { kind: "hyper" } } as XdrType, "7ffffff0 00000000 00000000");
  });
  test("opaque of declared length 0xfffffffc within a large maximum", () => {
    refusedCheaply(xdr.varOpaque(0xffffffff), "fffffffc 00000000");
  });
});
