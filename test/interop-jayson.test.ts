// Interop with jayson (JSON-RPC 2.0 for node): jayson's clients calling the demo server, and farcall's
// typed stubs calling jayson's servers through `jsonrpc+tcp://` and `jsonrpc+http://` (docs/protocols.md).

import assert from "node:assert/strict";
import type { Server as NetServer } from "node:net";
import { afterEach, describe, test } from "node:test";
import jayson, { type JSONRPCRequest } from "jayson";
import { Code, createClient, defineService, oneway, type ServiceClient, unary } from "../src/index.js";
import { type Harness, rejectsWith, startDemo, until, within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

afterEach(() => assertNoLeaks());

interface Reply {
  jsonrpc?: string;
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { code?: string } };
}

type JaysonClient = ReturnType<typeof jayson.client.tcp>;

function portOf(address: string): number {
  const m = /:(\d+)$/.exec(address);
  assert.ok(m, `no port in ${address}`);
  return Number(m[1]);
}

/** Sends one request (or a batch) with jayson's callback API; resolves with the whole JSON-RPC answer. */
function send(client: JaysonClient, method: string | JSONRPCRequest[], params?: object): Promise<unknown> {
  return within(
    new Promise((resolve, reject) => {
      // A two-argument callback gets the answer as it came, not split into error and result.
      const done = (err?: unknown, answer?: unknown) => (err ? reject(err) : resolve(answer));
      if (typeof method === "string") client.request(method, params, done);
      else client.request(method, done);
    }),
    5_000,
    `jayson call ${JSON.stringify(method)}`,
  );
}

async function withDemo(body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startDemo();
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

/** jayson's TCP client, and its HTTP client on one connection per request (nothing kept alive). */
const jaysonClients = {
  tcp: (port: number) => jayson.client.tcp({ host: "127.0.0.1", port }),
  http: (port: number) => jayson.client.http({ host: "127.0.0.1", port, path: "/", agent: false }),
};

for (const [transport, makeClient] of Object.entries(jaysonClients)) {
  describe(`jayson's ${transport} client calling the farcall demo server`, () => {
    test("Arith.add with params by name returns the sum", async () => {
      await withDemo(async (h) => {
        const answer = (await send(makeClient(portOf(h.address)), "Arith.add", { a: 2, b: 3 })) as Reply;
        assert.equal(answer.jsonrpc, "2.0");
        assert.equal(answer.result, 5);
        assert.equal(answer.error, undefined);
      });
    });

    test("Arith.divide by zero is -32602 with data.code invalid_argument", async () => {
      await withDemo(async (h) => {
        const answer = (await send(makeClient(portOf(h.address)), "Arith.divide", { a: 1, b: 0 })) as Reply;
        assert.equal(answer.result, undefined);
        assert.equal(answer.error?.code, -32602);
        assert.equal(answer.error?.data?.code, "invalid_argument");
        assert.match(answer.error?.message ?? "", /divide by zero/);
      });
    });

    test("an unknown method is -32601", async () => {
      await withDemo(async (h) => {
        const answer = (await send(makeClient(portOf(h.address)), "Arith.nosuch", { a: 1 })) as Reply;
        assert.equal(answer.error?.code, -32601);
        assert.equal(answer.error?.data?.code, "unimplemented");
      });
    });

    test("a batch is answered in request order, without its notification, which runs", async () => {
      await withDemo(async (h) => {
        const client = makeClient(portOf(h.address));
        // Without a callback, request() only builds the request object.
        const batch = [
          client.request("Arith.add", { a: 1, b: 2 }, "first"),
          client.request("Arith.log", [`jayson ${transport} batch note`], null),
          client.request("Arith.multiply", { a: 6, b: 7 }, "second"),
          client.request("Arith.nosuch", {}, "third"),
          client.request("Arith.divide", { a: 1, b: 0 }, "fourth"),
        ];
        assert.equal("id" in (batch[1] as object), false, "jayson sends a notification without an id");
        const answer = (await send(client, batch)) as Reply[];
        assert.ok(Array.isArray(answer), JSON.stringify(answer));
        assert.deepEqual(
          answer.map((r) => [r.id, r.result ?? null, r.error?.code ?? null]),
          [
            ["first", 3, null],
            ["second", 42, null],
            ["third", null, -32601],
            ["fourth", null, -32602],
          ],
        );
        await until(() => h.logged.length > 0);
        assert.deepEqual(h.logged, [`jayson ${transport} batch note`]);
      });
    });

    test("a notification runs and gets no answer", async () => {
      await withDemo(async (h) => {
        const client = makeClient(portOf(h.address));
        const answer = await within(
          new Promise((resolve, reject) =>
            client.request("Arith.log", [`jayson ${transport} notification`], null, (err?: unknown, a?: unknown) =>
              err ? reject(err) : resolve(a),
            ),
          ),
          5_000,
          "notification",
        );
        assert.equal(answer, undefined, "no answer");
        await until(() => h.logged.length > 0);
        assert.deepEqual(h.logged, [`jayson ${transport} notification`]);
      });
    });
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
