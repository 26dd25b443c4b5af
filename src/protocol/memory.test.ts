import assert from "node:assert/strict";
import { test } from "node:test";
import { Arith, arithImpl } from "../../examples/demo/services.js";
import { msgpackCodec } from "../codec/index.js";
import { Code } from "../core/code.js";
import { defaultLimits } from "../core/limits.js";
import type { RpcError } from "../core/rpc-error.js";
import { createServer } from "../server/server.js";
import { ClientSession } from "./farcall/client-session.js";
import { memoryPair } from "./memory.js";

const add = Arith.methods.get("add");
const count = Arith.methods.get("count");

test("farcall framing runs over an in-memory pair: unary, server stream, then a clean close", async () => {
  const server = createServer().add(
    Arith,
    arithImpl(() => {}),
  );
  const [a, b] = memoryPair();
  server.serveStream(a);
  let closedWith: RpcError | undefined;
  const session = new ClientSession(b, msgpackCodec, defaultLimits, { onClose: (e) => (closedWith = e) });
  b.attach(session);
  assert.ok(add !== undefined && count !== undefined);
  assert.equal((await session.call(add, { a: 1, b: 2 }, {})).output, 3);
  const res = await session.call(count, { to: 3 }, {});
  const items: unknown[] = [];
  for await (const n of res.output as AsyncIterable<unknown>) items.push(n);
  assert.deepEqual(items, [1, 2, 3]);
  session.shutdown();
  await server.close({ graceMs: 500 });
  assert.equal(closedWith?.code, Code.Unavailable);
});

test("an in-memory pair pushes back: needDrain past the buffer bound, drain once the reader takes it", async () => {
  const [a, b] = memoryPair();
  const got: number[] = [];
  b.attach({ onData: (c) => got.push(c.length), onClose: () => {} });
  b.pause();
  a.write([new Uint8Array(2 * 1024 * 1024)]);
  assert.equal(a.needDrain, true);
  let drained = false;
  a.onDrain(() => {
    drained = true;
  });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(drained, false, "nothing read yet");
  b.resume();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(drained, true);
  assert.deepEqual(got, [2 * 1024 * 1024]);
  a.destroy();
});
