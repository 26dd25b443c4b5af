import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromBase64, toBase64 } from "./base64.js";

const ascii = new TextEncoder();

/** Reference encoding through the platform's btoa. */
function reference(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Deterministic pseudo-random bytes (xorshift32). */
function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

describe("base64", () => {
  test("RFC 4648 §10 test vectors", () => {
    const vectors: [string, string][] = [
      ["", ""],
      ["f", "Zg=="],
      ["fo", "Zm8="],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg=="],
      ["fooba", "Zm9vYmE="],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of vectors) {
      assert.equal(toBase64(ascii.encode(plain)), encoded);
      assert.deepEqual(fromBase64(encoded), ascii.encode(plain));
    }
  });

  test("a decoded value owns its buffer: no neighbouring bytes reachable through .buffer", () => {
    for (const text of ["", "AA==", "AQID", toBase64(new Uint8Array(5000).fill(9))]) {
      const bytes = fromBase64(text);
      assert.ok(bytes !== undefined);
      assert.equal(bytes.byteOffset, 0, text.slice(0, 8));
      assert.equal(bytes.buffer.byteLength, bytes.byteLength, text.slice(0, 8));
    }
  });

  test("uses the standard alphabet with + and /", () => {
    assert.equal(toBase64(Uint8Array.of(0xfb, 0xff, 0xbf)), "+/+/");
    assert.deepEqual(fromBase64("+/+/"), Uint8Array.of(0xfb, 0xff, 0xbf));
  });

  test("matches btoa and round-trips every length from 0 to 300", () => {
    for (let n = 0; n <= 300; n++) {
      const bytes = bytesOf(n, n + 1);
      const text = toBase64(bytes);
      assert.equal(text, reference(bytes), `length ${n}`);
      assert.deepEqual(fromBase64(text), bytes, `length ${n}`);
    }
  });

  test("round-trips inputs longer than one internal 8 KiB part", () => {
    for (const n of [6_143, 6_144, 6_145, 100_001]) {
      const bytes = bytesOf(n, 7);
      const text = toBase64(bytes);
      assert.equal(text, reference(bytes), `length ${n}`);
      assert.deepEqual(fromBase64(text), bytes, `length ${n}`);
    }
  });

  test("rejects text that is not padded standard base64", () => {
    const invalid = [
      "Z", // length not a multiple of 4
      "Zg=",
      "Zg",
      "Zm9vY",
      "Zg===", // length 5
      "Z===", // three padding characters
      "====",
      "QQ==QQ==", // padding before the end
      "Q=Q=",
      "Zm9v\n", // whitespace
      "Zm 9",
      "Zm9-", // url-safe alphabet
      "Zm9_",
      "Zm9é",
      "Zm9\u0100",
      "@@@@",
    ];
    for (const text of invalid) assert.equal(fromBase64(text), undefined, JSON.stringify(text));
  });
});
