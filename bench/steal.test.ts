import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseProcStat, StealGuard, stealPercent } from "./steal.js";

describe("parseProcStat", () => {
  test("reads steal and the total of the first eight fields of the aggregate cpu line", () => {
    const text = [
      "cpu  1144457 4725 349089 3073781 9342 0 124045 226676 0 0",
      "cpu0 572228 2362 174544 1536890 4671 0 62022 113338 0 0",
      "intr 12345",
    ].join("\n");
    assert.deepEqual(parseProcStat(text), {
      steal: 226676,
      total: 1144457 + 4725 + 349089 + 3073781 + 9342 + 0 + 124045 + 226676,
    });
  });

  test("gives nothing without a cpu line, or with one too short to have steal", () => {
    assert.equal(parseProcStat("cpu0 1 2 3 4 5 6 7 8\nintr 1"), undefined);
    assert.equal(parseProcStat("cpu  1 2 3 4 5 6 7"), undefined);
    assert.equal(parseProcStat("cpu  1 2 3 4 x 6 7 8"), undefined);
  });
});

describe("stealPercent", () => {
  test("is steal's share of the CPU time between two readings", () => {
    assert.equal(stealPercent({ steal: 10, total: 1000 }, { steal: 30, total: 1200 }), 10);
    assert.equal(stealPercent({ steal: 10, total: 1000 }, { steal: 10, total: 1000 }), 0);
    assert.equal(stealPercent(undefined, { steal: 10, total: 1000 }), undefined);
  });
});

/** A measure() that returns the given steal figures in turn, counting its calls. */
function takes(...steals: (number | undefined)[]) {
  let n = 0;
  const measure = async () => ({ take: n, stealPercent: steals[n++] });
  return { measure, count: () => n };
}

describe("StealGuard", () => {
  test("keeps a window at or under the limit as taken", async () => {
    const guard = new StealGuard({ maxPercent: 10, takesPerWindow: 3, maxRetakes: 5 });
    const t = takes(10, 0);
    assert.equal((await guard.take(t.measure)).take, 0);
    assert.equal(t.count(), 1);
    assert.equal(guard.retakes, 0);
  });

  test("retakes a stolen window and keeps the least-stolen take", async () => {
    const guard = new StealGuard({ maxPercent: 10, takesPerWindow: 3, maxRetakes: 5 });
    const t = takes(30, 12, 20);
    assert.equal((await guard.take(t.measure)).take, 1);
    assert.equal(t.count(), 3);
    assert.equal(guard.retakes, 2);
  });

  test("stops retaking as soon as a take is under the limit", async () => {
    const guard = new StealGuard({ maxPercent: 10, takesPerWindow: 5, maxRetakes: 5 });
    const t = takes(30, 4, 0);
    assert.equal((await guard.take(t.measure)).take, 1);
    assert.equal(t.count(), 2);
  });

  test("makes no more extra takes in a run than its budget", async () => {
    const guard = new StealGuard({ maxPercent: 10, takesPerWindow: 3, maxRetakes: 3 });
    const first = takes(50, 40, 30);
    const second = takes(50, 40, 30);
    assert.equal((await guard.take(first.measure)).take, 2);
    assert.equal((await guard.take(second.measure)).take, 1);
    assert.equal(second.count(), 2);
    assert.equal(guard.retakes, 3);
    const third = takes(50, 0);
    assert.equal((await guard.take(third.measure)).take, 0);
    assert.equal(third.count(), 1);
  });

  test("keeps every window as taken where steal cannot be read", async () => {
    const guard = new StealGuard({ maxPercent: 10, takesPerWindow: 3, maxRetakes: 5 });
    const t = takes(undefined, undefined);
    assert.equal((await guard.take(t.measure)).take, 0);
    assert.equal(t.count(), 1);
  });
});
