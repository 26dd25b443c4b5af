// The embedded registry, announcing servers, and clients by name or list (docs/cluster.md), on
// loopback with real servers. Each server counts the calls its handlers ran: the oracle for
// "every call settled once, none ran twice".
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RegistryStore } from "../src/discovery/registry/store.js";
import {
  announce,
  Code,
  createClient,
  createRegistry,
  type EndpointSet,
  RegistryService,
  RpcError,
} from "../src/index.js";
import { rejectsWith } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { assertGracefulClose, assertVersionSpread, Counter, type Replica, startReplica } from "./replicas.js";

const cleanups = trackCleanups();

const replica = (name: string, failing = false) => startReplica(name, cleanups, failing);

async function registry(limits = {}) {
  const r = createRegistry({ limits });
  const address = await r.listen("tcp://127.0.0.1:0");
  cleanups.push(() => r.close());
  return { registry: r, address };
}

function registryClient(address: string) {
  const client = createClient(address);
  cleanups.push(() => client.close());
  return client.service(RegistryService);
}

/** Resolves once `check` holds of a watched set. */
async function until(address: string, service: string, check: (s: EndpointSet) => boolean): Promise<EndpointSet> {
  const reg = registryClient(address);
  const abort = new AbortController();
  try {
    for await (const set of reg.watch({ service }, { signal: abort.signal })) if (check(set)) return set;
    throw new Error("watch ended");
  } finally {
    abort.abort();
  }
}

describe("registry store", () => {
  test("a lease's entries go when it is not renewed, stay when it is, and go at once when deregistered", () => {
    let now = 1_000_000;
    const store = new RegistryStore({ minTtlMs: 1_000, maxTtlMs: 5_000 }, () => now);
    const a = store.register([{ service: "S", address: "tcp://127.0.0.1:1" }], 1_000);
    const b = store.register([{ service: "S", address: "tcp://127.0.0.1:2" }], 1_000);
    assert.equal(a.ttlMs, 1_000);
    assert.equal(store.resolve("S", undefined).endpoints.length, 2);
    now += 900;
    store.keepAlive(a.leaseId);
    now += 200; // b is 1,100 ms old, a renewed 200 ms ago
    assert.deepEqual(
      store.resolve("S", undefined).endpoints.map((e) => e.address),
      ["tcp://127.0.0.1:1"],
    );
    assert.throws(
      () => store.keepAlive(b.leaseId),
      (e: RpcError) => e.code === Code.NotFound,
    );
    const rev = store.revision;
    store.deregister(a.leaseId);
    assert.equal(store.resolve("S", undefined).endpoints.length, 0);
    assert.ok(store.revision > rev);
    store.close();
  });

  test("TTLs are clamped to the limits; warm only after the longest TTL", () => {
    let now = 0;
    const store = new RegistryStore({ minTtlMs: 1_000, maxTtlMs: 5_000 }, () => now);
    assert.equal(store.register([{ service: "S", address: "tcp://h:1" }], 10).ttlMs, 1_000);
    assert.equal(store.register([{ service: "S", address: "tcp://h:2" }], 1e9).ttlMs, 5_000);
    assert.equal(store.warm, false);
    now = 5_000;
    assert.equal(store.warm, true);
    store.close();
  });

  test("versions: a range gets only the entries inside it; no range gets all", () => {
    const store = new RegistryStore();
    store.register([{ service: "S", address: "tcp://h:1", version: "1.4.0" }], undefined);
    store.register([{ service: "S", address: "tcp://h:2", version: "2.0.0" }], undefined);
    store.register([{ service: "S", address: "tcp://h:3" }], undefined);
    const at = (range?: string) =>
      store
        .resolve("S", range)
        .endpoints.map((e) => e.address)
        .sort();
    assert.deepEqual(at("^1.2"), ["tcp://h:1"]);
    assert.deepEqual(at(">=1"), ["tcp://h:1", "tcp://h:2"]);
    assert.deepEqual(at(), ["tcp://h:1", "tcp://h:2", "tcp://h:3"]);
    store.close();
  });

  test("leases beyond maxLeases are refused and nothing of them is kept", () => {
    const store = new RegistryStore({ maxLeases: 2 });
    store.register([{ service: "S", address: "tcp://h:1" }], undefined);
    store.register([{ service: "S", address: "tcp://h:2" }], undefined);
    assert.throws(
      () => store.register([{ service: "S", address: "tcp://h:3" }], undefined),
      (e: RpcError) => e.code === Code.ResourceExhausted,
    );
    assert.equal(store.resolve("S", undefined).endpoints.length, 2);
    store.close();
  });
});

describe("registry service", () => {
  test("bad requests get invalid_argument or resource_exhausted and register nothing", async () => {
    const { address, registry: r } = await registry({ maxEntriesPerLease: 2 });
    const reg = registryClient(address);
    const entry = { service: "S", address: "tcp://127.0.0.1:1" };
    const bad: unknown[] = [
      { entries: [{ service: "S", address: "no-scheme" }] },
      { entries: [{ service: "1bad", address: "tcp://h:1" }] },
      { entries: [{ ...entry, version: "one" }] },
      { entries: [{ ...entry, weight: 0 }] },
      { entries: [{ ...entry, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }] },
      { entries: [{ ...entry, zone: "z".repeat(257) }] },
      { entries: [] },
      { entries: "S" },
      { entries: [entry], ttlMs: -1 },
    ];
    for (const req of bad) await rejectsWith(reg.register(req as never), Code.InvalidArgument);
    await rejectsWith(reg.register({ entries: [entry, entry, entry] }), Code.ResourceExhausted);
    await rejectsWith(reg.resolve({ service: "S", version: "not a range!" }), Code.InvalidArgument);
    await rejectsWith(reg.keepAlive({ leaseId: "nope" }), Code.NotFound);
    assert.equal((await reg.list({})).leases.length, 0);
    assert.equal(r.store.revision, 0);
  });

  test("watches beyond maxWatches are refused; closing one makes room", async () => {
    const { address, registry: r } = await registry({ maxWatches: 2 });
    const reg = registryClient(address);
    const open = [
      reg.watch({ service: "S" })[Symbol.asyncIterator](),
      reg.watch({ service: "S" })[Symbol.asyncIterator](),
    ];
    for (const w of open) await w.next();
    await rejectsWith(reg.watch({ service: "S" })[Symbol.asyncIterator]().next(), Code.ResourceExhausted);
    await open[0]?.return?.();
    for (let i = 0; i < 50 && r.store.watchCount > 1; i++) await new Promise((res) => setTimeout(res, 10));
    const third = reg.watch({ service: "S" })[Symbol.asyncIterator]();
    assert.deepEqual((await third.next()).value?.endpoints, []);
    await third.return?.();
    await open[1]?.return?.();
  });

  test("a watch sends the set now and after each change; it ends when the registry closes", async () => {
    const { address, registry: r } = await registry();
    const reg = registryClient(address);
    const seen: string[][] = [];
    const watching = (async () => {
      for await (const set of reg.watch({ service: "S" })) {
        seen.push(set.endpoints.map((e) => e.address).sort());
        if (seen.length === 1) await reg.register({ entries: [{ service: "S", address: "tcp://h:1" }] });
        else if (seen.length === 2)
          await reg
            .register({ entries: [{ service: "Other", address: "tcp://h:9" }] })
            .then(() => reg.register({ entries: [{ service: "S", address: "tcp://h:2" }] }));
        else if (seen.length === 3) break;
      }
    })();
    await watching;
    assert.deepEqual(seen, [[], ["tcp://h:1"], ["tcp://h:1", "tcp://h:2"]]);
    // An open watch does not hold the registry's close back.
    const again = reg.watch({ service: "S" })[Symbol.asyncIterator]();
    await again.next();
    const ended = again.next();
    await r.close();
    const last = await ended.then(
      (x) => x,
      (e: unknown) => e,
    );
    assert.ok(last instanceof RpcError || (last as IteratorResult<unknown>).done === true);
  });
});

describe("clients by name", () => {
  test("two announced replicas share the calls; a version range keeps a client off the other major", async () => {
    const { address } = await registry();
    const a = await replica("a");
    const b = await replica("b");
    const c = await replica("c");
    const ann = [
      announce(a.server, address, { version: "1.2.0" }),
      announce(b.server, address, { version: "1.3.1" }),
      announce(c.server, address, { version: "2.0.0" }),
    ];
    await Promise.all(ann.map((x) => x.registered));
    const client = createClient(`registry://${address.slice("tcp://".length)}/Counter?version=^1.2`);
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    await assertVersionSpread(counter, a, b, c);
  });

  test("a replica closed under load: deregistered first, zero errors, no call run twice", async () => {
    const { address } = await registry();
    const a = await replica("a");
    const b = await replica("b");
    await Promise.all([announce(a.server, address).registered, announce(b.server, address).registered]);
    const client = createClient(`registry://${address.slice("tcp://".length)}/Counter`);
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    await until(address, "Counter", (s) => s.endpoints.length === 2);
    await assertGracefulClose(counter, a, b);
  });

  test("the registry restarted: clients keep calling, servers register again", async () => {
    const limits = { minTtlMs: 300, maxTtlMs: 1_500, defaultTtlMs: 600 };
    const first = await registry(limits);
    const port = first.address.slice(first.address.lastIndexOf(":") + 1);
    const a = await replica("a");
    await announce(a.server, first.address, { ttlMs: 600 }).registered;
    const client = createClient(`registry://127.0.0.1:${port}/Counter`);
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    assert.equal(await counter.who({}), "a");
    await first.registry.close();
    // Down: calls still go to the endpoint the client knew.
    for (let i = 0; i < 20; i++) assert.equal(await counter.who({}), "a");
    const second = createRegistry({ limits });
    await second.listen(`tcp://127.0.0.1:${port}`);
    cleanups.push(() => second.close());
    const set = await until(`tcp://127.0.0.1:${port}`, "Counter", (s) => s.endpoints.length === 1);
    assert.equal(set.endpoints[0]?.address, a.address);
    assert.equal(await counter.who({}), "a");
  });
});

describe("clients of a list", () => {
  test("ring_hash: a key sticks to one replica; when one closes only its keys move; a call may override the policy", async () => {
    const reps = await Promise.all([replica("a"), replica("b"), replica("c")]);
    const client = createClient(
      reps.map((r) => r.address),
      { balancer: "ring_hash" },
    );
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
    const place = async () => {
      const homes = new Map<string, string>();
      for (const k of keys) {
        const names = new Set(await Promise.all([1, 2, 3].map(() => counter.who({}, { hashKey: k }))));
        assert.equal(names.size, 1, `${k} went to ${[...names]}`);
        homes.set(k, [...names][0] as string);
      }
      return homes;
    };
    const before = await place();
    assert.equal(new Set(before.values()).size, 3, "the keys spread over the three");
    const spread = new Set(
      await Promise.all(Array.from({ length: 60 }, () => counter.who({}, { hashKey: "one", balancer: "round_robin" }))),
    );
    assert.equal(spread.size, 3, "round_robin for these calls, whatever their key");
    await reps[1]?.server.close();
    const after = await place();
    for (const k of keys) {
      if (before.get(k) === "b") assert.notEqual(after.get(k), "b");
      else assert.equal(after.get(k), before.get(k), `${k} moved though its replica stayed`);
    }
  });

  test("weighted_round_robin follows the weights the registry holds", async () => {
    const { address } = await registry();
    const a = await replica("a");
    const b = await replica("b");
    await Promise.all([
      announce(a.server, address, { weight: 100 }).registered,
      announce(b.server, address, { weight: 300 }).registered,
    ]);
    const client = createClient(`registry://${address.slice("tcp://".length)}/Counter`, {
      balancer: "weighted_round_robin",
    });
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    await until(address, "Counter", (s) => s.endpoints.length === 2);
    assert.ok(["a", "b"].includes(await counter.who({})));
    // Settle the view: the first call may have gone before both endpoints were known.
    a.runs.who = 0;
    b.runs.who = 0;
    for (let i = 0; i < 400; i++) await counter.who({});
    assert.ok(Math.abs(b.runs.who - 300) <= 3 && Math.abs(a.runs.who - 100) <= 3, `a ${a.runs.who}, b ${b.runs.who}`);
  });

  test("a dead address costs nothing: refused connects go to the live one", async () => {
    const a = await replica("a");
    const dead = await replica("dead");
    const deadAddress = dead.address;
    await dead.server.close();
    const client = createClient([deadAddress, a.address]);
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    const names = await Promise.all(Array.from({ length: 100 }, () => counter.hit({})));
    assert.ok(names.every((n) => n === "a"));
    assert.equal(a.runs.hit, 100);
  });

  test("a connection lost in flight: an idempotent call is retried elsewhere, another reports its outcome unknown", async () => {
    const a = await replica("a");
    const b = await replica("b");
    const client = createClient([a.address, b.address], { balancer: "round_robin" });
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    await Promise.all(Array.from({ length: 4 }, () => counter.who({}))); // both connected
    const who = Promise.allSettled(Array.from({ length: 6 }, () => counter.who({ ms: 300 })));
    const hit = Promise.allSettled(Array.from({ length: 6 }, () => counter.hit({ ms: 300 })));
    await new Promise((r) => setTimeout(r, 50));
    const hitRunsBefore = a.runs.hit + b.runs.hit;
    await a.server.close({ graceMs: 0 }); // a's in-flight calls are cut
    const whoResults = await who;
    const hitResults = await hit;
    assert.ok(
      whoResults.every((r) => r.status === "fulfilled"),
      "idempotent calls all succeed",
    );
    const lost = hitResults.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    assert.ok(lost.length > 0, "some hits were on a");
    for (const r of lost) {
      const err = r.reason as RpcError;
      assert.equal(err.code, Code.Unavailable);
      assert.deepEqual(
        (err.details.at(-1) as { outcome?: string; endpoint?: string }).outcome,
        "unknown",
        JSON.stringify(err.details),
      );
      assert.equal((err.details.at(-1) as { endpoint?: string }).endpoint, a.address);
    }
    assert.equal(a.runs.hit + b.runs.hit, hitRunsBefore, "no hit ran twice");
  });

  test("an empty list is refused; a name with no replicas fails with unavailable", async () => {
    assert.throws(() => createClient([]), TypeError);
    const { address } = await registry();
    const client = createClient(`registry://${address.slice("tcp://".length)}/Nobody`);
    cleanups.push(() => client.close());
    const err = await rejectsWith(client.service(Counter).who({}, { timeoutMs: 2_000 }), Code.Unavailable);
    assert.match(err.message, /no endpoints for/);
  });
});

describe("farcall registry and call by name", () => {
  test("ls shows the lease; call reaches the service by name", async () => {
    const { farcall } = await import("./cli-run.js");
    const { address } = await registry();
    const a = await replica("a");
    await announce(a.server, address, { version: "1.0.0", zone: "z1" }).registered;
    const ls = await farcall("registry", "ls", address);
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines[0].leases, 1);
    assert.deepEqual(lines[1].entries, [{ service: "Counter", address: a.address, version: "1.0.0", zone: "z1" }]);
    const call = await farcall("call", `registry://${address.slice("tcp://".length)}/Counter`, "Counter/who", "{}");
    assert.equal(call.code, 0, call.stderr);
    assert.equal(JSON.parse(call.stdout), "a");
    const bad = await farcall("registry", "ls", "tcp://127.0.0.1:1");
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unavailable/);
  });
});

describe("outlier ejection", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test("a sick replica is ejected after a few failures, probed after its ejection time, readmitted once well", async () => {
    const reps = await Promise.all([replica("a"), replica("b"), replica("c", true)]);
    const c = reps[2] as Replica;
    // One attempt per call, so every call that reached c is a failure the caller sees.
    const client = createClient(
      reps.map((r) => r.address),
      { maxAttempts: 1, outlier: { minCalls: 5, windowCalls: 10, baseEjectionMs: 300 } },
    );
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    let failed = 0;
    let calls = 0;
    let sawEjected = false;
    // 1.2 s of calls, 10 at a time: without ejection about a third would reach c.
    for (const end = Date.now() + 1_200; Date.now() < end; ) {
      const batch = await Promise.allSettled(Array.from({ length: 10 }, () => counter.who({})));
      calls += 10;
      failed += batch.filter((r) => r.status === "rejected").length;
      sawEjected ||= client.endpoints().some((e) => e.address === c.address && e.health === "ejected");
      await sleep(20);
    }
    assert.ok(sawEjected, "c was seen ejected");
    assert.equal(failed, c.runs.who, "the only failures are the calls c ran");
    // Until the window judges (5 calls, more in flight) and then one probe per ejection (300, 600, 900 ms).
    assert.ok(c.runs.who <= 25, `c ran ${c.runs.who} of ${calls} calls`);
    assert.ok(c.runs.who >= 6, `c was probed again after its first ejection (${c.runs.who})`);
    const ejections = client.endpoints().filter((e) => e.health !== "healthy");
    assert.ok(ejections.length <= 1, "only c");

    // c recovers: within its ejection time (at most 900 ms now) a probe succeeds and readmits it.
    c.failing = false;
    const before = c.runs.who;
    for (const end = Date.now() + 3_000; Date.now() < end; ) {
      await Promise.all(Array.from({ length: 10 }, () => counter.who({})));
      if (client.endpoints().every((e) => e.health === "healthy") && c.runs.who > before) break;
      await sleep(20);
    }
    assert.ok(
      client.endpoints().every((e) => e.health === "healthy"),
      JSON.stringify(client.endpoints()),
    );
    const base = c.runs.who;
    await Promise.all(Array.from({ length: 300 }, () => counter.who({})));
    assert.ok(c.runs.who - base >= 40, `c is back in the spread: ${c.runs.who - base} of 300`);
  });

  test("every replica failing: at most max(1, floor(n x share)) are ejected at once, so calls still spread", async () => {
    const reps = await Promise.all([replica("a", true), replica("b", true), replica("c", true)]);
    const client = createClient(
      reps.map((r) => r.address),
      { maxAttempts: 1, outlier: { minCalls: 3, windowCalls: 5, baseEjectionMs: 60_000 } },
    );
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    let most = 0;
    for (let i = 0; i < 30; i++) {
      await Promise.allSettled(Array.from({ length: 10 }, () => counter.who({})));
      most = Math.max(most, client.endpoints().filter((e) => e.health !== "healthy").length);
    }
    assert.equal(most, 1, "one of three (share 0.5) is ejected, no more");
    const ran = reps.map((r) => r.runs.who).sort((x, y) => x - y);
    assert.ok((ran[1] as number) >= 60, `two replicas keep taking calls: ${ran}`);
  });

  test("outlier: false keeps a failing replica in the spread", async () => {
    const reps = await Promise.all([replica("a"), replica("b", true)]);
    const off = createClient(
      reps.map((r) => r.address),
      { maxAttempts: 1, outlier: false, balancer: "round_robin" },
    );
    cleanups.push(() => off.close());
    const counter = off.service(Counter);
    await Promise.allSettled(Array.from({ length: 100 }, () => counter.who({})));
    assert.ok((reps[1] as Replica).runs.who >= 45, `b still gets its share: ${(reps[1] as Replica).runs.who}`);
    assert.ok(off.endpoints().every((e) => e.health === "healthy"));
  });
});

describe("hedging", () => {
  test("an idempotent call slow on one replica is answered by the other; the slow copy is canceled", async () => {
    const a = await replica("a");
    const b = await replica("b");
    a.slowMs = 3_000;
    const client = createClient([a.address, b.address], { balancer: "round_robin", hedging: { delayMs: 50 } });
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    const names: string[] = [];
    for (let i = 0; i < 10; i++) names.push(await counter.who({}));
    assert.deepEqual(new Set(names), new Set(["b"]), "every answer came from the fast replica");
    assert.ok(a.runs.who >= 3, `first copies went to a too (${a.runs.who})`);
    assert.equal(b.runs.who, 10, "b ran each call once: a first copy, or the hedge of one on a");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.canceled, a.runs.who, "each slow copy was canceled once answered elsewhere");
  });

  test("methods that are not idempotent, calls with hedging: false, and single endpoints are never hedged", async () => {
    const a = await replica("a");
    const b = await replica("b");
    a.slowMs = 300;
    const client = createClient([a.address, b.address], { balancer: "round_robin", hedging: { delayMs: 20 } });
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    await Promise.all([
      ...Array.from({ length: 4 }, () => counter.hit({})),
      ...Array.from({ length: 4 }, () => counter.who({}, { hedging: false })),
    ]);
    assert.equal(a.runs.hit + b.runs.hit, 4, "no copies of hit");
    assert.equal(a.runs.who + b.runs.who, 4, "no copies of who with hedging: false");
    assert.equal(a.canceled, 0);
  });

  test("a copy that fails with unavailable starts the next at once; every copy failing fails the call", async () => {
    const a = await replica("a", true);
    const b = await replica("b");
    const client = createClient([a.address, b.address], {
      balancer: "round_robin",
      hedging: { delayMs: 10_000 },
      outlier: false,
    });
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    for (let i = 0; i < 6; i++) assert.equal(await counter.who({}), "b", "a's failure moved the call to b at once");
    b.failing = true;
    const err = await rejectsWith(counter.who({}), Code.Unavailable);
    assert.ok(
      err.details.some((d) => typeof d === "object" && d !== null && "endpoint" in d),
      JSON.stringify(err.details),
    );
  });
});

describe("retry budget", () => {
  test("a retry storm against failing replicas: attempts per call fall to <= 1.1 once the budget is spent", async () => {
    const a = await replica("a", true);
    const b = await replica("b", true);
    const client = createClient([a.address, b.address]);
    cleanups.push(() => client.close());
    const counter = client.service(Counter);
    const calls = 400;
    for (let i = 0; i < calls; i += 10) {
      const batch = await Promise.allSettled(Array.from({ length: 10 }, () => counter.who({})));
      assert.ok(batch.every((r) => r.status === "rejected" && (r.reason as RpcError).code === Code.Unavailable));
    }
    const attempts = a.runs.who + b.runs.who;
    assert.ok(attempts / calls <= 1.1, `${attempts} attempts for ${calls} calls`);
    assert.ok(attempts > calls, "some calls were retried before the budget ran out");
  });
});
