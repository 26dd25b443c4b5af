// farcall's JSON-RPC 2.0 client sending params to jayson's servers (docs/protocols.md, "Params"):
// an array of two or more elements goes by position as the params list itself, so a jayson method
// that takes two positional params gets each element as one; other inputs keep their forms.

import assert from "node:assert/strict";
import type { Server as NetServer } from "node:net";
import { afterEach, describe, test } from "node:test";
import jayson from "jayson";
import { createClient, defineService, unary } from "../src/index.js";
import { within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

afterEach(() => assertNoLeaks());

const Positional = defineService("Positional", {
  /** jayson adds its two positional params. */
  add: unary<[number, number], number>(),
  /** jayson answers with the params it received, as they arrived. */
  params: unary<unknown, unknown>(),
});

type Done = (err: unknown, result?: unknown) => void;

function jaysonServer(seen: unknown[]) {
  return new jayson.Server({
    "Positional.add": (params: unknown, done: Done) => {
      seen.push(params);
      assert.ok(Array.isArray(params), `params by position: ${JSON.stringify(params)}`);
      const [a, b] = params as [number, number];
      done(null, a + b);
    },
    "Positional.params": (params: unknown, done: Done) => {
      seen.push(params);
      done(null, params);
    },
  });
}

async function listen(server: NetServer): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const bound = server.address();
  assert.ok(typeof bound === "object" && bound !== null);
  return bound.port;
}

for (const transport of ["tcp", "http"] as const) {
  describe(`farcall's jsonrpc+${transport} client: params as a jayson ${transport} server receives them`, () => {
    async function withJayson(
      body: (stub: ReturnType<typeof stubOf>, seen: unknown[]) => Promise<void>,
    ): Promise<void> {
      const seen: unknown[] = [];
      const server = jaysonServer(seen);
      const listener = transport === "tcp" ? server.tcp() : server.http();
      const port = await listen(listener);
      const client = createClient(
        transport === "tcp" ? `jsonrpc+tcp://127.0.0.1:${port}` : `jsonrpc+http://127.0.0.1:${port}/`,
      );
      try {
        await body(stubOf(client), seen);
      } finally {
        await client.close();
        await within(new Promise<void>((resolve) => listener.close(() => resolve())), 5_000, "jayson server close");
      }
    }
    const stubOf = (client: ReturnType<typeof createClient>) => client.service(Positional);

    // Regression: the input [2, 3] went out as "params":[[2,3]], so jayson's method got one param,
    // the array, and a + b was "2,3undefined".
    test("an input of two elements reaches a method taking two positional params as 2 and 3", async () => {
      await withJayson(async (stub, seen) => {
        assert.equal(await stub.add([2, 3], { timeoutMs: 5_000 }), 5);
        assert.deepEqual(seen, [[2, 3]]);
      });
    });

    test("every other input keeps the form the farcall server reads back as that input", async () => {
      await withJayson(async (stub, seen) => {
        const cases: [unknown, unknown][] = [
          [
            [1, "two", { three: 3 }],
            [1, "two", { three: 3 }],
          ],
          [[7], [[7]]],
          [[], [[]]],
          [{ a: 1 }, { a: 1 }],
          [42, [42]],
          ["text", ["text"]],
          [null, [null]],
        ];
        for (const [input, params] of cases) {
          assert.deepEqual(await stub.params(input, { timeoutMs: 5_000 }), params, JSON.stringify(input));
        }
        assert.deepEqual(
          seen,
          cases.map(([, params]) => params),
        );
      });
    });
  });
}
