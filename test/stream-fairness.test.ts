/**
 * A server stream that always has credit, on a socket that takes every write, must still let the
 * server read its connection: a CANCEL stops the stream, and other calls on the connection are
 * answered while it runs. The server (test/fairness-server.ts) runs in a worker thread and the
 * peer here reads as fast as the kernel delivers, so the socket never backs up; its generator is
 * synchronous, the fastest a handler can produce.
 *
 * The peer announces a window larger than the whole stream (64 MiB against ~34 MB), so the pump
 * never runs out of credit and never waits for a WINDOW: only the server taking turns with its own
 * reads brings the CANCEL or the REQUEST in. Before the fix it read nothing until the stream was
 * over: the CANCEL sent after the first item let all 2,000,000 items through to END, and each
 * unary call waited for the whole stream.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { defaultStreamWindowBytes } from "../src/protocol/index.js";
import { cancel, F, FarcallPeer, request, T } from "./farcall-peer.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

/** 2,000,000 numbers of 1–7 JSON digits: ~34 MB of DATA frames, about 8 default windows. */
const streamItems = 2_000_000;
/** More than the whole stream costs (docs/protocol.md §5: payload + 10 per DATA). */
const bigWindowBytes = 64 * 1024 * 1024;
const itemsRequest = request({
  id: 1,
  methodId: 1,
  name: "Fair/items",
  flags: F.ResponseStream,
  json: `{"n":${streamItems}}`,
});

/** Starts test/fairness-server.ts in a worker; resolves with its port. The worker ends after the test. */
async function startFairServer(): Promise<number> {
  const worker = new Worker(new URL("./fairness-server.js", import.meta.url));
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  cleanups.push(async () => {
    worker.postMessage("close");
    // A worker that does not close in time is stopped, so the test cannot hang on it.
    const timer = setTimeout(() => void worker.terminate(), 5_000);
    await exited;
    clearTimeout(timer);
  });
  return await new Promise<number>((resolve, reject) => {
    worker.once("message", (m: { port: number }) => resolve(m.port));
    worker.once("error", reject);
  });
}

test("a CANCEL after the first item stops a fast stream within one window, long before END", async () => {
  const peer = await FarcallPeer.open(await startFairServer(), cleanups, bigWindowBytes);
  let items = 0;
  let ended = false;
  let sum: number | undefined;
  // The unary call rides behind the CANCEL in the same write: once it is answered, the server has
  // read the CANCEL too.
  const cancelThenAdd = [cancel(1), request({ id: 3, methodId: 2, name: "Fair/add", json: '{"a":2,"b":3}' })];
  peer.onFrame = (f) => {
    if (f.id === 1) {
      // Anything but DATA (END, ERROR) means the stream did not stop for the CANCEL.
      if (f.type !== T.Data) ended = true;
      else if (++items === 1) peer.send(...cancelThenAdd);
    } else if (f.id === 3 && f.type === T.Response) sum = Number(f.payload.toString("utf8"));
  };
  peer.send(itemsRequest);
  await peer.until(() => sum !== undefined, 60_000, "the answer to Fair/add sent after the CANCEL");
  assert.equal(sum, 5);
  // Frames written before the CANCEL was read may still be on the way; give them time to land.
  const atReply = items;
  await new Promise((r) => setTimeout(r, 100));
  const afterCancel = items - 1;
  // One default window (4 MiB) carries at most this many DATA frames: each costs at least 10 + 1.
  const oneWindowItems = Math.floor(defaultStreamWindowBytes / 11);
  assert.equal(ended, false, `the stream ran to its end (${items} items) despite the CANCEL`);
  assert.ok(
    afterCancel <= oneWindowItems,
    `${afterCancel} items arrived after the CANCEL, more than one window carries (${oneWindowItems})`,
  );
  // Nothing is written for the call once the CANCEL is read (§4.4); frames queued before may land.
  assert.ok(items - atReply < 1_000, `the stream went on after the reply: ${atReply} then ${items} items`);
});

test("unary calls on the connection of a fast stream are answered while the stream runs", async () => {
  const peer = await FarcallPeer.open(await startFairServer(), cleanups, bigWindowBytes);
  const calls = 20;
  const took: number[] = [];
  let items = 0;
  let ended = false;
  let sentAt = 0;
  let nextId = 3;
  const sendAdd = () => {
    sentAt = performance.now();
    // Method id 2 is bound by the first call and used by id alone after it (§4.1).
    const name = nextId === 3 ? "Fair/add" : undefined;
    peer.send(request({ id: nextId, methodId: 2, name, json: `{"a":${nextId},"b":1}` }));
    nextId += 2;
  };
  peer.onFrame = (f) => {
    if (f.id === 1) {
      if (f.type !== T.Data) ended = true;
      else if (++items === 1) sendAdd();
    } else if (f.type === T.Response) {
      assert.equal(Number(f.payload.toString("utf8")), f.id + 1);
      took.push(performance.now() - sentAt);
      if (took.length === calls) peer.send(cancel(1));
      // A pause between calls, so they sample the stream over its run rather than one moment of it.
      else setTimeout(sendAdd, 2);
    }
  };
  peer.send(itemsRequest);
  await peer.until(() => took.length === calls, 60_000, `${calls} answers to Fair/add`);
  const itemsThen = items;
  // Timed asserts are noisy on a shared machine: 200 ms is 40x the target, and far below the
  // seconds the stream takes to run out.
  assert.equal(ended, false, `the calls were answered only once the stream had ended (${itemsThen} items)`);
  const slowest = Math.max(...took);
  assert.ok(
    slowest < 200,
    `a unary call beside the stream took ${slowest.toFixed(1)} ms (all: ${took.map((t) => t.toFixed(1))})`,
  );
});
