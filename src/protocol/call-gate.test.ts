import assert from "node:assert/strict";
import { test } from "node:test";
import { CallGate } from "./call-gate.js";

interface Call {
  name: string;
  done: boolean;
  deadline: number | undefined;
}

const call = (name: string, deadline?: number): Call => ({ name, done: false, deadline });

/** A gate whose handlers stay running until `finish` is called, logging starts and expiries. */
function gate(maxRunning: number) {
  const log: string[] = [];
  const g = new CallGate<Call>(
    maxRunning,
    (c) => log.push(`run ${c.name}`),
    (c) => {
      c.done = true;
      log.push(`expire ${c.name}`);
    },
  );
  return { g, log };
}

test("outside a read a call starts at once", () => {
  const { g, log } = gate(2);
  g.admit(call("a"));
  assert.deepEqual(log, ["run a"]);
});

test("calls admitted during a read start at its end, in order, except those ended meanwhile", () => {
  const { g, log } = gate(10);
  const [a, b, c] = [call("a"), call("b"), call("c")];
  g.beginRead();
  g.admit(a);
  g.admit(b);
  g.admit(c);
  b.done = true; // its CANCEL came later in the read
  assert.deepEqual(log, []);
  g.endRead();
  assert.deepEqual(log, ["run a", "run c"]);
});

test("the last call of a read starts at once, unless calls ahead of it are held", () => {
  const { g, log } = gate(10);
  g.beginRead();
  g.admit(call("alone"), true);
  g.endRead();
  assert.deepEqual(log, ["run alone"]);
  log.length = 0;
  g.beginRead();
  g.admit(call("first"));
  g.admit(call("last"), true);
  assert.deepEqual(log, []);
  g.endRead();
  assert.deepEqual(log, ["run first", "run last"]);
});

test("beyond maxRunning calls queue, and start in order as handlers return", () => {
  const { g, log } = gate(1);
  g.admit(call("a"));
  g.admit(call("b"));
  g.admit(call("c"));
  assert.deepEqual(log, ["run a"]);
  g.handlerDone();
  assert.deepEqual(log, ["run a", "run b"]);
  g.handlerDone();
  g.handlerDone();
  assert.deepEqual(log, ["run a", "run b", "run c"]);
});

test("a queued call whose deadline passed is expired instead of started, and frees no slot", () => {
  const { g, log } = gate(1);
  const now = Date.now();
  g.admit(call("a"));
  g.admit(call("late", now - 1));
  g.admit(call("future", now + 60_000));
  g.handlerDone();
  assert.deepEqual(log, ["run a", "expire late", "run future"]);
});

test("a held call whose deadline passed during the read is expired at its end", () => {
  const { g, log } = gate(4);
  g.beginRead();
  g.admit(call("late", Date.now() - 1));
  g.endRead();
  assert.deepEqual(log, ["expire late"]);
});
