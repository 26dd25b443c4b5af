import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { countsAgainst, Health, resolveOutlierOptions } from "./outlier.js";

const options = resolveOutlierOptions({ failureRate: 0.5, minCalls: 4, windowCalls: 8, baseEjectionMs: 100 });

describe("outlier health", () => {
  test("ejects only with minCalls judged and the failure share at the rate", () => {
    const h = new Health(options);
    assert.equal(h.record(true, false), undefined, "1 call: too few");
    assert.equal(h.record(true, false), undefined);
    assert.equal(h.record(true, false), undefined, "3 calls: too few");
    assert.equal(h.record(false, false), undefined, "a success never ejects");
    assert.equal(h.record(true, false), "eject", "4 of 5 failed");
    const g = new Health(options);
    for (let i = 0; i < 6; i++) g.record(false, false);
    assert.equal(g.record(true, false), undefined, "1 of 7");
    assert.equal(g.record(true, false), undefined, "2 of 8");
    assert.equal(g.record(true, false), undefined, "3 of the last 8");
    assert.equal(g.record(true, false), "eject", "4 of the last 8: the oldest successes left the window");
  });

  test("outcomes that say nothing of the endpoint are not counted", () => {
    const h = new Health(options);
    for (let i = 0; i < 20; i++) assert.equal(h.record(undefined, false), undefined);
    assert.equal(h.record(true, false), undefined, "only one call was judged");
    assert.ok(countsAgainst(new RpcError(Code.Unavailable, "x")));
    assert.ok(countsAgainst(new RpcError(Code.Internal, "x")));
    assert.ok(countsAgainst(new RpcError(Code.DeadlineExceeded, "x")));
    assert.ok(!countsAgainst(new RpcError(Code.Unavailable, "draining", { safeToRetry: true })));
    assert.ok(!countsAgainst(new RpcError(Code.NotFound, "x")), "the caller's problem");
    assert.ok(!countsAgainst(new RpcError(Code.InvalidArgument, "x")));
  });

  test("ejected: no calls; then one probe at a time; its outcome readmits or ejects for longer", () => {
    const h = new Health(options);
    assert.equal(h.eject(), 100);
    assert.equal(h.admits, false);
    assert.equal(h.record(true, false), undefined, "a late call's outcome changes nothing");
    h.expire();
    assert.equal(h.state, "probing");
    assert.equal(h.admits, true);
    assert.equal(h.sent(), true, "the first call is the probe");
    assert.equal(h.admits, false, "no second call while the probe is out");
    assert.equal(h.record(undefined, true), "repick", "a canceled probe says nothing");
    assert.equal(h.state, "probing");
    assert.equal(h.sent(), true);
    assert.equal(h.record(true, true), "eject");
    assert.equal(h.eject(), 200, "the second ejection in a row lasts twice as long");
    h.expire();
    h.sent();
    assert.equal(h.record(false, true), "repick");
    assert.equal(h.state, "healthy");
    assert.equal(h.sent(), false, "healthy: calls are not probes");
    // A window's worth of calls after readmission resets the multiplier.
    for (let i = 0; i < 8; i++) h.record(false, false);
    assert.equal(h.eject(), 100);
  });

  test("ejection time is capped; options are clamped", () => {
    const h = new Health(resolveOutlierOptions({ baseEjectionMs: 100, maxEjectionMs: 250 }));
    assert.deepEqual([h.eject(), h.eject(), h.eject(), h.eject()], [100, 200, 250, 250]);
    const o = resolveOutlierOptions({ failureRate: 7, minCalls: -1, windowCalls: 1e9, maxEjectionMs: 1 });
    assert.equal(o.failureRate, 1);
    assert.equal(o.minCalls, 1);
    assert.equal(o.windowCalls, 1000);
    assert.equal(o.maxEjectionMs, o.baseEjectionMs, "never shorter than the base");
  });
});
