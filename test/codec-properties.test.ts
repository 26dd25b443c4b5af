/**
 * Properties of the JSON and MessagePack codecs over random values and bytes: decode(encode(v))
 * is v; random bytes and mutated encodings either decode or are refused with RpcError, and no
 * decode allocates more than a few bytes per input byte (fuzz/alloc-guard.ts). The XDR codec has
 * its own, test/xdr-properties.test.ts.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import fc from "fast-check";
import { installAllocGuard, measureAllocations } from "../fuzz/alloc-guard.js";
import { sameValue, show } from "../fuzz/targets/check.js";
import { defaultLimits } from "../src/core/limits.js";
import { Code, type Codec, jsonCodec, msgpackCodec, RpcError } from "../src/index.js";

const SEED = 20_240_612;
const limits = { maxDepth: defaultLimits.maxDepth, maxKeys: defaultLimits.maxKeys };

before(() => installAllocGuard());

/** Object keys, without the one both codecs refuse and JSON's byte-string key. */
const key = fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__" && k !== "$bytes");
const bytes = fc.uint8Array({ maxLength: 40 });

/**
 * Values both codecs carry. Numbers are finite and not -0: JSON writes -0 as 0, and so does
 * MessagePack (src/codec/msgpack-encode.test.ts pins -0 → `00`).
 */
function values(extra: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> {
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: "grapheme", maxLength: 6 }),
      bytes,
      ...extra,
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(key, tie("value"), { maxKeys: 5 }),
    ),
  }));
  return value;
}

const jsonValues = values([]);
const msgpackValues = values([
  fc.bigInt({ min: 2n ** 53n + 1n, max: 2n ** 64n - 1n }),
  fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) - 1n }),
  fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms)),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map((f) => (Object.is(f, -0) ? 0 : f)),
]);

/** Decodes, checking that a refusal is an RpcError invalid_argument and the allocations stay in bound. */
function decodeOrRefuse(codec: Codec, input: Uint8Array): void {
  const { report } = measureAllocations(() => {
    try {
      codec.decode(input, limits);
    } catch (err) {
      assert.ok(
        err instanceof RpcError,
        `${codec.name} threw ${String(err)} for ${Buffer.from(input).toString("hex")}`,
      );
      assert.equal(err.code, Code.InvalidArgument, err.message);
    }
  });
  assert.ok(
    report.largest <= 8 * input.length + 1024,
    `${codec.name} allocated ${report.what} for ${input.length} bytes`,
  );
}

for (const [codec, arb] of [
  [jsonCodec, jsonValues],
  [msgpackCodec, msgpackValues],
] as const) {
  test(`${codec.name}: decode(encode(v)) is v`, () => {
    fc.assert(
      fc.property(arb, (v) => {
        const back = codec.decode(codec.encode(v), limits);
        assert.ok(sameValue(back, v), `${show(v)} came back as ${show(back)}`);
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });

  test(`${codec.name}: random bytes decode or are refused with invalid_argument`, () => {
    const interesting =
      codec === jsonCodec
        ? fc.string({ unit: "binary", maxLength: 60 }).map((s) => new TextEncoder().encode(s))
        : bytes;
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), interesting), (b) => decodeOrRefuse(codec, b)),
      {
        seed: SEED + 1,
        numRuns: 3000,
      },
    );
  });

  test(`${codec.name}: an encoding with bytes changed, cut or repeated decodes or is refused`, () => {
    fc.assert(
      fc.property(arb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(3), (v, at, xor, how) => {
        const enc = codec.encode(v).slice();
        const i = enc.length === 0 ? 0 : at % enc.length;
        let input: Uint8Array;
        if (how === 0) {
          input = enc;
          if (enc.length > 0) input[i] = (input[i] as number) ^ xor;
        } else if (how === 1) input = enc.subarray(0, i);
        else if (how === 2) input = Uint8Array.of(...enc, ...enc);
        else input = Uint8Array.of(...enc.subarray(0, i), xor, ...enc.subarray(i));
        decodeOrRefuse(codec, input);
      }),
      { seed: SEED + 2, numRuns: 2000 },
    );
  });
}

test("msgpack: a declared length or count beyond the bytes allocates nothing for it", () => {
  // array 32, map 32, str 32 and bin 32 declaring 2^32 - 1 with 4 bytes after.
  for (const hex of ["ddffffffff01020304", "dfffffffff01020304", "dbffffffff61626364", "c6ffffffff00000000"]) {
    decodeOrRefuse(msgpackCodec, Uint8Array.from(Buffer.from(hex, "hex")));
  }
});
