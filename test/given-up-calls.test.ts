/**
 * Calls the client has already given up on must not start. After a stall the server may read, in
 * one chunk, REQUESTs together with the CANCELs the client sent for them once their deadlines
 * passed (docs/protocol.md §4.4); and a call that waited in the maxConcurrentCalls queue (§9.3)
 * may reach the front after its deadline, before its timer had a chance to fire. Before the fix
 * 220 of 225 such calls were started after a stall; here every one of them was.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createServer, defineService, type ServerOptions, unary } from "../src/index.js";
import { cancel, errorOf, FarcallPeer, type Frame, request, T } from "./farcall-peer.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

const Gate = defineService("Gate", {
  /** Records that it ran, and answers with its input. */
  probe: unary<number, number>(),
  /** Waits `sleepMs` on a timer, then holds the thread for `busyMs`: a stall after the call started. */
  busy: unary<{ sleepMs: number; busyMs: number }, string>(),
});

async function startGate(options: ServerOptions = {}): Promise<{ port: number; ran: number[] }> {
  const ran: number[] = [];
  const server = createServer(options).add(Gate, {
    probe: (n) => {
      ran.push(n);
      return n;
    },
    async busy({ sleepMs, busyMs }) {
      await new Promise((r) => setTimeout(r, sleepMs));
      const end = Date.now() + busyMs;
      while (Date.now() < end) {
        // hold the thread: no timer of this process can fire meanwhile
      }
      return "done";
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 1_000 }));
  return { port: Number(new URL(address).port), ran };
}

/** Collects the frames the peer receives, by call id. */
function collect(peer: FarcallPeer): Map<number, Frame[]> {
  const byId = new Map<number, Frame[]>();
  peer.onFrame = (f) => {
    const list = byId.get(f.id) ?? [];
    list.push({ ...f, payload: Buffer.from(f.payload) });
    byId.set(f.id, list);
  };
  return byId;
}

test("REQUESTs whose CANCELs come later in the same read are never started", async () => {
  const { port, ran } = await startGate();
  const peer = await FarcallPeer.open(port, cleanups, 4 * 1024 * 1024);
  const frames = collect(peer);
  const calls = 60;
  const parts: Buffer[] = [];
  for (let i = 0; i < calls; i++) {
    const id = 2 * i + 1;
    parts.push(request({ id, methodId: 1, name: i === 0 ? "Gate/probe" : undefined, timeoutMs: 5_000, json: `${i}` }));
  }
  // Every call but each third is canceled: half of those as the client does when its caller
  // aborts (empty), half as it does when the deadline passed (code 4).
  const canceled = new Set<number>();
  for (let i = 0; i < calls; i++) {
    if (i % 3 === 2) continue;
    canceled.add(i);
    parts.push(cancel(2 * i + 1, i % 2 === 0 ? 4 : undefined));
  }
  // One write of ~2.5 KB: on loopback it reaches the server as one read.
  peer.send(...parts);
  // A later call, answered only after everything before it was read and handled.
  peer.send(request({ id: 1001, methodId: 1, json: "1001" }));
  await peer.until(() => frames.has(1001), 5_000, "the answer to the call after the batch");

  const notCanceled = [...Array(calls).keys()].filter((i) => !canceled.has(i));
  assert.deepEqual(ran, [...notCanceled, 1001], "the handler ran for canceled calls");
  for (let i = 0; i < calls; i++) {
    const got = (frames.get(2 * i + 1) ?? []).map((f) => f.type);
    // A canceled call gets nothing more (§4.4); the others their RESPONSE.
    assert.deepEqual(got, canceled.has(i) ? [] : [T.Response], `frames for call ${2 * i + 1} (item ${i})`);
  }
});

test("a queued call whose deadline passed while it waited never starts and gets deadline_exceeded", async () => {
  const { port, ran } = await startGate({ limits: { maxConcurrentCalls: 1 } });
  const peer = await FarcallPeer.open(port, cleanups, 4 * 1024 * 1024);
  const frames = collect(peer);
  // The first call takes the only slot, then holds the thread for 150 ms, well past the 30 ms
  // deadlines of the calls queued behind it, whose timers cannot fire meanwhile: when it returns,
  // they reach the front of the queue with their deadlines long gone.
  const parts = [
    request({ id: 1, methodId: 1, name: "Gate/busy", json: '{"sleepMs":5,"busyMs":150}' }),
    request({ id: 3, methodId: 2, name: "Gate/probe", timeoutMs: 30, json: "3" }),
  ];
  const queued = [3];
  for (let id = 5; id <= 21; id += 2) {
    parts.push(request({ id, methodId: 2, timeoutMs: 30, json: `${id}` }));
    queued.push(id);
  }
  peer.send(...parts);
  await peer.until(() => queued.every((id) => frames.has(id)) && frames.has(1), 5_000, "every call's reply");

  assert.deepEqual(ran, [], "queued calls were started after their deadline");
  assert.deepEqual(
    frames.get(1)?.map((f) => f.type),
    [T.Response],
  );
  for (const id of queued) {
    const got = frames.get(id) ?? [];
    assert.deepEqual(
      got.map((f) => f.type),
      [T.Error],
      `call ${id}`,
    );
    assert.deepEqual(errorOf((got[0] as Frame).payload), { code: 4, message: "deadline exceeded" }, `call ${id}`);
  }
  // The connection still serves: a call without a deadline runs.
  peer.send(request({ id: 101, methodId: 2, json: "101" }));
  await peer.until(() => frames.has(101), 5_000, "the answer to a later call");
  assert.deepEqual(ran, [101]);
});
