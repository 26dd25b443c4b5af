// etcd as the registry's engine (docs/cluster.md, "etcd"), against real etcd members on loopback
// (test/etcd.ts): announce and resolve by name, leases, versions, a compacted watch, and the faults
// the cluster must ride out: the leader killed, a member killed, every member down for 30 s.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { etcdResolver } from "../src/discovery/etcd/resolver.js";
import { announce, type Client, Code, createClient, parseEtcdAddress, RpcError } from "../src/index.js";
import { EtcdCluster } from "./etcd.js";
import { trackCleanups } from "./helpers.js";
import { assertGracefulClose, assertVersionSpread, Counter, startReplica } from "./replicas.js";

const cleanups = trackCleanups();
const replica = (name: string) => startReplica(name, cleanups);
let prefixes = 0;
/** A key prefix of its own for each test, so that tests sharing an etcd do not see each other. */
const freshPrefix = () => `t${process.pid}-${++prefixes}/`;

/** A resolver's view of a service: the addresses it published last, and a way to wait for one. */
function view(address: string) {
  const resolver = etcdResolver(parseEtcdAddress(address));
  let current: string[] = [];
  const errors: string[] = [];
  let changed: () => void = () => {};
  resolver.start({
    onUpdate(endpoints) {
      current = endpoints.map((e) => e.address).sort();
      changed();
    },
    onError(err) {
      errors.push(err.message);
    },
  });
  cleanups.push(() => resolver.close());
  return {
    get current() {
      return current;
    },
    errors,
    /** Waits until the view is `want` (sorted), at most `ms`. */
    async until(want: readonly string[], ms = 20_000): Promise<void> {
      const goal = JSON.stringify([...want].sort());
      const end = Date.now() + ms;
      while (JSON.stringify(current) !== goal) {
        if (Date.now() > end)
          throw new Error(`view ${JSON.stringify(current)}, want ${goal}; errors ${errors.slice(-3)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 100);
          changed = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    },
  };
}

function client(address: string): Client {
  const c = createClient(address);
  cleanups.push(() => c.close());
  return c;
}

/** Calls `who` one at a time until `done()` says stop (bounded by `ms`); every failure is kept. */
async function callWhile(c: Client, done: () => boolean, ms: number) {
  const counter = c.service(Counter);
  const failures: unknown[] = [];
  const names = new Map<string, number>();
  const end = Date.now() + ms;
  let calls = 0;
  while (!done() && Date.now() < end) {
    calls++;
    try {
      const n = await counter.who({}, { timeoutMs: 2_000 });
      names.set(n, (names.get(n) ?? 0) + 1);
    } catch (err) {
      failures.push(err);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { calls, failures, names };
}

describe("etcd, one member", () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await EtcdCluster.start(1);
  });
  after(() => etcd.stop());

  test("two announced replicas share the calls; a version range keeps a client off the other major", async () => {
    const p = freshPrefix();
    const at = `etcd://${etcd.endpoints}?prefix=${p}`;
    const [a, b, c] = await Promise.all([replica("a"), replica("b"), replica("c")]);
    await Promise.all([
      announce(a.server, at, { version: "1.2.0" }).registered,
      announce(b.server, at, { version: "1.3.1", zone: "z1" }).registered,
      announce(c.server, at, { version: "2.0.0" }).registered,
    ]);
    // What etcd holds: one key per replica under the service, each bound to a lease.
    const keys = (await etcd.ctl(["get", "--prefix", "--keys-only", `${p}services/Counter/`]))
      .split("\n")
      .filter(Boolean);
    assert.deepEqual(keys.sort(), [a, b, c].map((r) => `${p}services/Counter/${encodeURIComponent(r.address)}`).sort());
    const counter = client(`etcd://${etcd.endpoints}/Counter?version=^1.2&prefix=${p}`).service(Counter);
    await assertVersionSpread(counter, a, b, c);
  });

  test("a replica closed under load: its lease revoked first, zero errors, no call run twice", async () => {
    const p = freshPrefix();
    const at = `etcd://${etcd.endpoints}?prefix=${p}`;
    const [a, b] = await Promise.all([replica("a"), replica("b")]);
    await Promise.all([announce(a.server, at).registered, announce(b.server, at).registered]);
    const name = `etcd://${etcd.endpoints}/Counter?prefix=${p}`;
    await view(name).until([a.address, b.address]);
    const counter = client(name).service(Counter);
    await assertGracefulClose(counter, a, b);
    assert.equal(
      await etcd.ctl(["get", "--prefix", "--keys-only", `${p}services/Counter/${encodeURIComponent(a.address)}`]),
      "",
    );
  });

  test("a server that stopped renewing is gone after its TTL; values that are not entries are ignored", async () => {
    const p = freshPrefix();
    const dir = `${p}services/Counter/`;
    const seen = view(`etcd://${etcd.endpoints}/Counter?prefix=${p}`);
    // A server that died without revoking: its key under a 2 s lease nobody renews.
    const lease = /lease ([0-9a-f]+) granted/.exec(await etcd.ctl(["lease", "grant", "2"]))?.[1];
    assert.ok(lease !== undefined);
    const entry = JSON.stringify({ service: "Counter", address: "tcp://127.0.0.1:9" });
    await etcd.ctl(["put", `--lease=${lease}`, `${dir}dead`, entry]);
    for (const [k, v] of [
      ["garbage", "{not json"],
      ["wrong-service", JSON.stringify({ service: "Other", address: "tcp://127.0.0.1:8" })],
      ["no-scheme", JSON.stringify({ service: "Counter", address: "127.0.0.1:7" })],
      ["bad-version", JSON.stringify({ service: "Counter", address: "tcp://127.0.0.1:6", version: "one" })],
    ] as const)
      await etcd.ctl(["put", `${dir}${k}`, v]);
    await seen.until(["tcp://127.0.0.1:9"]);
    const at = Date.now();
    await seen.until([], 10_000);
    assert.ok(Date.now() - at >= 500, "the key lived until its lease expired");
  });

  test("a lease revoked behind the server's back: the server registers again", async () => {
    const p = freshPrefix();
    const a = await replica("a");
    const ann = announce(a.server, `etcd://${etcd.endpoints}?prefix=${p}`, { ttlMs: 3_000 });
    await ann.registered;
    const seen = view(`etcd://${etcd.endpoints}/Counter?prefix=${p}`);
    await seen.until([a.address]);
    const first = ann.leaseId;
    assert.ok(first !== undefined);
    await etcd.ctl(["lease", "revoke", BigInt(first).toString(16)]);
    await seen.until([]);
    await seen.until([a.address], 10_000);
    assert.notEqual(ann.leaseId, first);
  });

  test("the demo server announces itself in etcd; farcall registry ls, watch and call by name", async () => {
    const { farcall } = await import("./cli-run.js");
    const p = freshPrefix();
    const at = `etcd://${etcd.endpoints}?prefix=${p}`;
    const demo = spawn(process.execPath, [
      fileURLToPath(new URL("../examples/demo/server.js", import.meta.url)),
      "--listen",
      "tcp://127.0.0.1:0",
      "--no-udp",
      "--registry",
      at,
      "--service-version",
      "1.4.0",
    ]);
    const exited = new Promise((r) => demo.once("exit", r));
    cleanups.push(async () => {
      demo.kill("SIGKILL");
      await exited;
    });
    const lines = createInterface({ input: demo.stdout });
    let address = "";
    for await (const line of lines) {
      const m = /^announcing (\S+)/.exec(line);
      if (m !== null) {
        address = m[1] as string;
        break;
      }
    }
    const watcher = spawn(process.execPath, [
      fileURLToPath(new URL("../src/cli/main.js", import.meta.url)),
      "registry",
      "watch",
      at,
      "Arith",
    ]);
    const watcherExited = new Promise((r) => watcher.once("exit", r));
    cleanups.push(async () => {
      watcher.kill("SIGINT");
      await watcherExited;
    });
    const sets = createInterface({ input: watcher.stdout })[Symbol.asyncIterator]();
    const nextSet = async () => JSON.parse((await sets.next()).value as string) as { endpoints: { address: string }[] };
    let set = await nextSet();
    while (set.endpoints.length === 0) set = await nextSet();
    assert.deepEqual(
      set.endpoints.map((e) => e.address),
      [address],
    );

    const ls = await farcall("registry", "ls", at);
    assert.equal(ls.code, 0, ls.stderr);
    const [head, ...entries] = ls.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(head.entries, entries.length);
    assert.ok(
      entries.some((e) => e.entry.service === "Arith" && e.entry.address === address && e.entry.version === "1.4.0"),
    );
    assert.ok(entries.every((e) => /^[0-9a-f]+$/.test(e.lease)));
    const name = `etcd://${etcd.endpoints}/Arith?version=^1.2&prefix=${p}`;
    const call = await farcall("call", name, "Arith/add", '{"a":1,"b":2}');
    assert.equal(call.code, 0, call.stderr);
    assert.equal(JSON.parse(call.stdout), 3);
    const off = await farcall(
      "call",
      `etcd://${etcd.endpoints}/Arith?version=^2&prefix=${p}`,
      "Arith/add",
      '{"a":1,"b":2}',
    );
    assert.notEqual(off.code, 0, "no replica in range ^2");

    // SIGTERM: the demo revokes its lease before it drains; the watch sees the set empty.
    demo.kill("SIGTERM");
    set = await nextSet();
    assert.deepEqual(set.endpoints, []);
    const bad = await farcall("registry", "ls", "etcd://127.0.0.1:1");
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unavailable/);
  });

  test("a malformed etcd:// address is refused with invalid_argument", () => {
    for (const bad of [
      "etcd://",
      "etcd://host/Counter",
      "etcd://127.0.0.1:2379/",
      "etcd://127.0.0.1:2379/9bad",
      "etcd://a:1,,b:2/X",
    ])
      assert.throws(
        () => createClient(bad),
        (err: unknown) => err instanceof RpcError && err.code === Code.InvalidArgument,
        bad,
      );
    assert.throws(() => parseEtcdAddress("etcd://127.0.0.1:2379/Counter", false), /names no service/);
    assert.deepEqual(parseEtcdAddress("etcd://a:1,[::1]:2/Counter?version=^1&prefix=x/"), {
      hosts: ["a:1", "[::1]:2"],
      prefix: "x/",
      service: "Counter",
      version: "^1",
    });
  });
});

describe("etcd, three members", () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await EtcdCluster.start(3);
  });
  after(() => etcd.stop());

  test("a watch whose revision was compacted away while its member was down reads everything again", async () => {
    const p = freshPrefix();
    const [a, b, c] = await Promise.all([replica("a"), replica("b"), replica("c")]);
    const only = etcd.members[0];
    assert.ok(only !== undefined);
    const others = etcd.members.filter((m) => m !== only);
    const at = `etcd://${etcd.endpoints}?prefix=${p}`;
    const ann = [announce(a.server, at), announce(b.server, at)];
    await Promise.all(ann.map((x) => x.registered));
    // This view reaches etcd only through the member about to go down.
    const seen = view(`etcd://${only.client}/Counter?prefix=${p}`);
    await seen.until([a.address, b.address]);
    await etcd.kill(only);
    await ann[0]?.stop(); // a leaves
    await announce(c.server, at).registered; // c joins
    // One more write, then compact up to it: every revision the view has not seen is gone.
    const rev = JSON.parse(await etcd.ctl(["put", "-w", "json", `${p}filler`, "x"], others)).header.revision;
    await etcd.ctl(["compact", String(rev), "--physical"], others);
    etcd.restart(only);
    await etcd.healthy();
    await seen.until([b.address, c.address]);
    // etcd cancels a watch that starts at a compacted revision; the resolver read everything again.
    assert.ok(
      seen.errors.some((e) => /Watcher canceled/.test(e)),
      `the watch was cancelled: ${seen.errors}`,
    );
  });

  test("the leader killed, then a follower killed: calls keep flowing, the view follows every change", async () => {
    const p = freshPrefix();
    const at = `etcd://${etcd.endpoints}?prefix=${p}`;
    const name = `etcd://${etcd.endpoints}/Counter?prefix=${p}`;
    const [a, b, c, d] = await Promise.all([replica("a"), replica("b"), replica("c"), replica("d")]);
    await Promise.all([
      announce(a.server, at, { ttlMs: 3_000 }).registered,
      announce(b.server, at, { ttlMs: 3_000 }).registered,
    ]);
    const seen = view(name);
    await seen.until([a.address, b.address]);
    let stop = false;
    const load = callWhile(client(name), () => stop, 60_000);

    const leader = await etcd.leader();
    await etcd.kill(leader);
    await announce(c.server, at, { ttlMs: 3_000 }).registered;
    await seen.until([a.address, b.address, c.address]);
    etcd.restart(leader);
    await etcd.healthy();

    const follower = etcd.members.find((m) => m !== leader) ?? leader;
    const now = await etcd.leader();
    const victim = follower === now ? (etcd.members.find((m) => m !== leader && m !== now) ?? follower) : follower;
    await etcd.kill(victim);
    await announce(d.server, at, { ttlMs: 3_000 }).registered;
    await seen.until([a.address, b.address, c.address, d.address]);
    etcd.restart(victim);
    await etcd.healthy();

    stop = true;
    const { calls, failures, names } = await load;
    assert.equal(failures.length, 0, String(failures[0]));
    assert.ok(calls > 20, `${calls} calls`);
    assert.ok((names.get("a") ?? 0) > 0 && (names.get("b") ?? 0) > 0, JSON.stringify([...names]));
  });

  test("every member down for 30 s: zero failed calls; when etcd returns the view converges", async () => {
    const p = freshPrefix();
    const at = `etcd://${etcd.endpoints}?prefix=${p}`;
    const name = `etcd://${etcd.endpoints}/Counter?prefix=${p}`;
    const [a, b, d] = await Promise.all([replica("a"), replica("b"), replica("d")]);
    await Promise.all([
      announce(a.server, at, { ttlMs: 4_000 }).registered,
      announce(b.server, at, { ttlMs: 4_000 }).registered,
    ]);
    const seen = view(name);
    await seen.until([a.address, b.address]);
    const c = client(name);
    assert.ok(["a", "b"].includes(await c.service(Counter).who({})));

    let stop = false;
    const load = callWhile(c, () => stop, 90_000);
    await Promise.all(etcd.members.map((m) => etcd.kill(m)));
    const downAt = Date.now();
    // While etcd is down: a replica closes (its revoke cannot reach etcd) and a new one announces itself.
    await b.server.close();
    const late = announce(d.server, at, { ttlMs: 4_000 });
    while (Date.now() - downAt < 30_000) await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(seen.current, [a.address, b.address].sort(), "the view kept the last known endpoints");
    for (const m of etcd.members) etcd.restart(m);
    await etcd.healthy();
    await late.registered;
    // b's lease expires on its own; a's keys are renewed or registered again; d's appear.
    await seen.until([a.address, d.address], 30_000);
    stop = true;
    const { calls, failures, names } = await load;
    assert.equal(failures.length, 0, String(failures[0]));
    assert.ok(calls > 200, `${calls} calls`);
    assert.ok((names.get("a") ?? 0) > 100, JSON.stringify([...names]));
  });
});
