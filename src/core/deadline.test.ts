import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { test } from "node:test";
import { Code } from "./code.js";
import { CallWatch, refusalOf } from "./deadline.js";
import type { RpcError } from "./rpc-error.js";

class Recorder extends CallWatch {
  reasons: RpcError[] = [];
  giveUp(reason: RpcError): void {
    this.reasons.push(reason);
  }
}

test("a call aborted or past its deadline is refused before it starts", () => {
  assert.equal(refusalOf({}), undefined);
  assert.equal(refusalOf({ deadline: Date.now() + 60_000 }), undefined);
  assert.equal(refusalOf({ deadline: Date.now() - 1 })?.code, Code.DeadlineExceeded);
  assert.equal(refusalOf({ signal: AbortSignal.abort() })?.code, Code.Canceled);
  const w = new Recorder();
  w.start({ deadline: Date.now() - 1 });
  assert.deepEqual(
    w.reasons.map((r) => r.code),
    [Code.DeadlineExceeded],
  );
});

test("a watch gives up once at its deadline and leaves no listener behind", async () => {
  const controller = new AbortController();
  const w = new Recorder();
  w.start({ deadline: Date.now() + 20, signal: controller.signal });
  assert.equal(getEventListeners(controller.signal, "abort").length, 1);
  await new Promise((r) => setTimeout(r, 60));
  controller.abort();
  assert.deepEqual(
    w.reasons.map((r) => r.code),
    [Code.DeadlineExceeded],
  );
  assert.equal(getEventListeners(controller.signal, "abort").length, 0);
});

test("an abort gives up once with the caller's reason; a stopped watch never gives up", async () => {
  const controller = new AbortController();
  const w = new Recorder();
  w.start({ deadline: Date.now() + 20, signal: controller.signal });
  controller.abort();
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(
    w.reasons.map((r) => r.code),
    [Code.Canceled],
  );

  const other = new AbortController();
  const stopped = new Recorder();
  stopped.start({ deadline: Date.now() + 20, signal: other.signal });
  stopped.stop();
  other.abort();
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(stopped.reasons, []);
  assert.equal(getEventListeners(other.signal, "abort").length, 0);
});
