import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LatencyHistogram, median } from "./stats.js";

/** The nearest-rank quantile of `values`, exactly. */
function exact(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
}

describe("LatencyHistogram", () => {
  test("reports every quantile within 1/256 of the exact nearest-rank value", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // Latencies from 1 µs to ~1 s, spread over six orders of magnitude.
    const values = Array.from({ length: 20_000 }, () => Math.round(1000 * 10 ** (6 * random())));
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    assert.equal(h.count, values.length);
    for (const q of [0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1]) {
      const want = exact(values, q);
      const got = h.quantileNs(q);
      assert.ok(Math.abs(got - want) <= want / 256, `q ${q}: got ${got}, exact ${want}`);
    }
  });

  test("values under 128 ns are exact; values past 2^32 ns count as 2^32", () => {
    const h = new LatencyHistogram();
    for (const v of [3, 3, 100, 127]) h.record(v);
    assert.equal(h.quantileNs(0.5), 3);
    assert.equal(h.quantileNs(1), 127);
    h.record(1e12);
    assert.ok(Math.abs(h.quantileNs(1) - 2 ** 32) <= 2 ** 32 / 256);
  });

  test("percentiles() are in µs; an empty histogram gives NaN", () => {
    const h = new LatencyHistogram();
    assert.ok(Number.isNaN(h.percentiles().p50Us));
    for (let i = 0; i < 1000; i++) h.record(250_000);
    const p = h.percentiles();
    for (const v of [p.p50Us, p.p99Us, p.p999Us]) assert.ok(Math.abs(v - 250) <= 250 / 256, String(v));
  });
});

test("median of an odd and an even count", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});
