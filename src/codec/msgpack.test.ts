import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Packr } from "msgpackr";
import { fromHex, loadVectors, toHex } from "../../test/bytes.js";
import { Code, codeFromString } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { fromBase64 } from "./base64.js";
import { findCodec } from "./index.js";
import { jsonCodec } from "./json.js";
import { msgpackCodec } from "./msgpack.js";

interface ValidVector {
  name: string;
  hex: string;
  value: unknown;
  canonical?: boolean;
}
interface InvalidVector {
  name: string;
  hex: string;
  code: string;
  maxDepth?: number;
}

/** Vector notation to values: {"$bytes": b64} → Uint8Array, {"$bigint": s} → BigInt, {"$date": ms} → Date. */
function expected(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expected);
  if (typeof value === "object" && value !== null) {
    const rec = value as Record<string, unknown>;
    const keys = Object.keys(rec);
    if (keys.length === 1) {
      if (typeof rec.$bytes === "string") return fromBase64(rec.$bytes);
      if (typeof rec.$bigint === "string") return BigInt(rec.$bigint);
      if (typeof rec.$date === "number") return new Date(rec.$date);
    }
    return Object.fromEntries(keys.map((k) => [k, expected(rec[k])]));
  }
  return value;
}

/** msgpackr may hand back a Buffer for bin; compare bytes as plain Uint8Array. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function assertRejects(fn: () => unknown, code: Code): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** `depth` fixarrays of one element each around `inner`. */
function nestedArrays(depth: number, inner: number[]): Uint8Array {
  return Uint8Array.from([...new Array<number>(depth).fill(0x91), ...inner]);
}

/** `depth` single-pair fixmaps {"a": …} around `inner`. */
function nestedMaps(depth: number, inner: number[]): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < depth; i++) out.push(0x81, 0xa1, 0x61);
  return Uint8Array.from([...out, ...inner]);
}

describe("msgpackCodec", () => {
  test("has name msgpack, and both codecs are found by name", () => {
    assert.equal(msgpackCodec.name, "msgpack");
    assert.equal(findCodec("msgpack"), msgpackCodec);
    assert.equal(findCodec("json"), jsonCodec);
    assert.equal(findCodec("xdr"), undefined);
  });

  describe("valid vectors", () => {
    for (const v of loadVectors<ValidVector>("msgpack/valid.json")) {
      test(v.name, () => {
        const want = expected(v.value);
        assert.deepEqual(plain(msgpackCodec.decode(fromHex(v.hex), 64)), want);
        assert.deepEqual(plain(msgpackCodec.decode(msgpackCodec.encode(want), 64)), want);
        if (v.canonical === true) assert.equal(toHex(msgpackCodec.encode(want)), v.hex.replace(/\s+/g, ""));
      });
    }
  });

  describe("invalid vectors", () => {
    for (const v of loadVectors<InvalidVector>("msgpack/invalid.json")) {
      test(v.name, () => {
        assertRejects(() => msgpackCodec.decode(fromHex(v.hex), v.maxDepth ?? 64), codeFromString(v.code));
      });
    }
  });

  test("round-trips nested values with bytes, unicode, booleans and null", () => {
    const value = {
      n: [0, -1, 1.25, 2 ** 53 - 1, -(2 ** 31), 4294967296],
      s: "ünïcødé 日本語 🎉 \u0000",
      long: "x".repeat(70_000),
      b: [true, false, null],
      bytes: new Uint8Array([0, 1, 254, 255]),
      big: new Uint8Array(70_000).fill(9),
      deep: { list: [{ raw: new Uint8Array(0) }, [new Uint8Array([7])]] },
    };
    assert.deepEqual(plain(msgpackCodec.decode(msgpackCodec.encode(value), 64)), value);
  });

  test("integers beyond 2^53 decode as BigInt, smaller 64-bit ones as numbers", () => {
    assert.equal(msgpackCodec.decode(fromHex("cf0020000000000000"), 64), 2 ** 53);
    assert.equal(msgpackCodec.decode(fromHex("cf0020000000000001"), 64), 2n ** 53n + 1n);
    assert.equal(msgpackCodec.decode(fromHex("d38000000000000000"), 64), -(2n ** 63n));
  });

  test("encode failures are Internal", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assertRejects(() => msgpackCodec.encode(cyclic), Code.Internal);
  });

  describe("maxDepth", () => {
    test("arrays nested exactly maxDepth deep pass, one more is rejected", () => {
      for (const max of [1, 2, 10, 64]) {
        assert.doesNotThrow(() => msgpackCodec.decode(nestedArrays(max, [0x01]), max), `depth ${max}`);
        assertRejects(() => msgpackCodec.decode(nestedArrays(max + 1, [0x01]), max), Code.InvalidArgument);
      }
    });

    test("maps nested exactly maxDepth deep pass, one more is rejected", () => {
      for (const max of [1, 2, 10, 64]) {
        assert.doesNotThrow(() => msgpackCodec.decode(nestedMaps(max, [0x01]), max), `depth ${max}`);
        assertRejects(() => msgpackCodec.decode(nestedMaps(max + 1, [0x01]), max), Code.InvalidArgument);
      }
    });

    // Regression: the checker counts depth only when it pushes a non-empty container, so an empty
    // array or map one level past the limit is accepted, while jsonCodec rejects the same shape.
    test("an empty container one level past maxDepth is rejected, as in jsonCodec", () => {
      assert.doesNotThrow(() => msgpackCodec.decode(nestedArrays(1, [0x90]), 2));
      assertRejects(() => jsonCodec.decode(new TextEncoder().encode("[[]]"), 1), Code.InvalidArgument);
      assertRejects(() => msgpackCodec.decode(nestedArrays(1, [0x90]), 1), Code.InvalidArgument);
      assertRejects(() => msgpackCodec.decode(nestedMaps(2, [0x80]), 2), Code.InvalidArgument);
    });

    test("1,000,000 levels of nesting fail fast without overflowing the stack", () => {
      const input = nestedArrays(1_000_000, [0xc0]);
      const started = performance.now();
      assertRejects(() => msgpackCodec.decode(input, 64), Code.InvalidArgument);
      assert.ok(performance.now() - started < 1_000);
    });
  });

  describe("hostile lengths", () => {
    for (const hex of ["ddffffffff", "dfffffffff", "dbffffffff", "c6ffffffff", "c9ffffffffff"]) {
      test(`${hex} fails fast without allocating for the declared length`, () => {
        const before = process.memoryUsage().arrayBuffers;
        const started = performance.now();
        for (let i = 0; i < 1_000; i++)
          assertRejects(() => msgpackCodec.decode(fromHex(hex), 64), Code.InvalidArgument);
        assert.ok(performance.now() - started < 1_000, "1,000 rejections took over a second");
        assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, "allocated for the declared length");
      });
    }
  });

  describe("extensions", () => {
    test("msgpackr's error extension (0x65) is never instantiated", () => {
      // What msgpackr itself writes for an Error with default options.
      const bytes = new Packr({ moreTypes: true }).pack(new Error("boom"));
      assertRejects(() => msgpackCodec.decode(bytes, 64), Code.InvalidArgument);
    });

    test("msgpackr's regexp extension (0x78) is never instantiated", () => {
      const bytes = new Packr({ moreTypes: true }).pack(/a.b/g);
      assertRejects(() => msgpackCodec.decode(bytes, 64), Code.InvalidArgument);
    });

    test("msgpackr's records (0x72 definitions) are never honoured", () => {
      const bytes = new Packr({ useRecords: true }).pack({ a: 1, b: 2 });
      assertRejects(() => msgpackCodec.decode(bytes, 64), Code.InvalidArgument);
    });

    test("a timestamp (-1) decodes to a Date", () => {
      const v = msgpackCodec.decode(fromHex("d6ff00000001"), 64);
      assert.ok(v instanceof Date);
      assert.equal(v.getTime(), 1000);
    });
  });

  describe("__proto__", () => {
    test("a __proto__ map key is rejected and pollutes nothing", () => {
      const bytes = fromHex("81a95f5f70726f746f5f5f81a8706f6c6c75746564c3");
      assertRejects(() => msgpackCodec.decode(bytes, 64), Code.InvalidArgument);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getOwnPropertyNames(Object.prototype).includes("polluted"), false);
    });

    test("constructor and prototype keys are plain data", () => {
      // {"constructor": {"prototype": {"polluted": 1}}}
      const bytes = fromHex("81ab636f6e7374727563746f7281a970726f746f7479706581a8706f6c6c7574656401");
      const v = msgpackCodec.decode(bytes, 64) as Record<string, unknown>;
      assert.deepEqual(Object.keys(v), ["constructor"]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  });
});
