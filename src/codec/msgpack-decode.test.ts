import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromHex } from "../../test/bytes.js";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { decodeMsgpack } from "./msgpack-decode.js";

function rejects(hex: string, pattern: RegExp, maxDepth = 64): void {
  assert.throws(
    () => decodeMsgpack(fromHex(hex), maxDepth),
    (err: unknown) => {
      assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, pattern);
      return true;
    },
  );
}

const proto = "5f5f70726f746f5f5f"; // "__proto__"

describe("decodeMsgpack", () => {
  test("accepts one value of every non-extension format", () => {
    const ok = [
      "00",
      "7f",
      "e0",
      "c0",
      "c2",
      "c3",
      "cc01",
      "cd0102",
      "ce01020304",
      "cf0102030405060708",
      "d001",
      "d10102",
      "d201020304",
      "d30102030405060708",
      "ca3fc00000",
      "cb3ff8000000000000",
      "a3616263",
      "d903616263",
      "da0003616263",
      "db00000003616263",
      "c403010203",
      "c50003010203",
      "c600000003010203",
      "93010203",
      "dc0003010203",
      "dd00000003010203",
      "81a16101",
      "de0001a16101",
      "df00000001a16101",
      "d6ff00000000",
      "d7ff0000000000000000",
      "c70cff000000000000000000000000",
      "c8000cff000000000000000000000000",
      "c90000000cff000000000000000000000000",
    ];
    for (const hex of ok) assert.doesNotThrow(() => decodeMsgpack(fromHex(hex), 64), hex);
  });

  test("walks past the end of nested containers back to the parent", () => {
    // [[1, [2]], {"a": [3]}, 4]
    assert.doesNotThrow(() => decodeMsgpack(fromHex("93 92 01 91 02 81 a1 61 91 03 04"), 64));
    rejects("93 92 01 91 02 81 a1 61 91 03", /truncated/);
    rejects("93 92 01 91 02 81 a1 61 91 03 04 05", /1 bytes after the value/);
  });

  test("rejects truncation at every byte of a valid value", () => {
    const full = fromHex("93 92 cd0102 91 a3616263 81 a161 c403010203 cb3ff8000000000000");
    decodeMsgpack(full, 64);
    for (let n = 0; n < full.length; n++) {
      assert.throws(() => decodeMsgpack(full.subarray(0, n), 64), RpcError, `prefix of ${n} bytes`);
    }
  });

  test("a count larger than the bytes left is rejected before anything is walked", () => {
    rejects("dc0003 0102", /truncated/);
    rejects("de0002 a16101", /truncated/);
    rejects("ddffffffff", /truncated/);
    // (A map 32 declaring 4,294,967,295 entries now fails maxKeys first; see below.)
    rejects(`df00002710${"00".repeat(64)}`, /truncated/);
  });

  test("string and binary lengths are checked against the bytes left", () => {
    rejects("a5 68656c6c", /truncated/);
    rejects("dbffffffff 00", /truncated/);
    rejects("c6ffffffff 00", /truncated/);
    rejects("c5ffff 00", /truncated/);
  });

  test("0xc1 is an invalid byte", () => {
    rejects("c1", /invalid byte 0xc1/);
  });

  test("only the timestamp extension (-1) in its three sizes is accepted", () => {
    rejects("d4ff00", /extension/);
    rejects("d5ff0000", /extension/);
    rejects(`d8ff${"00".repeat(16)}`, /extension/);
    rejects("d60100000000", /extension/);
    rejects("d7650000000000000000", /extension/);
    rejects(`c70c78${"00".repeat(12)}`, /extension/);
    rejects("c704ff00000000", /extension/);
    rejects(`c8000cff${"00".repeat(11)}`, /truncated/);
  });

  test("__proto__ is rejected as a map key in every string format", () => {
    for (const key of [`a9${proto}`, `d909${proto}`, `da0009${proto}`, `db00000009${proto}`]) {
      rejects(`81 ${key} c0`, /__proto__/);
      rejects(`82 a161 01 ${key} c0`, /__proto__/);
      rejects(`91 91 81 ${key} c0`, /__proto__/);
    }
  });

  test("__proto__ as a map value or array element is allowed", () => {
    assert.doesNotThrow(() => decodeMsgpack(fromHex(`81 a161 a9${proto}`), 64));
    assert.doesNotThrow(() => decodeMsgpack(fromHex(`92 a9${proto} a9${proto}`), 64));
    // A map value that is itself a map: the key slot parity is restored after it.
    assert.doesNotThrow(() => decodeMsgpack(fromHex(`82 a161 81 a162 a9${proto} a163 a9${proto}`), 64));
  });

  test("near misses of __proto__ are ordinary keys", () => {
    assert.doesNotThrow(() => decodeMsgpack(fromHex("81 a8 5f5f70726f746f5f c0"), 64)); // "__proto_"
    assert.doesNotThrow(() => decodeMsgpack(fromHex("81 a9 5f5f50524f544f5f5f c0"), 64)); // "__PROTO__"
  });

  test("depth counts nested non-empty containers against maxDepth", () => {
    assert.doesNotThrow(() => decodeMsgpack(fromHex("91 91 91 01"), 3));
    rejects("91 91 91 01", /maxDepth 2/, 2);
    rejects("81 a161 81 a161 81 a161 01", /maxDepth 2/, 2);
  });

  describe("maxKeys", () => {
    /** A map 16 or 32 (as `n` needs) of `n` entries: keys are the numbers 0…n-1, values nil. */
    function map(n: number): Uint8Array {
      const head =
        n < 0x10000 ? [0xde, n >> 8, n & 0xff] : [0xdf, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
      const body: number[] = [];
      for (let i = 0; i < n; i++) {
        if (i < 0x80) body.push(i);
        else if (i < 0x10000) body.push(0xcd, i >> 8, i & 0xff);
        else body.push(0xce, i >>> 24, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
        body.push(0xc0);
      }
      return Uint8Array.from([...head, ...body]);
    }

    function rejectsKeys(bytes: Uint8Array, limits: number | { maxDepth: number; maxKeys: number }, message: string) {
      assert.throws(
        () => decodeMsgpack(bytes, limits),
        (err: unknown) => {
          assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
          assert.equal(err.code, Code.InvalidArgument);
          assert.equal(err.rawMessage, message);
          return true;
        },
      );
    }

    // Regression: a map of 200,000 entries was decoded whole (about 190 ms at best here).
    test("a map of 200,000 entries is refused under the default maxKeys; 10,000 pass", () => {
      rejectsKeys(map(200_000), 64, "object with 200000 keys exceeds maxKeys 10000");
      assert.equal(Object.keys(decodeMsgpack(map(10_000), 64) as object).length, 10_000);
      rejectsKeys(map(10_001), 64, "object with 10001 keys exceeds maxKeys 10000");
    });

    test("the declared count is checked before the bytes behind it", () => {
      // Before maxKeys these were "truncated value": the count was only compared with the bytes left.
      rejectsKeys(fromHex("de2711 a16101"), 64, "object with 10001 keys exceeds maxKeys 10000");
      rejectsKeys(fromHex("dfffffffff"), 64, "object with 4294967295 keys exceeds maxKeys 10000");
    });

    test("a configured maxKeys applies to every map format and depth", () => {
      const limits = { maxDepth: 64, maxKeys: 2 };
      assert.deepEqual(decodeMsgpack(fromHex("82 a161 01 a162 02"), limits), { a: 1, b: 2 });
      rejectsKeys(fromHex("83 a161 01 a162 02 a163 03"), limits, "object with 3 keys exceeds maxKeys 2");
      rejectsKeys(fromHex("de0003 a161 01 a162 02 a163 03"), limits, "object with 3 keys exceeds maxKeys 2");
      rejectsKeys(fromHex("df00000003 a161 01 a162 02 a163 03"), limits, "object with 3 keys exceeds maxKeys 2");
      rejectsKeys(fromHex("92 81 a161 01 81 a161 83 01c0 02c0 03c0"), limits, "object with 3 keys exceeds maxKeys 2");
      // Arrays are not maps: their length is bounded by the bytes left, not by maxKeys.
      assert.equal((decodeMsgpack(fromHex("93 01 02 03"), limits) as unknown[]).length, 3);
    });
  });
  describe("short strings (cached)", () => {
    const utf8 = new TextEncoder();
    /** An array of strings as MessagePack, each as str 8 so the length byte is explicit. */
    function strings(list: readonly string[]): Uint8Array {
      const parts: number[] = [0xdd, ...[24, 16, 8, 0].map((s) => (list.length >>> s) & 0xff)];
      for (const s of list) {
        const b = utf8.encode(s);
        parts.push(0xd9, b.length, ...b);
      }
      return Uint8Array.from(parts);
    }

    test("20,000 distinct short strings (more than the cache's slots) decode right, twice", () => {
      const list = Array.from({ length: 20_000 }, (_, i) => `k${i.toString(36)}${"x".repeat(i % 30)}`);
      const bytes = strings(list);
      assert.deepEqual(decodeMsgpack(bytes, 64), list);
      assert.deepEqual(decodeMsgpack(bytes, 64), list);
    });

    test("strings differing only in their last byte, at 31, 32 and 33 bytes, and non-ASCII ones", () => {
      const list: string[] = [];
      for (const n of [1, 2, 31, 32, 33]) for (const c of "abc") list.push("q".repeat(n - 1) + c);
      list.push("é", "日本", "ü".repeat(15), "ü".repeat(16), "", "🦊", "a\u0000b");
      assert.deepEqual(decodeMsgpack(strings(list), 64), list);
      assert.deepEqual(decodeMsgpack(strings([...list].reverse()), 64), [...list].reverse());
    });

    test("a string is not taken from the cache after its source bytes change", () => {
      const bytes = strings(["alpha", "alpha"]);
      assert.deepEqual(decodeMsgpack(bytes, 64), ["alpha", "alpha"]);
      bytes[bytes.length - 1] = 0x62; // the second "alpha" becomes "alphb"
      assert.deepEqual(decodeMsgpack(bytes, 64), ["alpha", "alphb"]);
    });

    test("invalid UTF-8 in a short string becomes U+FFFD, cached or not", () => {
      const bytes = Uint8Array.of(0x92, 0xa2, 0x61, 0xff, 0xa2, 0x61, 0xff);
      assert.deepEqual(decodeMsgpack(bytes, 64), ["a\ufffd", "a\ufffd"]);
    });
  });
});
