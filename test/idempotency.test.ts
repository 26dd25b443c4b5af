// Idempotency keys (docs/cluster.md): a unary call with a key runs at most once on a server; a
// repeat gets the first outcome. Real servers on loopback; the handler's run count is the oracle.
import assert from "node:assert/strict";
import { createServer as createNetServer, connect as netConnect, type Socket } from "node:net";
import { describe, test } from "node:test";
import {
  Code,
  createClient,
  createServer,
  defineService,
  type IdempotencyOptions,
  MemoryIdempotencyStore,
  RpcError,
  unary,
} from "../src/index.js";
import { http, rejectsWith, sleep } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

const Orders = defineService("Orders", {
  /** Not idempotent: each run places an order. */
  place: unary<{ item: string; ms?: number; fail?: string; big?: number }, { order: number; item: string }>(),
});

/** A server of Orders whose `runs` counts the handler's runs. */
async function orders(idempotency?: IdempotencyOptions | false, honourCancel = false) {
  const runs: string[] = [];
  const server = createServer({ idempotency, graceMs: 0 }).add(Orders, {
    async place({ item, ms, fail, big }, ctx) {
      runs.push(item);
      if (ms !== undefined) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            if (honourCancel) reject(ctx.signal.reason);
            else resolve();
          });
        });
      }
      if (fail !== undefined) throw new RpcError(Code.NotFound, fail);
      return { order: runs.length, item: big === undefined ? item : "x".repeat(big) };
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 0 }));
  const client = createClient(address);
  cleanups.push(() => client.close());
  return { server, address, runs, orders: client.service(Orders) };
}

describe("idempotency keys", () => {
  test("a repeated key gets the first outcome; another key runs; no key runs every time", async () => {
    const { runs, orders: o } = await orders();
    const first = await o.place({ item: "book" }, { idempotencyKey: "k-1" });
    const again = await o.place({ item: "book" }, { idempotencyKey: "k-1" });
    assert.deepEqual(again, first);
    assert.deepEqual(runs, ["book"]);
    await o.place({ item: "book" }, { idempotencyKey: "k-2" });
    await o.place({ item: "book" });
    await o.place({ item: "book" });
    assert.equal(runs.length, 4);
  });

  test("concurrent calls with one key: the handler runs once and every caller gets its result", async () => {
    const { runs, orders: o } = await orders();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => o.place({ item: "pen", ms: 100 }, { idempotencyKey: "same" })),
    );
    assert.deepEqual(runs, ["pen"]);
    assert.ok(results.every((r) => r.order === 1));
  });

  test("an error is an outcome too; a key reused with another input is refused unrun", async () => {
    const { runs, orders: o } = await orders();
    const e1 = await rejectsWith(o.place({ item: "gone", fail: "sold out" }, { idempotencyKey: "e" }), Code.NotFound);
    const e2 = await rejectsWith(o.place({ item: "gone", fail: "sold out" }, { idempotencyKey: "e" }), Code.NotFound);
    assert.equal(e2.rawMessage, e1.rawMessage);
    assert.equal(runs.length, 1);
    const misuse = await rejectsWith(o.place({ item: "other" }, { idempotencyKey: "e" }), Code.InvalidArgument);
    assert.match(misuse.message, /another request/);
    assert.equal(runs.length, 1, "nothing ran");
  });

  test("bad keys are refused with invalid_argument", async () => {
    const { runs, orders: o } = await orders();
    for (const key of ["x".repeat(257), "é", "a b", "tab\t"])
      await rejectsWith(o.place({ item: "a" }, { idempotencyKey: key }), Code.InvalidArgument);
    assert.equal(runs.length, 0);
  });

  test("a first call canceled by its caller while it ran leaves no record: the next call with the key runs", async () => {
    const { runs, orders: o } = await orders(undefined, true);
    const abort = new AbortController();
    const first = o.place({ item: "a", ms: 2_000 }, { idempotencyKey: "c", signal: abort.signal });
    await sleep(50);
    abort.abort();
    await rejectsWith(first, Code.Canceled);
    await sleep(20);
    const second = await o.place({ item: "a" }, { idempotencyKey: "c" });
    assert.equal(runs.length, 2);
    assert.equal(second.order, 2);
  });

  test("bounds: the oldest of maxKeys goes; an outcome expires after ttlMs; one over maxOutcomeBytes is not kept", async () => {
    const { runs, orders: o } = await orders({ maxKeys: 3, ttlMs: 300, maxOutcomeBytes: 1_000 });
    for (const k of ["1", "2", "3", "4"]) await o.place({ item: k }, { idempotencyKey: k });
    await o.place({ item: "4" }, { idempotencyKey: "4" });
    await o.place({ item: "2" }, { idempotencyKey: "2" });
    assert.equal(runs.length, 4, "2 and 4 are kept");
    await o.place({ item: "1" }, { idempotencyKey: "1" });
    assert.equal(runs.length, 5, "1 was the oldest and went");
    await sleep(350);
    await o.place({ item: "4" }, { idempotencyKey: "4" });
    assert.equal(runs.length, 6, "expired");
    await o.place({ item: "big", big: 2_000 }, { idempotencyKey: "big" });
    const err = await rejectsWith(o.place({ item: "big", big: 2_000 }, { idempotencyKey: "big" }), Code.AlreadyExists);
    assert.match(err.message, /too large to keep/);
    assert.equal(runs.length, 7, "it ran once");
  });

  test("the memory store stays within its count and bytes whatever is put", () => {
    const store = new MemoryIdempotencyStore(100, 10_000);
    for (let i = 0; i < 5_000; i++) store.set(`k${i}`, { fingerprint: "f", output: i }, 60_000, 500);
    assert.ok(store.size <= 20, `${store.size} entries of 500 bytes in 10,000`);
    assert.equal(store.get("k4999")?.output, 4999);
    assert.equal(store.get("k0"), undefined);
  });

  test("idempotency: false runs every call", async () => {
    const { runs, orders: o } = await orders(false);
    await o.place({ item: "a" }, { idempotencyKey: "k" });
    await o.place({ item: "a" }, { idempotencyKey: "k" });
    assert.equal(runs.length, 2);
  });

  test("HTTP JSON: the Idempotency-Key header", async () => {
    const { runs, address } = await orders();
    const port = Number(new URL(address).port);
    const post = () =>
      http(
        port,
        "POST",
        "/Orders/place",
        { "content-type": "application/json", "idempotency-key": "h-1" },
        JSON.stringify({ item: "mug" }),
      );
    const a = await post();
    const b = await post();
    assert.equal(a.status, 200);
    assert.equal(b.body, a.body);
    assert.equal(runs.length, 1);
  });
});

/** A TCP proxy on loopback whose connections can be cut while the server behind it lives on. */
async function cuttingProxy(target: string) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const proxy = createNetServer((inbound) => {
    const outbound = netConnect(Number(port), hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = `tcp://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        cut();
        proxy.close(() => resolve());
      }),
  );
  return { address, cut };
}

describe("idempotency keys through a balancer", () => {
  test("a connection lost in flight: the keyed call is sent again to the same replica and runs once", async () => {
    const { runs, address } = await orders();
    const { address: via, cut } = await cuttingProxy(address);
    // A list makes a balanced client: the one that retries.
    const client = createClient([via]);
    cleanups.push(() => client.close());
    const o = client.service(Orders);
    await o.place({ item: "warm" }); // connected
    const keyed = o.place({ item: "desk", ms: 300 }, { idempotencyKey: "order-77", timeoutMs: 5_000 });
    const plain = o.place({ item: "chair", ms: 300 }, { timeoutMs: 5_000 }).catch((e: unknown) => e as RpcError);
    await sleep(100);
    cut(); // the server lives; its handlers are aborted and (these ones) finish anyway
    const result = await keyed;
    assert.equal(result.item, "desk");
    assert.equal(runs.filter((r) => r === "desk").length, 1, "the keyed call ran once");
    const lost = (await plain) as RpcError;
    assert.equal(lost.code, Code.Unavailable);
    assert.equal((lost.details.at(-1) as { outcome?: string }).outcome, "unknown");
    assert.equal(runs.filter((r) => r === "chair").length, 1, "the other was not sent again");
  });

  test("a replica gone for good: the keyed call's outcome is unknown, and it is not sent elsewhere", async () => {
    const a = await orders();
    const b = await orders();
    const { address: via, cut } = await cuttingProxy(a.address);
    const client = createClient([via, b.address], { balancer: "round_robin", maxAttempts: 3 });
    cleanups.push(() => client.close());
    const o = client.service(Orders);
    await Promise.all([o.place({ item: "w" }), o.place({ item: "w" })]);
    const calls = Array.from({ length: 4 }, (_, i) =>
      o.place({ item: `k${i}`, ms: 300 }, { idempotencyKey: `key-${i}`, timeoutMs: 5_000 }).catch((e: unknown) => e),
    );
    await sleep(100);
    await a.server.close({ graceMs: 0 });
    cut();
    const settled = await Promise.all(calls);
    for (let i = 0; i < 4; i++) {
      const r = settled[i];
      const ranOn = (a.runs.includes(`k${i}`) ? 1 : 0) + (b.runs.includes(`k${i}`) ? 1 : 0);
      assert.equal(ranOn, 1, `k${i} ran exactly once`);
      if (r instanceof RpcError) {
        assert.ok(a.runs.includes(`k${i}`), "only a call that was on the replica that went fails");
        assert.equal((r.details.at(-1) as { outcome?: string }).outcome, "unknown", JSON.stringify(r.details));
      }
    }
    assert.ok(
      settled.some((r) => r instanceof RpcError),
      "some calls were on a",
    );
  });
});
