import assert from "node:assert/strict";
import { test } from "node:test";
import { Arith, arithImpl } from "../../examples/demo/services.js";
import { Code } from "../core/code.js";
import { defaultLimits } from "../core/limits.js";
import { RpcError } from "../core/rpc-error.js";
import { ClientSession } from "../protocol/farcall/client-session.js";
import { memoryPair } from "../protocol/memory.js";
import { createServer } from "../server/server.js";
import { Channel, defaultBackoff } from "./channel.js";
import { Client } from "./client.js";

// Stub, interceptors, channel, session, server and router together, over in-memory pairs: no sockets.
test("a typed stub calls a server through a channel of in-memory connections, and reconnects after a drop", async () => {
  const server = createServer().add(Arith, arithImpl());
  const ends: { destroy(): void }[] = [];
  let dials = 0;
  const channel = new Channel(
    async (hooks) => {
      dials++;
      const [a, b] = memoryPair();
      server.serveStream(a);
      ends.push(b);
      const session = new ClientSession(b, "msgpack", defaultLimits, hooks);
      b.attach(session);
      return session;
    },
    { backoff: { ...defaultBackoff, initialMs: 1 } },
  );
  const seen: string[] = [];
  const client = new Client(
    "memory",
    {
      interceptors: [
        (next) => (req) => {
          seen.push(req.method.path);
          return next(req);
        },
      ],
    },
    channel,
  );
  const arith = client.service(Arith);
  assert.equal(await arith.add({ a: 2, b: 3 }), 5);
  const items: number[] = [];
  for await (const n of arith.count({ to: 3 })) items.push(n);
  assert.deepEqual(items, [1, 2, 3]);
  assert.equal(client.state, "ready");
  ends[0]?.destroy();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(await arith.multiply({ a: 6, b: 7 }), 42);
  assert.equal(dials, 2);
  assert.deepEqual(seen, ["Arith/add", "Arith/count", "Arith/multiply"]);
  await assert.rejects(
    arith.divide({ a: 1, b: 0 }),
    (e: unknown) => e instanceof RpcError && e.code === Code.InvalidArgument,
  );
  await client.close();
  await server.close({ graceMs: 100 });
  assert.equal(client.state, "shutdown");
});
