import assert from "node:assert/strict";
import { getEventListeners, setMaxListeners } from "node:events";
import { afterEach, describe, test } from "node:test";
import { Arith } from "../examples/demo/services.js";
import {
  Code,
  createClient,
  createServer,
  defineService,
  type HandlerContext,
  RpcError,
  type ServiceImpl,
  unary,
} from "../src/index.js";
import { rejectsWith, startDemo, until, within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

afterEach(() => assertNoLeaks());

const Slow = defineService("Slow", {
  /** Waits until its signal aborts (or 10 s pass) and then returns. */
  hang: unary<void, string>(),
  /** Returns at once, reporting what the handler saw of the deadline. */
  inspect: unary<void, { deadline: number | null; remaining: number | null }>(),
});

/** What the `Slow` handlers saw, for the test to check on the server side. */
interface Seen {
  calls: number;
  ctx: HandlerContext | undefined;
  deadlineAtStart: number | undefined;
  remainingAtStart: number | undefined;
  arrivedAt: number;
}

function slowImpl(seen: Seen): ServiceImpl<typeof Slow.specs> {
  return {
    async hang(_input, ctx) {
      seen.calls++;
      seen.ctx = ctx;
      seen.arrivedAt = Date.now();
      seen.deadlineAtStart = ctx.deadline;
      seen.remainingAtStart = ctx.remainingMs();
      const signal = ctx.signal;
      await new Promise<void>((resolve) => {
        // The fallback timer keeps a broken abort path from hanging the test; it is cleared on abort.
        const timer = setTimeout(resolve, 10_000);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      return "done";
    },
    inspect(_input, ctx) {
      seen.calls++;
      seen.ctx = ctx;
      const remaining = ctx.remainingMs();
      return { deadline: ctx.deadline ?? null, remaining: Number.isFinite(remaining) ? remaining : null };
    },
  };
}

async function startSlow() {
  const seen: Seen = {
    calls: 0,
    ctx: undefined,
    deadlineAtStart: undefined,
    remainingAtStart: undefined,
    arrivedAt: 0,
  };
  const server = createServer().add(Slow, slowImpl(seen));
  const client = createClient(await server.listen("tcp://127.0.0.1:0"));
  return {
    seen,
    server,
    client,
    slow: client.service(Slow),
    async close() {
      await client.close();
      await server.close({ graceMs: 500 });
    },
  };
}

function reasonCode(signal: AbortSignal | undefined): Code | string {
  const reason: unknown = signal?.reason;
  return reason instanceof RpcError ? reason.code : `not an RpcError: ${String(reason)}`;
}

describe("deadlines", () => {
  test("the deadline reaches the handler; when it passes the caller gets deadline_exceeded and ctx.signal aborts", async () => {
    const s = await startSlow();
    try {
      const sentAt = Date.now();
      const err = await rejectsWith(s.slow.hang(undefined, { timeoutMs: 1_000 }), Code.DeadlineExceeded);
      assert.equal(err.rawMessage, "deadline exceeded");
      assert.equal(s.seen.calls, 1);
      const deadline = s.seen.deadlineAtStart;
      assert.ok(deadline !== undefined, "ctx.deadline is undefined");
      // Re-armed on arrival from the remaining time: no earlier than send + 1 s, no later than arrival + 1 s.
      assert.ok(deadline >= sentAt + 1_000 - 1, `deadline ${deadline - sentAt} ms after sending`);
      assert.ok(deadline <= s.seen.arrivedAt + 1_000, `deadline ${deadline - s.seen.arrivedAt} ms after arrival`);
      const remaining = s.seen.remainingAtStart as number;
      assert.ok(remaining > 0 && remaining <= 1_000, `remainingMs() was ${remaining}`);
      await until(() => s.seen.ctx?.signal.aborted === true, 5_000);
      assert.equal(reasonCode(s.seen.ctx?.signal), Code.DeadlineExceeded, "handler's abort reason");
    } finally {
      await s.close();
    }
  });

  test("handler abort reason is deadline_exceeded even when the client's deadline CANCEL arrives first", async () => {
    // The client's timer and the server's copy of the deadline expire at about the same moment;
    // the client then sends CANCEL. Whichever the server sees first must not change what the
    // handler is told: the deadline passed.
    const s = await startSlow();
    try {
      const codes: (Code | string)[] = [];
      for (let i = 0; i < 50; i++) {
        const before = s.seen.calls;
        await rejectsWith(s.slow.hang(undefined, { timeoutMs: 30 + (i % 5) }), Code.DeadlineExceeded);
        assert.equal(s.seen.calls, before + 1);
        const ctx = s.seen.ctx;
        await until(() => ctx?.signal.aborted === true, 5_000);
        codes.push(reasonCode(ctx?.signal));
      }
      assert.deepEqual(
        codes,
        codes.map(() => Code.DeadlineExceeded),
        `abort reasons seen by handlers (${Code.Canceled} = canceled)`,
      );
    } finally {
      await s.close();
    }
  });

  test("timeoutMs 0 fails with deadline_exceeded and never runs the handler", async () => {
    const s = await startSlow();
    try {
      await rejectsWith(s.slow.inspect(undefined, { timeoutMs: 0 }), Code.DeadlineExceeded);
      // The connection works, and the handler never saw the failed call.
      const r = await s.slow.inspect(undefined);
      assert.deepEqual(r, { deadline: null, remaining: null });
      assert.equal(s.seen.calls, 1);
    } finally {
      await s.close();
    }
  });

  test("a huge timeoutMs means no deadline, and the call succeeds", async () => {
    const s = await startSlow();
    try {
      const r = await s.slow.inspect(undefined, { timeoutMs: 2 ** 40 });
      assert.deepEqual(r, { deadline: null, remaining: null });
      assert.equal(s.seen.ctx?.deadline, undefined);
      assert.equal(s.seen.ctx?.remainingMs(), Number.POSITIVE_INFINITY);
      // Just above the largest timer delay: still no deadline rather than a 1 ms one.
      const r2 = await s.slow.inspect(undefined, { timeoutMs: 2 ** 31 });
      assert.deepEqual(r2, { deadline: null, remaining: null });
      // A real but long deadline still travels.
      const r3 = await s.slow.inspect(undefined, { timeoutMs: 60_000 });
      assert.ok(r3.deadline !== null && r3.remaining !== null && r3.remaining > 50_000 && r3.remaining <= 60_000);
    } finally {
      await s.close();
    }
  });

  test("a negative timeoutMs is rejected as invalid_argument", async () => {
    const s = await startSlow();
    try {
      await rejectsWith(s.slow.inspect(undefined, { timeoutMs: -1 }), Code.InvalidArgument);
      await rejectsWith(s.slow.inspect(undefined, { timeoutMs: Number.NaN }), Code.InvalidArgument);
      assert.equal(s.seen.calls, 0);
    } finally {
      await s.close();
    }
  });
});

describe("cancellation by the caller", () => {
  test("aborting the caller's signal fails the call with canceled and aborts ctx.signal with canceled", async () => {
    const s = await startSlow();
    try {
      const controller = new AbortController();
      const call = s.slow.hang(undefined, { signal: controller.signal });
      await until(() => s.seen.calls === 1, 5_000);
      controller.abort();
      // Well before the handler's own 10 s fallback would end the call.
      await within(rejectsWith(call, Code.Canceled), 5_000, "the aborted call");
      await until(() => s.seen.ctx?.signal.aborted === true, 5_000);
      assert.equal(reasonCode(s.seen.ctx?.signal), Code.Canceled);
      assert.equal(getEventListeners(controller.signal, "abort").length, 0);
    } finally {
      await s.close();
    }
  });

  test("an abort reason that is an RpcError is what the caller gets", async () => {
    const s = await startSlow();
    try {
      const controller = new AbortController();
      const call = s.slow.hang(undefined, { signal: controller.signal });
      await until(() => s.seen.calls === 1, 5_000);
      controller.abort(new RpcError(Code.Aborted, "gave up"));
      const err = await within(rejectsWith(call, Code.Aborted), 5_000, "the aborted call");
      assert.equal(err.rawMessage, "gave up");
      await until(() => s.seen.ctx?.signal.aborted === true, 5_000);
    } finally {
      await s.close();
    }
  });

  test("an already-aborted signal fails at once with canceled and sends nothing", async () => {
    const s = await startSlow();
    try {
      const signal = AbortSignal.abort();
      await rejectsWith(s.slow.hang(undefined, { signal }), Code.Canceled);
      await rejectsWith(s.client.service(Arith).add({ a: 1, b: 2 }, { signal }), Code.Canceled);
      // Prove the server would have seen a call by making one that is not aborted.
      assert.deepEqual(await s.slow.inspect(undefined), { deadline: null, remaining: null });
      assert.equal(s.seen.calls, 1);
    } finally {
      await s.close();
    }
  });

  test("aborting a server stream mid-way fails the reader with canceled", async () => {
    const h = await startDemo();
    try {
      const controller = new AbortController();
      const got: number[] = [];
      await rejectsWith(
        (async () => {
          for await (const n of h.client
            .service(Arith)
            .count({ to: 1_000, delayMs: 5 }, { signal: controller.signal })) {
            got.push(n);
            if (n === 3) controller.abort();
          }
        })(),
        Code.Canceled,
      );
      assert.ok(got.length >= 3 && got.length < 1_000, `got ${got.length} items`);
      assert.equal(getEventListeners(controller.signal, "abort").length, 0);
    } finally {
      await h.close();
    }
  });
});

describe("cleanup", () => {
  test("1,000 calls with timeoutMs and a shared signal leave no abort listeners and no timers", async () => {
    const h = await startDemo();
    try {
      const arith = h.client.service(Arith);
      const controller = new AbortController();
      const signal = controller.signal;
      // 1,000 calls at once each listen on the signal; that is expected, not a leak warning.
      setMaxListeners(2_000, signal);
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
      // Warm up: the connection is made and its connect timer is gone.
      assert.equal(await arith.add({ a: 0, b: 0 }), 0);
      const timersBefore = timers();

      // While a call is in flight it does hold a listener and a timer: the check below means something.
      const slow = arith.sleep({ ms: 150 }, { timeoutMs: 5_000, signal });
      await until(() => getEventListeners(signal, "abort").length === 1, 5_000);
      assert.ok(timers() > timersBefore, "an in-flight call with timeoutMs holds no timer");
      assert.equal(await slow, "slept 150 ms");

      const results = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) => arith.add({ a: i, b: 1 }, { timeoutMs: 5_000, signal })),
      );
      assert.deepEqual(
        results,
        Array.from({ length: 1_000 }, (_, i) => i + 1),
      );
      for (let i = 0; i < 100; i++)
        assert.equal(await arith.multiply({ a: i, b: 2 }, { timeoutMs: 5_000, signal }), i * 2);
      let streamed = 0;
      for await (const _ of arith.count({ to: 10 }, { timeoutMs: 5_000, signal })) streamed++;
      assert.equal(streamed, 10);
      assert.equal(await arith.sum([1, 2, 3], { timeoutMs: 5_000, signal }), 6);

      assert.equal(getEventListeners(signal, "abort").length, 0, "abort listeners left on the caller's signal");
      // Server-side deadline timers are cleared as replies go out; allow a moment for the last ones.
      await until(() => timers() <= timersBefore, 2_000).catch(() => {});
      assert.equal(timers(), timersBefore, "timers left running after every call finished");
    } finally {
      await h.close();
    }
  });
});
