import assert from "node:assert/strict";
import { test } from "node:test";
import type { Codec } from "../../codec/codec.js";
import { jsonCodec, msgpackCodec } from "../../codec/index.js";
import { builtinFramedCodecs, framedCodec } from "./codecs.js";

const custom: Codec = {
  name: "reverse-json",
  encode: (v) => jsonCodec.encode(v),
  decode: (b, d) => jsonCodec.decode(b, d),
};

test("the preface ids live with farcall framing: JSON 1, MessagePack 2", () => {
  assert.deepEqual(
    builtinFramedCodecs.map((f) => [f.id, f.codec.name]),
    [
      [1, "json"],
      [2, "msgpack"],
    ],
  );
  assert.equal(framedCodec(undefined).codec, msgpackCodec);
  assert.equal(framedCodec("json").id, 1);
  assert.equal(framedCodec(msgpackCodec).id, 2);
  assert.equal(framedCodec({ id: 7, codec: custom }).id, 7);
});

test("a codec farcall cannot name on the wire is refused with the reason", () => {
  assert.throws(() => framedCodec("xdr"), /unknown codec "xdr"/);
  assert.throws(() => framedCodec(custom), /reverse-json has no farcall id/);
  for (const id of [0, 256, 1.5]) assert.throws(() => framedCodec({ id, codec: custom }), /1 to 255/);
});
