import assert from "node:assert/strict";
import { test } from "node:test";
import { utf8Bytes } from "./utf8.js";

const encoder = new TextEncoder();

test("utf8Bytes gives the UTF-8 of ASCII, non-ASCII, surrogate pairs and lone surrogates", () => {
  for (const text of ["", "a", "café", "日本語", "🦊🐕", "x\ud800y", "\udc00", "a".repeat(8192), "é".repeat(9000)]) {
    assert.deepEqual(utf8Bytes(text), encoder.encode(text), JSON.stringify(text.slice(0, 20)));
  }
});

test("bytes returned earlier are never overwritten, across slabs", () => {
  const kept: [string, Uint8Array][] = [];
  for (let i = 0; i < 3_000; i++) {
    const text = `${i}:${"ü".repeat(i % 200)}`;
    kept.push([text, utf8Bytes(text)]);
  }
  for (const [text, bytes] of kept) assert.deepEqual(bytes, encoder.encode(text));
});
