import assert from "node:assert/strict";
import { readFile } from "node:fs";
import { test } from "node:test";
import { LoopTurn } from "./loop-turn.js";

test("due turns true once the slice has passed, and a turn starts a new slice", async () => {
  const turn = new LoopTurn(20);
  assert.equal(turn.due, false);
  const end = Date.now() + 1_000;
  while (!turn.due && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.equal(turn.due, true, "not due 1 s into a 20 ms slice");
  await turn.next();
  assert.equal(turn.due, false);
});

test("restart starts a new slice", async () => {
  const turn = new LoopTurn(10);
  await new Promise((r) => setTimeout(r, 15));
  assert.equal(turn.due, true);
  turn.restart();
  assert.equal(turn.due, false);
});

test("callers waiting at once share one turn", async () => {
  const turn = new LoopTurn(1);
  const a = turn.next();
  assert.equal(turn.next(), a);
  await a;
  assert.notEqual(turn.next(), a, "a later wait gets the next turn");
  await turn.next();
});

test("a microtask loop that waits for its turns lets I/O callbacks run", async () => {
  // Without the turns this loop would hold the event loop for its whole 200 ms: the file read
  // could only complete after it.
  const turn = new LoopTurn(1);
  let readDone = false;
  readFile(new URL(import.meta.url), () => {
    readDone = true;
  });
  let spins = 0;
  const end = performance.now() + 200;
  while (!readDone && performance.now() < end && spins < 10_000_000) {
    await null;
    if (++spins % 16 === 0 && turn.due) await turn.next();
  }
  assert.equal(readDone, true, `the read's callback did not run during ${spins} microtask steps`);
});
