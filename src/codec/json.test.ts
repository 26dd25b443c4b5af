import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromHex, loadVectors } from "../../test/bytes.js";
import { Code, codeFromString } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { fromBase64 } from "./base64.js";
import { fromJsonText, jsonCodec } from "./json.js";

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

    test("a text with few brackets (skipped scan) and one with many (full scan) agree", () => {
      // At most maxDepth brackets in all cannot nest deeper; past that every character is scanned.
      const few = '{"a":[1,{"b":"[[[["}]}';
      assert.deepEqual(jsonCodec.decode(utf8.encode(few), 3), { a: [1, { b: "[[[[" }] });
      assertRejects(() => jsonCodec.decode(utf8.encode(few), 2), Code.InvalidArgument);
      const padded = `{"a":[1,{"b":"${"{".repeat(100)}"}]}`;
      assert.equal((jsonCodec.decode(utf8.encode(padded), 3) as { a: [number, { b: string }] }).a[1].b.length, 100);
      assertRejects(() => jsonCodec.decode(utf8.encode(padded), 2), Code.InvalidArgument);
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

  describe("maxKeys", () => {
    /** An object of `n` members `"k0":0 … "k<n-1>":0`. */
    const object = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(",")}}`;
    const limits = (maxKeys: number) => ({ maxDepth: 64, maxKeys });

    function rejectsKeys(text: string, maxKeys: number | undefined, message: string): void {
      assert.throws(
        () => fromJsonText(text, maxKeys === undefined ? 64 : limits(maxKeys)),
        (err: unknown) => {
          assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
          assert.equal(err.code, Code.InvalidArgument);
          assert.equal(err.rawMessage, message);
          return true;
        },
      );
    }

    // Regression: nothing bounded the keys of one object; 200,000 of them (2.3 MB) were parsed and
    // handed to the handler, stalling the event loop 430-510 ms through a server.
    test("an object of 200,000 keys is refused under the default maxKeys, without parsing it", () => {
      const text = object(200_000);
      const started = performance.now();
      rejectsKeys(text, undefined, "object with 200000 keys exceeds maxKeys 10000");
      // The scan is one pass over 2.3 MB; parsing the object took 175 ms at best here.
      assert.ok(performance.now() - started < 1_000);
      assert.equal(Object.keys(fromJsonText(object(10_000), 64) as object).length, 10_000);
    });

    test("exactly maxKeys members pass and one more is refused", () => {
      for (const max of [1, 2, 3, 10, 100]) {
        assert.equal(Object.keys(fromJsonText(object(max), limits(max)) as object).length, max);
        rejectsKeys(object(max + 1), max, `object with ${max + 1} keys exceeds maxKeys ${max}`);
      }
    });

    test("jsonCodec.decode, given a bare maxDepth, applies the default maxKeys", () => {
      assertRejects(() => jsonCodec.decode(utf8.encode(object(10_001)), 64), Code.InvalidArgument);
      assert.doesNotThrow(() => jsonCodec.decode(utf8.encode(object(10_000)), 64));
    });

    // The scan is skipped for texts too short to hold maxKeys + 1 members: the shortest such
    // object, all keys "" and values 0, must still be caught (members are counted as written, so
    // repeats of one key count, though JSON.parse would keep one).
    test("the shortest object over the limit is caught: the length shortcut is exact", () => {
      for (let max = 1; max <= 30; max++) {
        const shortest = `{${Array(max + 1)
          .fill('"":0')
          .join(",")}}`;
        assert.equal(shortest.length, 5 * (max + 1) + 1);
        rejectsKeys(shortest, max, `object with ${max + 1} keys exceeds maxKeys ${max}`);
        assert.deepEqual(fromJsonText(shortest.replace('"":0,', ""), limits(max)), { "": 0 });
      }
    });

    test("each object is counted on its own, at any depth, and the count is the whole object's", () => {
      const many = `[${Array(50).fill('{"a":1,"b":{"c":2,"d":3},"e":[{"f":4,"g":5}]}').join(",")}]`;
      assert.equal((fromJsonText(many, limits(3)) as unknown[]).length, 50);
      rejectsKeys(`{"a":${object(7)},"b":1}`, 3, "object with 7 keys exceeds maxKeys 3");
      rejectsKeys(`[1,[2,${object(5)}]]`, 4, "object with 5 keys exceeds maxKeys 4");
      // An object still open when the text ends is reported with what was counted.
      rejectsKeys(object(9).slice(0, -1), 3, "object with 9 keys exceeds maxKeys 3");
    });

    test("colons inside strings, escaped quotes included, are not members", () => {
      const text = '{"a:b:c:d:e:f":"x:y:\\":z:w:\\"","g":"::::::::"}';
      assert.deepEqual(fromJsonText(text, limits(2)), { "a:b:c:d:e:f": 'x:y:":z:w:"', g: "::::::::" });
      rejectsKeys(text, 1, "object with 2 keys exceeds maxKeys 1");
      // A string ending in an escaped backslash closes at the next quote.
      const backslashes = '{"p\\\\":"q\\\\","r":":","s":1}';
      assert.deepEqual(fromJsonText(backslashes, limits(3)), { "p\\": "q\\", r: ":", s: 1 });
      rejectsKeys(backslashes, 2, "object with 3 keys exceeds maxKeys 2");
    });

    test("maxDepth is still enforced when the key scan runs", () => {
      const deep = `${"[".repeat(65)}${object(3)}${"]".repeat(65)}`;
      assert.ok(deep.length > 5 * 2 + 5);
      assertRejects(() => fromJsonText(deep, limits(2)), Code.InvalidArgument);
      assert.doesNotThrow(() => fromJsonText(`${"[".repeat(60)}${object(2)}${"]".repeat(60)}`, limits(2)));
    });
  });
});
