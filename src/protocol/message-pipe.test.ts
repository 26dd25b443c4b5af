import assert from "node:assert/strict";
import { test } from "node:test";
import { Arith } from "../../examples/demo/services.js";
import { Code } from "../core/code.js";
import { defaultLimits } from "../core/limits.js";
import { RpcError } from "../core/rpc-error.js";
import { JsonRpcClientSession } from "./jsonrpc/client-session.js";
import { clientOverMessages } from "./jsonrpc/stream-client.js";
import { memoryMessagePair } from "./message-pipe.js";

const decoder = new TextDecoder();

test("an in-memory message pair delivers whole messages in order, as copies, and closes both ends once", async () => {
  const [a, b] = memoryMessagePair();
  const got: string[] = [];
  let closes = 0;
  const sent = new Uint8Array([104, 105]);
  a.send(sent);
  a.send("héllo");
  sent[0] = 0; // the copy went out, not the buffer
  b.attach({ onMessage: (m) => got.push(decoder.decode(m)), onClose: () => closes++ });
  a.attach({ onMessage: () => {}, onClose: () => closes++ });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, ["hi", "héllo"]);
  b.close();
  a.close();
  a.send("after close");
  await new Promise((r) => setImmediate(r));
  assert.equal(closes, 2);
  assert.equal(a.open, false);
  assert.deepEqual(got, ["hi", "héllo"]);
});

test("a JSON-RPC client session runs over a message pipe: one request per message, answers by id", async () => {
  const [client, server] = memoryMessagePair();
  // The far end answers `Arith.add` by hand, the second request first.
  const requests: { id: number; params: { a: number; b: number } }[] = [];
  server.attach({
    onMessage(m) {
      requests.push(JSON.parse(decoder.decode(m)));
      if (requests.length < 2) return;
      for (const r of [...requests].reverse())
        server.send(JSON.stringify({ jsonrpc: "2.0", result: r.params.a + r.params.b, id: r.id }));
      server.send(JSON.stringify({ jsonrpc: "2.0", error: { code: -32601, message: "nope" }, id: 99 }));
    },
    onClose() {},
  });
  let closed = false;
  const session = clientOverMessages(
    client,
    (pipe) => new JsonRpcClientSession(pipe, { dialect: "2.0", limits: defaultLimits, onClose: () => (closed = true) }),
  );
  const add = Arith.methods.get("add");
  assert.ok(add !== undefined);
  const [x, y] = await Promise.all([session.call(add, { a: 1, b: 2 }, {}), session.call(add, { a: 5, b: 5 }, {})]);
  assert.equal(x.output, 3);
  assert.equal(y.output, 10);
  const pending = session.call(add, { a: 0, b: 0 }, {});
  server.close();
  await assert.rejects(pending, (e) => e instanceof RpcError && e.code === Code.Unavailable);
  assert.equal(closed, true);
});
