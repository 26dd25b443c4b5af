import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Packr, unpack } from "msgpackr";
import { toHex } from "../../test/bytes.js";
import { decodeMsgpack } from "./msgpack-decode.js";
import { encodeCommon, maxEncodeDepth } from "./msgpack-encode.js";

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false });

function encode(value: unknown): Uint8Array {
  const bytes = encodeCommon(value);
  assert.ok(bytes !== undefined, "encodeCommon gave up on a common value");
  return bytes;
}

/** What the decoder gives back for `value`: 64-bit BigInts within ±2^53 come back as numbers. */
function decoded(value: unknown): unknown {
  if (typeof value === "bigint") return value >= -(2n ** 53n) && value <= 2n ** 53n ? Number(value) : value;
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(decoded);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decoded(v)]));
  }
  return Object.is(value, -0) ? 0 : value;
}

/** msgpackr may hand back a Buffer for bin; compare bytes as plain Uint8Array. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** A seeded generator of the values encodeCommon takes, edge sizes and all. */
function generator(seed: number) {
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const edges = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 60];
  const numbers = [...edges, ...edges.map((n) => -n), -31, -32, -33, -128, -129, -32768, -32769, -(2 ** 31)];
  const floats = [0.1, -1.5, 1e300, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.MIN_VALUE];
  const shortLengths = [0, 1, 31, 32, 63, 64, 85, 86, 255, 256];
  const longLengths = [...shortLengths, 21845, 21846, 65535, 65536];
  const units = ["a", "~", "é", "日", "😀", "\u007f", "\u0080"];
  /** `n` UTF-16 units of ASCII, or about that many of one unit (an astral one is two). */
  const string = (depth: number): string => {
    const n = pick(depth === 0 ? longLengths : shortLengths);
    const unit = pick(units);
    return random() < 0.5 ? "x".repeat(n) : unit.repeat(Math.floor(n / unit.length));
  };
  const value = (depth: number): unknown => {
    const r = random();
    if (r < 0.15) return pick(numbers);
    if (r < 0.2) return pick(floats);
    if (r < 0.35) return string(depth);
    if (r < 0.4) return pick([null, undefined, true, false]);
    if (r < 0.45) return pick([0n, -1n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n]);
    if (r < 0.5) return new Uint8Array(pick([0, 1, 255, 256, 65535, 65536])).fill(7);
    if (depth > 3) return pick(numbers);
    const n = pick(depth < 2 ? [0, 1, 15, 16, 3] : [0, 1, 3]);
    if (r < 0.75) return Array.from({ length: n }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`${pick(units).repeat(pick([1, 20]))}${i}`, value(depth + 1)]),
    );
  };
  return value;
}

describe("encodeCommon", () => {
  test("round-trips 2,000 random values through farcall's decoder and msgpackr's, as msgpackr's own bytes do", () => {
    const value = generator(11);
    for (let i = 0; i < 2_000; i++) {
      const v = value(0);
      const bytes = encode(v);
      assert.deepEqual(decodeMsgpack(bytes, 64), decoded(v), `value ${i}`);
      assert.deepEqual(plain(unpack(bytes)), plain(unpack(packr.pack(v))), `value ${i}, msgpackr`);
    }
  });

  test("writes every integer in the shortest form", () => {
    const cases: [number, string][] = [
      [0, "00"],
      [127, "7f"],
      [128, "cc80"],
      [255, "ccff"],
      [256, "cd0100"],
      [65535, "cdffff"],
      [65536, "ce00010000"],
      [2 ** 32 - 1, "ceffffffff"],
      [2 ** 32, "cb41f0000000000000"],
      [-1, "ff"],
      [-32, "e0"],
      [-33, "d0df"],
      [-128, "d080"],
      [-129, "d1ff7f"],
      [-32768, "d18000"],
      [-32769, "d2ffff7fff"],
      [-(2 ** 31), "d280000000"],
      [-(2 ** 31) - 1, "cbc1e0000000200000"],
      [-0, "00"],
      [1.5, "cb3ff8000000000000"],
    ];
    for (const [n, hex] of cases) assert.equal(toHex(encode(n)), hex, String(n));
  });

  test("picks each header by the length in bytes, at every boundary", () => {
    const header = (v: unknown, n: number) => toHex(encode(v)).slice(0, n);
    assert.equal(header("x".repeat(31), 2), "bf");
    assert.equal(header("x".repeat(32), 4), "d920");
    assert.equal(header("x".repeat(255), 4), "d9ff");
    assert.equal(header("x".repeat(256), 6), "da0100");
    assert.equal(header("x".repeat(65535), 6), "daffff");
    assert.equal(header("x".repeat(65536), 10), "db00010000");
    // 16 units leave room for a fixstr header; their 32 bytes move up one for str 8.
    assert.equal(toHex(encode("é".repeat(16))), `d920${"c3a9".repeat(16)}`);
    assert.equal(toHex(encode("é".repeat(15))), `be${"c3a9".repeat(15)}`);
    // 128 units: room for str 8, 256 bytes move up for str 16; 86 astral units: 172 bytes, str 8.
    assert.equal(toHex(encode("é".repeat(128))), `da0100${"c3a9".repeat(128)}`);
    assert.equal(toHex(encode("😀".repeat(43))), `d9ac${"f09f9880".repeat(43)}`);
    // 21846 units of 3 bytes: room for str 16, 65538 bytes move up for str 32.
    assert.equal(toHex(encode("日".repeat(21846))).slice(0, 10), "db00010002");
    assert.equal(toHex(encode("\ud800")), "a3efbfbd");
    for (const [n, array, map] of [
      [15, "9f", "8f"],
      [16, "dc0010", "de0010"],
      [65535, "dcffff", "deffff"],
      [65536, "dd00010000", "df00010000"],
    ] as const) {
      assert.equal(header(new Array(n).fill(0), array.length), array, `array of ${n}`);
      const object = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0]));
      assert.equal(header(object, map.length), map, `map of ${n}`);
    }
    for (const [n, hex] of [
      [255, "c4ff"],
      [256, "c50100"],
      [65536, "c600010000"],
    ] as const) {
      assert.equal(header(new Uint8Array(n), hex.length), hex, `${n} bytes`);
    }
    assert.equal(toHex(encode(Buffer.from([1, 2]))), "c4020102");
    assert.equal(toHex(encode([undefined, true, false, null])), "94d40000c3c2c0");
    assert.equal(toHex(encode(2n ** 64n - 1n)), "cfffffffffffffffff");
    assert.equal(toHex(encode(-5n)), "d3fffffffffffffffb");
  });

  test("maps of 16 keys or more are widened in place, also when the message moved slabs meanwhile", () => {
    // 20 keys of 10 KiB each: the message outgrows the 64 KiB slab while the outer map is open.
    const wide = (n: number, value: (i: number) => unknown) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, value(i)]));
    const big = wide(20, (i) => String(i).repeat(10_240));
    const nested = wide(17, (i) =>
      i % 2 === 0 ? [wide(16, (j) => j), wide(3, (j) => j)] : wide(18, (j) => `${i}.${j}`),
    );
    for (const value of [big, nested, { a: big, b: nested }, [nested, 1, big]]) {
      const bytes = encode(value);
      assert.deepEqual(decodeMsgpack(bytes, 64), value);
      assert.deepEqual(plain(unpack(bytes)), value);
    }
  });

  test("leaves other types, too large BigInts and deeper nesting to msgpackr, writing nothing", () => {
    class Point {
      x = 1;
    }
    const before = encode("kept");
    const copy = Uint8Array.from(before);
    const others: [string, unknown][] = [
      ["Date", new Date(0)],
      ["Map", new Map()],
      ["Set", new Set([1])],
      ["class instance", new Point()],
      ["Float32Array", new Float32Array(1)],
      ["null-prototype object", Object.create(null)],
      ["object with a plain prototype", Object.create({ inherited: 1 })],
      ["function value", { toString: () => "" }],
      ["symbol", Symbol("s")],
      ["Date nested in an array", [1, "two", { three: [new Date(0)] }]],
      ["2^64", 2n ** 64n],
      ["-2^63 - 1", -(2n ** 63n) - 1n],
      ["array with an own constructor", Object.assign([1], { constructor: Point })],
    ];
    for (const [name, v] of others) assert.equal(encodeCommon(v), undefined, name);
    let nested: unknown = 0;
    for (let i = 0; i < maxEncodeDepth; i++) nested = [nested];
    assert.deepEqual(decodeMsgpack(encode(nested), 64), nested);
    assert.equal(encodeCommon([nested]), undefined);
    assert.deepEqual(before, copy);
    assert.equal(toHex(encode("next")), "a46e657874");
  });

  test("a getter that encodes meanwhile gets msgpackr's turn, and a throwing getter leaves no trace", () => {
    let inner: Uint8Array | undefined | null = null;
    const outer = {
      a: 1,
      get b() {
        inner = encodeCommon({ nested: "value" });
        return 2;
      },
    };
    assert.equal(toHex(encode(outer)), "82a16101a16202");
    assert.equal(inner, undefined);
    const throwing = {
      a: "x".repeat(100),
      get b(): number {
        throw new Error("getter failed");
      },
    };
    assert.throws(() => encodeCommon(throwing), /getter failed/);
    assert.equal(toHex(encode({ a: 1 })), "81a16101");
  });

  test("never writes over bytes it has returned, across slabs and after a large message", () => {
    const kept: [Uint8Array, string][] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = i % 5_000 === 0 ? "y".repeat(100_000 + i) : { i, s: "z".repeat(i % 300) };
      const bytes = encode(v);
      if (i % 97 === 0 || i % 5_000 === 0) kept.push([bytes, toHex(bytes)]);
    }
    for (const [bytes, hex] of kept) assert.equal(toHex(bytes), hex);
  });
});
