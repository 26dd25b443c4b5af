// Interop with jayson (JSON-RPC 2.0 for node): jayson's clients calling the demo server, and farcall's
// typed stubs calling jayson's servers through `jsonrpc+tcp://` and `jsonrpc+http://` (docs/protocols.md).

import assert from "node:assert/strict";
import type { Server as NetServer } from "node:net";
import { afterEach, describe, test } from "node:test";
import jayson from "jayson";
import { Code, createClient, defineService, oneway, type ServiceClient, unary } from "../src/index.js";
import { rejectsWith, startDemo, until, within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";
import { jaysonChecks, jaysonClients } from "./peers.js";

afterEach(() => assertNoLeaks());

for (const transport of ["tcp", "http"] as const) {
  describe(`jayson's ${transport} client calling the farcall demo server`, () => {
    for (const [name, check] of Object.entries(jaysonChecks)) {
      test(name, async () => {
        const h = await startDemo();
        try {
          await check(jaysonClients[transport](Number(new URL(h.address).port)), transport, () => h.logged);
        } finally {
          await h.close();
        }
      });
    }
  });
}

// -----------------------------------------------------------------------------------------------
// farcall's client calling jayson's servers.

/** What the farcall client calls; every name is `Arith.<method>` on the jayson side. */
const Arith = defineService("Arith", {
  add: unary<{ a: number; b: number }, number>(),
  log: oneway<string>(),
  missing: unary<{ a: number }, number>(),
  invalidParams: unary<{ a: number }, number>(),
  internal: unary<{ a: number }, number>(),
  custom: unary<{ a: number }, number>(),
  namedCode: unary<{ a: number }, number>(),
});

type Done = (err: unknown, result?: unknown) => void;
type JError = { code: number; message: string; data?: object };

/** The input jayson's handler got: params by name as they are, `[x]` as `x`. */
function inputOf(params: unknown): unknown {
  return Array.isArray(params) && params.length === 1 ? params[0] : params;
}

function jaysonServer(seen: unknown[], logged: string[]) {
  const fail = (error: JError) => (_params: unknown, done: Done) => done(error);
  const server = new jayson.Server({
    "Arith.add": (params: unknown, done: Done) => {
      const { a, b } = inputOf(params) as { a: number; b: number };
      done(null, a + b);
    },
    "Arith.log": (params: unknown, done: Done) => {
      logged.push(inputOf(params) as string);
      done(null);
    },
    "Arith.invalidParams": fail({ code: -32602, message: "a must be even" }),
    "Arith.internal": fail({ code: -32603, message: "it broke" }),
    "Arith.custom": fail({ code: 4711, message: "custom failure" }),
    "Arith.namedCode": fail({ code: -32000, message: "no such thing", data: { code: "not_found" } }),
  });
  server.on("request", (request: unknown) => seen.push(request));
  return server;
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

const jaysonServers = {
  tcp: (s: ReturnType<typeof jaysonServer>) => s.tcp(),
  http: (s: ReturnType<typeof jaysonServer>) => s.http(),
};

const addresses = {
  tcp: (port: number) => `jsonrpc+tcp://127.0.0.1:${port}`,
  http: (port: number) => `jsonrpc+http://127.0.0.1:${port}/`,
};

for (const transport of ["tcp", "http"] as const) {
  describe(`farcall's jsonrpc+${transport} client calling a jayson ${transport} server`, () => {
    /** Runs `body` with a jayson server and a farcall stub for it; `seen` gets every request jayson parsed. */
    async function withJayson(
      body: (arith: ServiceClient<typeof Arith.specs>, seen: unknown[], logged: string[]) => Promise<void>,
    ): Promise<void> {
      const seen: unknown[] = [];
      const logged: string[] = [];
      const listener = jaysonServers[transport](jaysonServer(seen, logged));
      const port = await listen(listener);
      const client = createClient(addresses[transport](port));
      try {
        await body(client.service(Arith), seen, logged);
      } finally {
        await client.close();
        await within(new Promise<void>((resolve) => listener.close(() => resolve())), 5_000, "jayson server close");
      }
    }

    test("a typed stub calls Arith.add as JSON-RPC 2.0 and gets the result", async () => {
      await withJayson(async (arith, seen) => {
        assert.equal(await arith.add({ a: 2, b: 3 }), 5);
        assert.equal(await arith.add({ a: -1.5, b: 0.25 }), -1.25);
        assert.equal(seen.length, 2);
        const first = seen[0] as { jsonrpc?: unknown; method?: unknown; id?: unknown };
        assert.equal(first.jsonrpc, "2.0");
        assert.equal(first.method, "Arith.add");
        assert.ok(first.id !== undefined && first.id !== null, "a call carries an id");
        assert.notDeepEqual((seen[1] as { id?: unknown }).id, first.id, "each call has its own id");
      });
    });

    test("concurrent calls are matched to their answers", async () => {
      await withJayson(async (arith) => {
        const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => arith.add({ a: i, b: 1000 })));
        assert.deepEqual(
          sums,
          Array.from({ length: 20 }, (_, i) => i + 1000),
        );
      });
    });

    test("a oneway call is sent as a notification (no id) and runs", async () => {
      await withJayson(async (arith, seen, logged) => {
        await arith.log(`farcall ${transport} note`);
        await until(() => logged.length > 0);
        assert.deepEqual(logged, [`farcall ${transport} note`]);
        const request = seen[0] as { method?: unknown; id?: unknown };
        assert.equal(request.method, "Arith.log");
        assert.equal("id" in request, false, "a notification has no id member");
      });
    });

    test("jayson's error answers become RpcErrors with the mapped codes", async () => {
      await withJayson(async (arith) => {
        // Not served by jayson: its -32601.
        await rejectsWith(arith.missing({ a: 1 }), Code.Unimplemented);
        const invalid = await rejectsWith(arith.invalidParams({ a: 1 }), Code.InvalidArgument);
        assert.equal(invalid.rawMessage, "a must be even");
        await rejectsWith(arith.internal({ a: 1 }), Code.Internal);
        const custom = await rejectsWith(arith.custom({ a: 1 }), Code.Unknown);
        assert.equal(custom.rawMessage, "custom failure");
        // data.code names a farcall code: it wins over error.code.
        await rejectsWith(arith.namedCode({ a: 1 }), Code.NotFound);
        // The connection (or the HTTP client) is still usable after the errors.
        assert.equal(await arith.add({ a: 20, b: 22 }), 42);
      });
    });
  });
}
