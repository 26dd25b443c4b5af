// Replicas for the cluster tests: a Counter server that counts the calls its handlers ran, the
// oracle for "every call settled once, none ran twice".
import assert from "node:assert/strict";
import { Code, createServer, defineService, RpcError, type Server, type ServiceClient, unary } from "../src/index.js";

export const Counter = defineService("Counter", {
  /** Not idempotent: each run counts. */
  hit: unary<{ ms?: number }, string>(),
  /** Idempotent: a read. */
  who: unary<{ ms?: number }, string>({ idempotent: true }),
});

export interface Replica {
  server: Server;
  address: string;
  runs: { hit: number; who: number };
  /** While true, `who` fails with `unavailable` (a sick replica); it can be changed at any time. */
  failing: boolean;
  /** Added to every call's `ms` (a slow replica); it can be changed at any time. */
  slowMs: number;
  /** Calls whose handler saw its call canceled. */
  canceled: number;
}

/** A server of {@link Counter} on loopback that counts the calls its handlers ran; closed by `cleanups`. */
export async function startReplica(name: string, cleanups: (() => unknown)[], failing = false): Promise<Replica> {
  const runs = { hit: 0, who: 0 };
  const wait = (given: number | undefined, signal: AbortSignal) => {
    const ms = given === undefined && replica.slowMs === 0 ? undefined : (given ?? 0) + replica.slowMs;
    return ms === undefined
      ? undefined
      : new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          signal.addEventListener(
            "abort",
            () => {
              clearTimeout(t);
              replica.canceled++;
              resolve();
            },
            { once: true },
          );
        });
  };
  const server = createServer({ graceMs: 2_000 }).add(Counter, {
    async hit({ ms }, ctx) {
      runs.hit++;
      await wait(ms, ctx.signal);
      return name;
    },
    async who({ ms }, ctx) {
      runs.who++;
      if (replica.failing) throw new RpcError(Code.Unavailable, "overloaded");
      await wait(ms, ctx.signal);
      return name;
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 0 }));
  const replica: Replica = { server, address, runs, failing, slowMs: 0, canceled: 0 };
  return replica;
}

type CounterClient = ServiceClient<(typeof Counter)["specs"]>;

/** 400 `who` calls by a client asking for `^1.2`, with `a` and `b` at 1.x and `c` at 2.0.0: none reaches `c`, `a` and `b` each get a share. */
export async function assertVersionSpread(counter: CounterClient, a: Replica, b: Replica, c: Replica): Promise<void> {
  const names = await Promise.all(Array.from({ length: 400 }, () => counter.who({})));
  const count = (n: string) => names.filter((x) => x === n).length;
  assert.equal(count("c"), 0, "no call goes to 2.0.0");
  assert.ok(count("a") >= 40 && count("b") >= 40, `a ${count("a")}, b ${count("b")}`);
  assert.equal(a.runs.who + b.runs.who + c.runs.who, 400);
}

/**
 * Up to 1,000 `hit` calls (1.5 s at most) while `a` closes gracefully after the 300th: none fails,
 * each ran exactly once, and later calls all go to `b`.
 */
export async function assertGracefulClose(counter: CounterClient, a: Replica, b: Replica): Promise<void> {
  const results: Promise<string>[] = [];
  const deadline = Date.now() + 1_500;
  let closing: Promise<void> | undefined;
  for (let i = 0; i < 1_000 && Date.now() < deadline; i++) {
    results.push(counter.hit({ ms: 5 }));
    if (i === 300) closing = a.server.close();
    if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  const settled = await Promise.allSettled(results);
  await closing;
  const failed = settled.filter((s) => s.status === "rejected");
  assert.equal(failed.length, 0, String((failed[0] as PromiseRejectedResult | undefined)?.reason));
  assert.equal(a.runs.hit + b.runs.hit, results.length, "every call ran exactly once");
  assert.ok(a.runs.hit > 0 && b.runs.hit > 0);
  const after = await Promise.all(Array.from({ length: 50 }, () => counter.hit({})));
  assert.ok(after.every((n) => n === "b"));
}
