import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromHex, loadVectors } from "../../test/bytes.js";
import { Code, codeFromString } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { fromBase64 } from "./base64.js";
import { jsonCodec } from "./json.js";

interface ValidVector {
  name: string;
  text: string;
  value: unknown;
  canonical?: boolean;
}
interface InvalidVector {
  name: string;
  hex?: string;
  text?: string;
  code: string;
  maxDepth?: number;
}

/** Turns the vector notation {"$bytes": base64} into Uint8Array, recursively. */
function expected(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expected);
  if (typeof value === "object" && value !== null) {
    const rec = value as Record<string, unknown>;
    const keys = Object.keys(rec);
    if (keys.length === 1 && typeof rec.$bytes === "string") return fromBase64(rec.$bytes);
    return Object.fromEntries(keys.map((k) => [k, expected(rec[k])]));
  }
  return value;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

function assertRejects(fn: () => unknown, code: Code): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

function nested(depth: number, open: string, close: string, inner: string): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

describe("jsonCodec", () => {
  test("has name json", () => {
    assert.equal(jsonCodec.name, "json");
  });

  describe("valid vectors", () => {
    for (const v of loadVectors<ValidVector>("json/valid.json")) {
      test(v.name, () => {
        const want = expected(v.value);
        assert.deepEqual(jsonCodec.decode(utf8.encode(v.text), 64), want);
        assert.deepEqual(jsonCodec.decode(jsonCodec.encode(want), 64), want);
        if (v.canonical === true) assert.equal(text.decode(jsonCodec.encode(want)), v.text);
      });
    }
  });

  describe("invalid vectors", () => {
    for (const v of loadVectors<InvalidVector>("json/invalid.json")) {
      test(v.name, () => {
        const bytes = v.hex !== undefined ? fromHex(v.hex) : utf8.encode(v.text ?? "");
        assertRejects(() => jsonCodec.decode(bytes, v.maxDepth ?? 64), codeFromString(v.code));
      });
    }
  });

  test("round-trips nested values with bytes, unicode, booleans and null", () => {
    const value = {
      n: [0, -1, 1.25, 2 ** 53 - 1, -(2 ** 31)],
      s: 'ünïcødé 日本語 🎉 \u0000 \n "quoted"',
      b: [true, false, null],
      bytes: new Uint8Array([0, 1, 254, 255]),
      deep: { list: [{ raw: new Uint8Array(0) }, [new Uint8Array([7])]] },
    };
    assert.deepEqual(jsonCodec.decode(jsonCodec.encode(value), 64), value);
  });

  test("carries bytes as {$bytes: base64}", () => {
    const wire = text.decode(jsonCodec.encode({ a: new Uint8Array([1, 2, 3]) }));
    assert.equal(wire, '{"a":{"$bytes":"AQID"}}');
    assert.equal(text.decode(jsonCodec.encode(new Uint8Array([255]))), '{"$bytes":"/w=="}');
  });

  test("encodes a Buffer as $bytes, not as Buffer.toJSON", () => {
    // Buffer is a Uint8Array subclass whose toJSON would otherwise win.
    const wire = text.decode(jsonCodec.encode({ a: Buffer.from([1, 2, 3]) }));
    assert.equal(wire, '{"a":{"$bytes":"AQID"}}');
  });

  test("decoded bytes are a Uint8Array", () => {
    const v = jsonCodec.decode(utf8.encode('{"$bytes":"AAEC"}'), 64);
    assert.ok(v instanceof Uint8Array);
    assert.deepEqual(Array.from(v), [0, 1, 2]);
  });

  test("drops undefined fields", () => {
    assert.equal(text.decode(jsonCodec.encode({ a: 1, b: undefined })), '{"a":1}');
  });

  test("encode failures are Internal", () => {
    assertRejects(() => jsonCodec.encode(10n), Code.Internal);
    assertRejects(() => jsonCodec.encode(undefined), Code.Internal);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assertRejects(() => jsonCodec.encode(cyclic), Code.Internal);
  });

  describe("maxDepth", () => {
    for (const [open, close] of [
      ["[", "]"],
      ['{"a":', "}"],
    ] as const) {
      test(`${open}…${close} nested exactly maxDepth deep passes`, () => {
        for (const max of [1, 2, 10, 64]) {
          const input = nested(max, open, close, "1");
          assert.doesNotThrow(() => jsonCodec.decode(utf8.encode(input), max), `depth ${max}`);
        }
      });
      test(`${open}…${close} nested maxDepth + 1 deep is rejected`, () => {
        for (const max of [1, 2, 10, 64]) {
          const input = nested(max + 1, open, close, "1");
          assertRejects(() => jsonCodec.decode(utf8.encode(input), max), Code.InvalidArgument);
        }
      });
    }

    test("the depth limit applies to empty containers too", () => {
      assert.doesNotThrow(() => jsonCodec.decode(utf8.encode("[[]]"), 2));
      assertRejects(() => jsonCodec.decode(utf8.encode("[[]]"), 1), Code.InvalidArgument);
    });

    test("brackets inside strings and escaped quotes do not count", () => {
      const input = '["[[[[[\\"[[[[", {"{{{{": "}}}}]]]]"}]';
      assert.deepEqual(jsonCodec.decode(utf8.encode(input), 2), ['[[[[["[[[[', { "{{{{": "}}}}]]]]" }]);
    });

    test("100,000 levels of nesting fail fast without overflowing the stack", () => {
      const input = utf8.encode("[".repeat(100_000) + "]".repeat(100_000));
      const started = performance.now();
      assertRejects(() => jsonCodec.decode(input, 64), Code.InvalidArgument);
      assert.ok(performance.now() - started < 1_000);
    });
  });

  describe("__proto__", () => {
    test("a __proto__ key is rejected and pollutes nothing", () => {
      assertRejects(() => jsonCodec.decode(utf8.encode('{"__proto__":{"polluted":true}}'), 64), Code.InvalidArgument);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getOwnPropertyNames(Object.prototype).includes("polluted"), false);
    });

    // Regression: the reviver only runs when the text contains the literal `__proto__`, so a key
    // spelled with a JSON escape reaches JSON.parse unchecked and yields an own `__proto__` key.
    test("a __proto__ key spelled with a unicode escape is rejected", () => {
      const input = utf8.encode('{"\\u005f_proto__":{"polluted":true}}');
      assertRejects(() => jsonCodec.decode(input, 64), Code.InvalidArgument);
    });

    test("constructor and prototype keys are plain data", () => {
      const v = jsonCodec.decode(utf8.encode('{"constructor":{"prototype":{"polluted":1}}}'), 64) as Record<
        string,
        unknown
      >;
      assert.deepEqual(Object.keys(v), ["constructor"]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  });
});
