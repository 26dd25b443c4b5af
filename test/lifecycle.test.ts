import assert from "node:assert/strict";
import { createServer as createNetServer } from "node:net";
import { afterEach, describe, test } from "node:test";
import { Arith, arithImpl } from "../examples/demo/services.js";
import {
  Code,
  createClient,
  createServer,
  defineService,
  type Interceptor,
  oneway,
  RpcError,
  unary,
} from "../src/index.js";
import { rejectsWith, sleep, startDemo, until, within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

afterEach(() => assertNoLeaks());

/** True if `p` settles within `ms`. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return within(p, ms, "").then(
    () => true,
    (err: unknown) => !(err instanceof Error && err.message.includes("did not settle")),
  );
}

/** The code and retry flag of a call's failure, or "ok" when it succeeded. */
async function outcome(p: Promise<unknown>): Promise<{ code: Code | "ok" | "not an RpcError"; safeToRetry?: boolean }> {
  try {
    await p;
    return { code: "ok" };
  } catch (err) {
    if (!(err instanceof RpcError)) return { code: "not an RpcError" };
    return { code: err.code, safeToRetry: err.safeToRetry };
  }
}

/** A TCP port nobody listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", resolve);
  });
  const address = probe.address();
  assert.ok(typeof address === "object" && address !== null);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address.port;
}

/** Counts Arith/sleep calls that reached the server. */
function countSleeps() {
  const counter = { arrived: 0, interceptor: undefined as unknown as Interceptor };
  counter.interceptor = (next) => (req) => {
    if (req.method.path === "Arith/sleep") counter.arrived++;
    return next(req);
  };
  return counter;
}

describe("many calls on one connection", () => {
  test("10,000 calls in flight at once each get their own reply, finishing in reverse order", async () => {
    const n = 10_000;
    const Barrier = defineService("Barrier", { wait: unary<number, number>() });
    let arrived = 0;
    let inFlightAtRelease = 0;
    const arrivalOrder: number[] = [];
    let releaseBarrier: () => void = () => {};
    let failBarrier: (e: Error) => void = () => {};
    const barrier = new Promise<void>((resolve, reject) => {
      releaseBarrier = resolve;
      failBarrier = reject;
    });
    // If not every call arrives, fail them all instead of hanging.
    const barrierTimer = setTimeout(() => failBarrier(new Error(`only ${arrived} of ${n} calls arrived`)), 40_000);
    const turnResolvers: (() => void)[] = [];
    const turns = Array.from({ length: n }, (_, i) => new Promise<void>((r) => (turnResolvers[i] = r)));
    const server = createServer().add(Barrier, {
      async wait(x) {
        const k = arrived++;
        arrivalOrder.push(x);
        if (arrived === n) {
          inFlightAtRelease = arrived;
          clearTimeout(barrierTimer);
          releaseBarrier();
          turnResolvers[n - 1]?.();
        }
        try {
          await barrier;
        } catch (err) {
          throw new RpcError(Code.Aborted, (err as Error).message);
        }
        await turns[k];
        // The next-earlier arrival finishes only after this reply has gone out.
        setImmediate(() => turnResolvers[k - 1]?.());
        return x * 2 + 1;
      },
    });
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    try {
      const barrierClient = client.service(Barrier);
      const completionOrder: number[] = [];
      const results = await within(
        Promise.all(
          Array.from({ length: n }, (_, x) =>
            barrierClient.wait(x).then((r) => {
              completionOrder.push(x);
              return r;
            }),
          ),
        ),
        50_000,
        "10,000 calls",
      );
      console.log(`calls in flight at once on one connection: ${inFlightAtRelease}`);
      assert.equal(inFlightAtRelease, n);
      assert.equal(arrived, n);
      for (let x = 0; x < n; x++) assert.equal(results[x], x * 2 + 1, `call ${x} got another call's reply`);
      assert.equal(completionOrder.length, n);
      assert.deepEqual(completionOrder, [...arrivalOrder].reverse(), "replies did not come back in reverse order");
      assert.notDeepEqual(completionOrder.slice(0, 10), arrivalOrder.slice(0, 10));
    } finally {
      clearTimeout(barrierTimer);
      await client.close();
      await server.close({ graceMs: 1_000 });
    }
  });
});

describe("server shutdown", () => {
  test("graceful drain: calls in flight finish, a call after close() is refused, close() resolves", async () => {
    const counter = countSleeps();
    const h = await startDemo({ interceptors: [counter.interceptor] });
    try {
      const arith = h.client.service(Arith);
      const calls = Array.from({ length: 50 }, () => arith.sleep({ ms: 200 }));
      await until(() => counter.arrived === 50, 5_000);
      const closing = h.server.close({ graceMs: 5_000 });
      // Let close() start its work (listeners, GOAWAY) before the next call is made.
      await new Promise<void>((r) => setImmediate(r));
      await sleep(20);
      const late = await outcome(arith.add({ a: 1, b: 2 }));
      const settled = await within(Promise.allSettled(calls), 10_000, "the 50 calls in flight");
      const succeeded = settled.filter((r) => r.status === "fulfilled" && r.value === "slept 200 ms").length;
      const closeResolved = await settlesWithin(closing, 3_000);
      assert.deepEqual(
        { succeeded, late, closeResolved },
        { succeeded: 50, late: { code: Code.Unavailable, safeToRetry: true }, closeResolved: true },
      );
    } finally {
      await h.close();
    }
  });

  test("graceful drain lets a oneway handler that is still running finish, unaborted", async () => {
    const Log = defineService("Log", { write: oneway<string>() });
    let started = 0;
    const ended: string[] = [];
    const server = createServer().add(Log, {
      async write(line, ctx) {
        started++;
        await sleep(200);
        ended.push(ctx.signal.aborted ? `aborted: ${line}` : `done: ${line}`);
      },
    });
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    try {
      await client.service(Log).write("x");
      await until(() => started === 1, 5_000);
      const closeResolved = await settlesWithin(server.close({ graceMs: 5_000 }), 3_000);
      assert.deepEqual({ ended, closeResolved }, { ended: ["done: x"], closeResolved: true });
    } finally {
      await client.close();
      await settlesWithin(server.close(), 2_000);
    }
  });

  test("graceful drain with an idle client connected: close() resolves within its grace period", async () => {
    const h = await startDemo();
    try {
      assert.equal(await h.client.service(Arith).add({ a: 1, b: 2 }), 3);
      // No call is in flight; the client keeps its connection open, as a client does.
      const closed = await settlesWithin(h.server.close({ graceMs: 300 }), 3_000);
      assert.ok(closed, "server.close() did not resolve while an idle client stayed connected");
      await rejectsWith(h.client.service(Arith).add({ a: 1, b: 2 }), Code.Unavailable);
    } finally {
      await h.close();
    }
  });

  test("the grace period ends a handler that never finishes: the caller gets unavailable, close() resolves", async () => {
    const Stuck = defineService("Stuck", { forever: unary<void, string>() });
    let started = 0;
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    const server = createServer().add(Stuck, {
      async forever() {
        started++;
        // Ignores ctx.signal on purpose; only the test's cleanup lets it return.
        await released;
        return "finished";
      },
    });
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    try {
      const call = outcome(client.service(Stuck).forever());
      await until(() => started === 1, 5_000);
      const closing = server.close({ graceMs: 200 });
      const callEnded = await settlesWithin(call, 5_000);
      const closeResolved = await settlesWithin(closing, 5_000);
      assert.deepEqual(
        { callEnded, closeResolved, call: callEnded ? await call : "still running" },
        { callEnded: true, closeResolved: true, call: { code: Code.Unavailable, safeToRetry: false } },
      );
    } finally {
      release();
      await client.close();
      // Bounded: if close() never resolves, the assertion above has already said so.
      await settlesWithin(server.close(), 2_000);
    }
  });

  test("maxConcurrentCalls 2 and maxInflight 4: two run at a time, four succeed, two are refused safe to retry", async () => {
    const Gate = defineService("Gate", { slow: unary<number, number>() });
    let running = 0;
    let maxRunning = 0;
    let started = 0;
    const server = createServer({ limits: { maxConcurrentCalls: 2, maxInflight: 4 } }).add(Gate, {
      async slow(x) {
        started++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(150);
        running--;
        return x;
      },
    });
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    try {
      const gate = client.service(Gate);
      const settled = await within(
        Promise.allSettled(Array.from({ length: 6 }, (_, i) => gate.slow(i))),
        10_000,
        "six calls",
      );
      const ok = settled.filter((r) => r.status === "fulfilled");
      const refused = settled.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      assert.equal(ok.length, 4);
      assert.equal(refused.length, 2);
      for (const err of refused) {
        assert.ok(err instanceof RpcError, String(err));
        assert.equal(err.code, Code.ResourceExhausted);
        assert.equal(err.safeToRetry, true);
        assert.match(err.rawMessage, /maxInflight 4/);
      }
      for (const r of settled) if (r.status === "fulfilled") assert.equal(typeof r.value, "number");
      assert.equal(maxRunning, 2);
      assert.equal(started, 4);
    } finally {
      await client.close();
      await server.close({ graceMs: 500 });
    }
  });
});

describe("connecting", () => {
  test("lazy connect, fail fast during backoff, then connect once a server appears", async () => {
    const port = await freePort();
    const address = `tcp://127.0.0.1:${port}`;
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    const before = sockets();
    const client = createClient(address, { backoff: { initialMs: 50, maxMs: 100 } });
    let server: ReturnType<typeof createServer> | undefined;
    try {
      await sleep(50);
      assert.equal(sockets(), before, "createClient opened a socket before any call");

      const arith = client.service(Arith);
      const first = await rejectsWith(arith.add({ a: 1, b: 2 }), Code.Unavailable);
      assert.equal(first.safeToRetry, true);
      assert.match(first.rawMessage, /cannot connect/);
      const second = await rejectsWith(arith.add({ a: 1, b: 2 }), Code.Unavailable);
      assert.equal(second.safeToRetry, true);
      assert.match(second.rawMessage, /next attempt in \d+ ms/);

      server = createServer().add(Arith, arithImpl());
      assert.equal(await server.listen(address), address);
      // The backoff after one failure is at most maxMs (100) plus 20 % jitter.
      await sleep(150);
      assert.equal(await arith.add({ a: 1, b: 2 }), 3);
    } finally {
      await client.close();
      await server?.close({ graceMs: 500 });
    }
  });

  test("the client reconnects after the server restarts on the same port", async () => {
    const Who = defineService("Who", { name: unary<void, string>() });
    const first = createServer().add(Who, { name: () => "first" });
    const address = await first.listen("tcp://127.0.0.1:0");
    const client = createClient(address, { backoff: { initialMs: 20, maxMs: 50 } });
    let second: ReturnType<typeof createServer> | undefined;
    try {
      const who = client.service(Who);
      assert.equal(await who.name(), "first");
      await within(first.close({ graceMs: 500 }), 3_000, "closing the first server");

      second = createServer().add(Who, { name: () => "second" });
      await second.listen(address);
      let answer: string | undefined;
      const errors: string[] = [];
      for (let attempt = 0; attempt < 5 && answer === undefined; attempt++) {
        try {
          answer = await who.name();
        } catch (err) {
          assert.ok(err instanceof RpcError && err.code === Code.Unavailable, String(err));
          errors.push(err.rawMessage);
          await sleep(100);
        }
      }
      assert.equal(answer, "second", `no answer from the new server; errors: ${errors.join(" | ")}`);
      assert.ok(errors.length <= 2, `took ${errors.length} failed attempts: ${errors.join(" | ")}`);
      assert.equal(await who.name(), "second");
    } finally {
      await client.close();
      await first.close({ graceMs: 500 });
      await second?.close({ graceMs: 500 });
    }
  });
});

describe("client lifecycle", () => {
  test("client.close() waits for calls in flight; later calls fail with unavailable", async () => {
    const h = await startDemo();
    try {
      const arith = h.client.service(Arith);
      assert.equal(await arith.add({ a: 1, b: 1 }), 2); // connected
      const events: string[] = [];
      const calls = Array.from({ length: 5 }, (_, i) =>
        arith.sleep({ ms: 150 }).then((r) => {
          events.push(`call ${i}`);
          return r;
        }),
      );
      const closing = h.client.close().then(() => events.push("closed"));
      const results = await within(Promise.all(calls), 5_000, "the calls in flight");
      assert.deepEqual(results, Array(5).fill("slept 150 ms"));
      await within(closing, 5_000, "client.close()");
      assert.equal(events.length, 6);
      assert.equal(events.at(-1), "closed", `order: ${events.join(", ")}`);
      const err = await rejectsWith(arith.add({ a: 1, b: 2 }), Code.Unavailable);
      assert.equal(err.safeToRetry, true);
      await rejectsWith(h.client.ping(), Code.Unavailable);
    } finally {
      await h.close();
    }
  });

  test("ping() resolves with a round trip in ms", async () => {
    const h = await startDemo();
    try {
      const rtt = await h.client.ping();
      assert.equal(typeof rtt, "number");
      assert.ok(Number.isFinite(rtt) && rtt >= 0, `ping gave ${rtt}`);
      assert.equal(await h.client.service(Arith).add({ a: 2, b: 2 }), 4);
      assert.ok((await h.client.ping()) >= 0);
    } finally {
      await h.close();
    }
  });

  test("a oneway call reaches the server's log sink", async () => {
    const h = await startDemo();
    try {
      const arith = h.client.service(Arith);
      assert.equal(await arith.log("first line"), undefined);
      await arith.log("second line");
      await until(() => h.logged.length === 2, 5_000);
      assert.deepEqual(h.logged, ["first line", "second line"]);
      // A unary call after them still works on the same connection.
      assert.equal(await arith.add({ a: 1, b: 2 }), 3);
    } finally {
      await h.close();
    }
  });
});
