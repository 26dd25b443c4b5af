import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { Arith } from "../examples/demo/services.js";
import {
  bidiStream,
  Code,
  clientStream,
  createClient,
  createServer,
  defineService,
  type HandlerContext,
  RpcError,
  type ServiceImpl,
  serverStream,
} from "../src/index.js";
import { rejectsWith, sleep, startDemo, until, within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";
import { chunkBytes, maxAhead } from "./stream-bounds.js";

afterEach(() => assertNoLeaks());

const mib = 1024 * 1024;
const chunkCount = 400;

/** Tracks peak RSS and arrayBuffers growth over a baseline. */
function memoryProbe() {
  const base = process.memoryUsage();
  let rss = 0;
  let arrayBuffers = 0;
  return {
    sample() {
      const m = process.memoryUsage();
      rss = Math.max(rss, m.rss - base.rss);
      arrayBuffers = Math.max(arrayBuffers, m.arrayBuffers - base.arrayBuffers);
    },
    get rssMiB() {
      return rss / mib;
    },
    get arrayBuffersMiB() {
      return arrayBuffers / mib;
    },
  };
}

const Bulk = defineService("Bulk", {
  download: serverStream<{ n: number }, Uint8Array>(),
  upload: clientStream<Uint8Array, number>(),
});

const Probe = defineService("Probe", {
  /** Counts forever (flow control holds it back); reports its finally and signal. */
  ticks: serverStream<void, number>(),
  /** Yields 1, 2, 3, then throws the error named by the input. */
  failAfter3: serverStream<"rpc" | "plain", number>(),
  /** Yields `n` numbers and sets response metadata on the way. */
  withTrailers: serverStream<number, number>(),
  bidiWithTrailers: bidiStream<number, number>(),
  /** Reads its input until it ends or fails; reports what happened. */
  drain: clientStream<number, number>(),
  drainBidi: bidiStream<number, number>(),
  /** Returns how many inputs arrived and the first index that was out of order (-1 if none). */
  collect: clientStream<number, { count: number; outOfOrder: number }>(),
});

for (const codec of ["msgpack", "json"] as const) {
  describe(`streams with ${codec}`, () => {
    test("a server stream of 10,000 messages arrives complete and in order", async () => {
      const h = await startDemo({}, { codec });
      try {
        const got: number[] = [];
        for await (const n of h.client.service(Arith).count({ to: 10_000 })) got.push(n);
        assert.equal(got.length, 10_000);
        assert.deepEqual(
          got,
          Array.from({ length: 10_000 }, (_, i) => i + 1),
        );
      } finally {
        await h.close();
      }
    });

    test("a client stream of 10,000 messages arrives complete and in order", async () => {
      const h = await startDemo({}, { codec });
      try {
        async function* numbers() {
          for (let i = 1; i <= 10_000; i++) yield i;
        }
        assert.equal(await h.client.service(Arith).sum(numbers()), 50_005_000);
        assert.equal(await h.client.service(Arith).sum([1, 2, 3]), 6);

        h.server.add(Probe, probeImpl());
        const r = await h.client.service(Probe).collect(numbers());
        assert.deepEqual(r, { count: 10_000, outOfOrder: -1 });
      } finally {
        await h.close();
      }
    });

    test("a bidi stream of 10,000 messages comes back complete and in order", async () => {
      const h = await startDemo({}, { codec });
      try {
        async function* lines() {
          for (let i = 0; i < 10_000; i++) yield `line ${i}`;
        }
        const got: string[] = [];
        for await (const line of h.client.service(Arith).chat(lines())) got.push(line);
        assert.equal(got.length, 10_000);
        for (let i = 0; i < 10_000; i++) assert.equal(got[i], `LINE ${i}`);
      } finally {
        await h.close();
      }
    });

    test("a slow reader of a server stream holds the producer to the flow-control window", async () => {
      let produced = 0;
      const server = createServer().add(Bulk, {
        async *download({ n }) {
          for (let i = 0; i < n; i++) {
            const chunk = new Uint8Array(chunkBytes);
            chunk[0] = i & 0xff;
            chunk[chunkBytes - 1] = (i >> 8) & 0xff;
            produced++;
            yield chunk;
          }
        },
        upload: async () => 0,
      });
      const client = createClient(await server.listen("tcp://127.0.0.1:0"), { codec });
      const mem = memoryProbe();
      try {
        let consumed = 0;
        let peakAhead = 0;
        for await (const chunk of client.service(Bulk).download({ n: chunkCount })) {
          // Check first, so a producer that has run ahead is seen before we take this chunk.
          peakAhead = Math.max(peakAhead, produced - consumed);
          assert.equal(chunk.length, chunkBytes);
          assert.equal(chunk[0], consumed & 0xff, `chunk ${consumed} out of order`);
          assert.equal(chunk[chunkBytes - 1], (consumed >> 8) & 0xff);
          consumed++;
          mem.sample();
          // A long pause at the start lets an unbounded producer run far ahead; then short ones.
          if (consumed === 1) await sleep(300);
          else if (consumed % 25 === 0) await sleep(40);
        }
        mem.sample();
        console.log(
          `[${codec}] server stream slow reader: peak produced-consumed ${peakAhead} chunks of 64 KiB;` +
            ` rss growth ${mem.rssMiB.toFixed(1)} MiB, arrayBuffers growth ${mem.arrayBuffersMiB.toFixed(1)} MiB`,
        );
        assert.equal(consumed, chunkCount);
        assert.equal(produced, chunkCount);
        assert.ok(peakAhead >= 2, `the producer never ran ahead (${peakAhead}): the test proves nothing`);
        assert.ok(peakAhead <= maxAhead, `producer ran ${peakAhead} chunks ahead of the reader (bound ${maxAhead})`);
        // A leak guard only (peakAhead checks the window): all 400 × 64 KiB = 25 MiB live at once stays under 200.
        assert.ok(mem.rssMiB < 200, `rss grew ${mem.rssMiB.toFixed(1)} MiB`);
      } finally {
        await client.close();
        await server.close({ graceMs: 500 });
      }
    });

    test("a slow handler reading a client stream holds the client's generator to the window", async () => {
      let yielded = 0;
      let consumed = 0;
      let peakAhead = 0;
      const mem = memoryProbe();
      const server = createServer().add(Bulk, {
        download: () => [],
        async upload(chunks) {
          for await (const chunk of chunks) {
            peakAhead = Math.max(peakAhead, yielded - consumed);
            if (chunk.length !== chunkBytes || chunk[0] !== (consumed & 0xff))
              throw new RpcError(Code.DataLoss, `chunk ${consumed} is wrong`);
            consumed++;
            mem.sample();
            if (consumed === 1) await sleep(300);
            else if (consumed % 25 === 0) await sleep(40);
          }
          return consumed;
        },
      });
      const client = createClient(await server.listen("tcp://127.0.0.1:0"), { codec });
      try {
        async function* chunks() {
          for (let i = 0; i < chunkCount; i++) {
            const chunk = new Uint8Array(chunkBytes);
            chunk[0] = i & 0xff;
            yielded++;
            yield chunk;
          }
        }
        const total = await client.service(Bulk).upload(chunks());
        mem.sample();
        console.log(
          `[${codec}] client stream slow handler: peak yielded-consumed ${peakAhead} chunks of 64 KiB;` +
            ` rss growth ${mem.rssMiB.toFixed(1)} MiB, arrayBuffers growth ${mem.arrayBuffersMiB.toFixed(1)} MiB`,
        );
        assert.equal(total, chunkCount);
        assert.equal(yielded, chunkCount);
        assert.ok(peakAhead >= 2, `the client never ran ahead (${peakAhead}): the test proves nothing`);
        assert.ok(peakAhead <= maxAhead, `client ran ${peakAhead} chunks ahead of the handler (bound ${maxAhead})`);
        // A leak guard only (peakAhead checks the window): all 400 × 64 KiB = 25 MiB live at once stays under 200.
        assert.ok(mem.rssMiB < 200, `rss grew ${mem.rssMiB.toFixed(1)} MiB`);
      } finally {
        await client.close();
        await server.close({ graceMs: 500 });
      }
    });
  });
}

/** What `Probe` handlers saw on the server. */
interface ProbeLog {
  finallyRan: boolean;
  signal: AbortSignal | undefined;
  drainOutcome: "ended" | RpcError | unknown;
  drainReceived: number;
}

function probeImpl(
  log: ProbeLog = { finallyRan: false, signal: undefined, drainOutcome: undefined, drainReceived: 0 },
): ServiceImpl<typeof Probe.specs> {
  async function drainInto(inputs: AsyncIterable<number>, ctx: HandlerContext): Promise<number> {
    log.signal = ctx.signal;
    try {
      for await (const _ of inputs) log.drainReceived++;
      log.drainOutcome = "ended";
    } catch (err) {
      log.drainOutcome = err;
      throw err;
    }
    return log.drainReceived;
  }
  return {
    async *ticks(_input: unknown, ctx: HandlerContext) {
      log.signal = ctx.signal;
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        log.finallyRan = true;
      }
    },
    async *failAfter3(kind: "rpc" | "plain") {
      yield 1;
      yield 2;
      yield 3;
      if (kind === "rpc") throw new RpcError(Code.FailedPrecondition, "stream went wrong");
      throw new Error("secret detail");
    },
    async *withTrailers(n: number, ctx: HandlerContext) {
      ctx.responseMetadata["x-started"] = "yes";
      for (let i = 0; i < n; i++) yield i;
      ctx.responseMetadata["x-count"] = String(n);
    },
    async *bidiWithTrailers(inputs: AsyncIterable<number>, ctx: HandlerContext) {
      let n = 0;
      for await (const i of inputs) {
        n++;
        yield i * 10;
      }
      ctx.responseMetadata["x-count"] = String(n);
    },
    drain: drainInto,
    async *drainBidi(inputs: AsyncIterable<number>, ctx: HandlerContext) {
      yield await drainInto(inputs, ctx);
    },
    async collect(inputs: AsyncIterable<number>) {
      let count = 0;
      let outOfOrder = -1;
      for await (const n of inputs) {
        count++;
        if (outOfOrder < 0 && n !== count) outOfOrder = count - 1;
      }
      return { count, outOfOrder };
    },
  };
}

describe("stream cancellation and errors", () => {
  test("breaking out of for-await cancels the call: the generator's finally runs and ctx.signal aborts", async () => {
    const log: ProbeLog = { finallyRan: false, signal: undefined, drainOutcome: undefined, drainReceived: 0 };
    const server = createServer().add(Probe, probeImpl(log));
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    try {
      const got: number[] = [];
      for await (const n of client.service(Probe).ticks()) {
        got.push(n);
        if (got.length === 5) break;
      }
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
      await until(() => log.finallyRan && log.signal?.aborted === true, 5_000);
      const reason = log.signal?.reason as unknown;
      assert.ok(reason instanceof RpcError, `abort reason is ${String(reason)}`);
      assert.equal(reason.code, Code.Canceled);
      // The connection is still good for other calls.
      const again: number[] = [];
      for await (const n of client.service(Probe).withTrailers(3)) again.push(n);
      assert.deepEqual(again, [0, 1, 2]);
    } finally {
      await client.close();
      await server.close({ graceMs: 500 });
    }
  });

  test("a handler that throws an RpcError mid-stream fails the reader with its code after the items", async () => {
    const server = createServer().add(Probe, probeImpl());
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    try {
      const got: number[] = [];
      const err = await rejectsWith(
        (async () => {
          for await (const n of client.service(Probe).failAfter3("rpc")) got.push(n);
        })(),
        Code.FailedPrecondition,
      );
      assert.deepEqual(got, [1, 2, 3]);
      assert.equal(err.rawMessage, "stream went wrong");
    } finally {
      await client.close();
      await server.close({ graceMs: 500 });
    }
  });

  test("a plain Error thrown mid-stream arrives as internal without its message", async () => {
    const seen: unknown[] = [];
    const server = createServer({ onError: (e) => seen.push(e) }).add(Probe, probeImpl());
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    try {
      const got: number[] = [];
      const err = await rejectsWith(
        (async () => {
          for await (const n of client.service(Probe).failAfter3("plain")) got.push(n);
        })(),
        Code.Internal,
      );
      assert.deepEqual(got, [1, 2, 3]);
      assert.equal(err.rawMessage, "internal error");
      assert.doesNotMatch(err.message, /secret/);
      assert.equal(seen.length, 1);
    } finally {
      await client.close();
      await server.close({ graceMs: 500 });
    }
  });

  test("response metadata set in a streaming handler reaches onResponseMetadata after the last item", async () => {
    const server = createServer().add(Probe, probeImpl());
    const address = await server.listen("tcp://127.0.0.1:0");
    const client = createClient(address);
    // Over HTTP the metadata set after the first item travels in the last NDJSON line.
    const httpClient = createClient(`http://${address.slice("tcp://".length)}`);
    try {
      for (const c of [client, httpClient]) {
        const events: string[] = [];
        let md: Record<string, string> | undefined;
        for await (const n of c.service(Probe).withTrailers(4, {
          onResponseMetadata: (m) => {
            events.push("metadata");
            md = m;
          },
        })) {
          events.push(`item ${n}`);
        }
        assert.deepEqual(events, ["item 0", "item 1", "item 2", "item 3", "metadata"], c.address);
        assert.equal(md?.["x-started"], "yes", c.address);
        assert.equal(md?.["x-count"], "4", c.address);
      }

      let bidiMd: Record<string, string> | undefined;
      const got: number[] = [];
      for await (const n of client.service(Probe).bidiWithTrailers([1, 2, 3], {
        onResponseMetadata: (m) => {
          bidiMd = m;
        },
      })) {
        got.push(n);
      }
      assert.deepEqual(got, [10, 20, 30]);
      assert.equal(bidiMd?.["x-count"], "3");
    } finally {
      await httpClient.close();
      await client.close();
      await server.close({ graceMs: 500 });
    }
  });

  for (const kind of ["client stream", "bidi stream"] as const) {
    test(`an input iterable that throws cancels the ${kind}: the handler's input fails and its signal aborts`, async () => {
      const log: ProbeLog = { finallyRan: false, signal: undefined, drainOutcome: undefined, drainReceived: 0 };
      const server = createServer().add(Probe, probeImpl(log));
      const client = createClient(await server.listen("tcp://127.0.0.1:0"));
      try {
        let release: () => void = () => {};
        const released = new Promise<void>((r) => {
          release = r;
        });
        async function* inputs() {
          yield 1;
          yield 2;
          yield 3;
          // Let the three reach the handler before failing, so the failure is seen mid-stream.
          await within(released, 5_000, "handler receiving 3 items");
          throw new Error("input source broke");
        }
        const probe = client.service(Probe);
        const call: Promise<unknown> =
          kind === "client stream"
            ? probe.drain(inputs())
            : (async () => {
                for await (const _ of probe.drainBidi(inputs()));
              })();
        await until(() => log.drainReceived === 3, 5_000);
        release();
        const err = await rejectsWith(call, Code.Canceled);
        assert.match(err.message, /input source broke/);
        await until(() => log.drainOutcome !== undefined && log.signal?.aborted === true, 5_000);
        assert.ok(log.drainOutcome instanceof RpcError, `handler input ended with ${String(log.drainOutcome)}`);
        assert.equal(log.drainOutcome.code, Code.Canceled);
        assert.equal(log.drainReceived, 3);
        const reason: unknown = log.signal?.reason;
        assert.ok(reason instanceof RpcError, `abort reason is ${String(reason)}`);
        assert.equal(reason.code, Code.Canceled);
      } finally {
        await client.close();
        await server.close({ graceMs: 500 });
      }
    });
  }
});
