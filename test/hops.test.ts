// Deadlines and cancellation across hops (docs/cluster.md): a handler's downstream calls inherit
// its remaining deadline and its cancellation, without passing anything, or explicitly.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, createClient, createServer, defineService, RpcError, serverStream, unary } from "../src/index.js";
import { rejectsWith } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

const Back = defineService("Back", {
  /** Answers with the deadline it was given. */
  deadline: unary<Record<string, never>, number | null>(),
  /** Waits until its call is aborted; says so in `aborted`. */
  hang: unary<Record<string, never>, string>(),
});
const Front = defineService("Front", {
  relay: unary<{ mode: "inherit" | "longer" | "detached" }, { mine: number | null; theirs: number | null }>(),
  hang: unary<Record<string, never>, string>(),
  stream: serverStream<Record<string, never>, number | null>(),
});

async function hops() {
  const aborted: { at: number; code: number | undefined }[] = [];
  let hanging: () => void = () => {};
  const started = new Promise<void>((r) => {
    hanging = r;
  });
  const back = createServer().add(Back, {
    deadline: (_req, ctx) => ctx.deadline ?? null,
    hang: (_req, ctx) =>
      new Promise((_resolve, reject) => {
        hanging();
        ctx.signal.addEventListener("abort", () => {
          aborted.push({ at: Date.now(), code: RpcError.from(ctx.signal.reason).code });
          reject(ctx.signal.reason);
        });
      }),
  });
  const backAt = await back.listen("tcp://127.0.0.1:0");
  const down = createClient(backAt).service(Back);
  const front = createServer().add(Front, {
    async relay({ mode }, ctx) {
      await new Promise((r) => setImmediate(r)); // an await first: the scope must survive it
      const options = mode === "longer" ? { timeoutMs: 60_000 } : mode === "detached" ? { parent: null } : undefined;
      return { mine: ctx.deadline ?? null, theirs: await down.deadline({}, options) };
    },
    hang: () => down.hang({}),
    async *stream(_req, ctx) {
      yield await down.deadline({}, { parent: ctx });
    },
  });
  const frontAt = await front.listen("tcp://127.0.0.1:0");
  const client = createClient(frontAt);
  cleanups.push(async () => {
    await client.close();
    await front.close({ graceMs: 0 });
    await back.close({ graceMs: 0 });
  });
  return { front: client.service(Front), aborted, started };
}

describe("deadlines and cancellation across hops", () => {
  test("a downstream call inherits the remaining deadline; a longer one of its own is cut to it; a detached one has none", async () => {
    const { front } = await hops();
    const inherit = await front.relay({ mode: "inherit" }, { timeoutMs: 5_000 });
    assert.ok(inherit.mine !== null && inherit.theirs !== null, JSON.stringify(inherit));
    assert.ok(inherit.theirs <= inherit.mine + 20 && inherit.theirs > inherit.mine - 1_000, JSON.stringify(inherit));
    const longer = await front.relay({ mode: "longer" }, { timeoutMs: 5_000 });
    assert.ok(
      longer.theirs !== null && longer.mine !== null && longer.theirs <= longer.mine + 20,
      JSON.stringify(longer),
    );
    const detached = await front.relay({ mode: "detached" }, { timeoutMs: 5_000 });
    assert.equal(detached.theirs, null);
    const none = await front.relay({ mode: "inherit" });
    assert.deepEqual(none, { mine: null, theirs: null });
  });

  test("a stream handler passes its context explicitly", async () => {
    const { front } = await hops();
    const got: (number | null)[] = [];
    for await (const d of front.stream({}, { timeoutMs: 5_000 })) got.push(d);
    assert.equal(got.length, 1);
    assert.ok(got[0] !== null && (got[0] as number) > Date.now(), String(got[0]));
  });

  test("the caller cancels: the downstream handler two hops away is aborted", async () => {
    const { front, aborted, started } = await hops();
    const abort = new AbortController();
    const call = front.hang({}, { signal: abort.signal });
    await started;
    const at = Date.now();
    abort.abort();
    await rejectsWith(call, Code.Canceled);
    for (let i = 0; i < 200 && aborted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(aborted.length, 1, "the downstream handler was aborted");
    assert.ok((aborted[0]?.at ?? 0) - at < 2_000);
  });

  test("the first caller's deadline passes: the downstream handler is aborted too", async () => {
    const { front, aborted, started } = await hops();
    const call = front.hang({}, { timeoutMs: 300 });
    await started;
    await rejectsWith(call, Code.DeadlineExceeded);
    for (let i = 0; i < 200 && aborted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(aborted.length, 1, "the downstream handler was aborted");
  });
});
