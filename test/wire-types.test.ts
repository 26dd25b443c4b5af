/**
 * A schema-driven codec over farcall framing gets each message's wire type from the method
 * (`MethodDescriptor.wire`), in both directions and for every message of a stream.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Codec, createClient, createServer, defineService, serverStream, unary } from "../src/index.js";
import { builtinFramedCodecs, builtinProtocols } from "../src/protocol/index.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

/** Objects as their values alone, tab-separated, in the order the wire type (a list of field names) gives. */
const fieldsCodec: Codec = {
  name: "fields",
  encode(value, type) {
    if (!Array.isArray(type)) throw new TypeError("fields codec needs a wire type");
    const v = value as Record<string, unknown>;
    return new TextEncoder().encode(type.map((k: string) => String(v[k])).join("\t"));
  },
  decode(bytes, _limits, type) {
    if (!Array.isArray(type)) throw new TypeError("fields codec needs a wire type");
    const parts = new TextDecoder().decode(bytes).split("\t");
    return Object.fromEntries(type.map((k: string, i) => [k, Number(parts[i])]));
  },
};

const Sums = defineService("Sums", {
  add: unary({ wire: { input: ["a", "b"], output: ["sum"] } }),
  upTo: serverStream({ wire: { input: ["n"], output: ["i", "square"] } }),
});

test("farcall framing hands a schema-driven codec each message's wire type", async () => {
  const framed = { id: 9, codec: fieldsCodec };
  const server = createServer({
    protocols: builtinProtocols({ farcall: { codecs: [...builtinFramedCodecs, framed] } }),
  });
  server.add(Sums, {
    add: (input) => {
      const { a, b } = input as { a: number; b: number };
      return { sum: a + b };
    },
    *upTo(input) {
      const { n } = input as { n: number };
      for (let i = 1; i <= n; i++) yield { i, square: i * i };
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  const client = createClient(address, { codec: framed });
  cleanups.push(() => client.close());
  const sums = client.service(Sums);
  assert.deepEqual(await sums.add({ a: 2, b: 3 }), { sum: 5 });
  const items: unknown[] = [];
  for await (const item of sums.upTo({ n: 3 })) items.push(item);
  assert.deepEqual(items, [
    { i: 1, square: 1 },
    { i: 2, square: 4 },
    { i: 3, square: 9 },
  ]);
});
