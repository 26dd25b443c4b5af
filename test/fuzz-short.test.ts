/**
 * The short fuzzing pass CI runs every time: each target of fuzz/targets/ for a bounded number of
 * executions from its seed corpus (the conformance vectors), blind (no coverage feedback, which
 * costs more than it finds in so few runs), and every regression vector of
 * testdata/vectors/fuzz-regressions/ replayed. A target may only return or throw RpcError, within
 * its allocation bound; `npm run fuzz` is the long pass (docs/fuzzing.md).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { installAllocGuard } from "../fuzz/alloc-guard.js";
import { fuzz, runInput } from "../fuzz/engine.js";
import { targets } from "../fuzz/targets/index.js";
import { fromHex, regressionVectors } from "../fuzz/vectors.js";

/** Executions per target: 1 to 2 s each on a 2-core machine, about 12 s in all. */
const execs: Record<string, number> = { http: 12_000, websocket: 5000, "oncrpc-records": 60_000, xdr: 30_000 };
const defaultExecs = 20_000;

before(() => installAllocGuard());
after(() => {
  // Nothing a target started may keep the process alive.
  const left = process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate");
  assert.deepEqual(left, [], "timers left after fuzzing");
});

for (const target of targets) {
  test(`fuzz ${target.name}: ${target.description}`, async () => {
    const n = execs[target.name] ?? defaultExecs;
    const stats = await fuzz(target, { execs: n, seed: 20_240_611, slowMs: 2000 });
    assert.equal(stats.execs, n);
    const found = stats.findings.map((f) => `${f.kind}: ${f.message} input ${Buffer.from(f.input).toString("hex")}`);
    assert.deepEqual(found, [], `${target.name} found bugs`);
  });

  const vectors = regressionVectors(target.name);
  if (vectors.length === 0) continue;
  test(`fuzz regressions of ${target.name} (testdata/vectors/fuzz-regressions/${target.name}.json)`, async () => {
    for (const v of vectors) {
      const got = await runInput(target, fromHex(v.hex), 2000);
      const what = typeof got === "object" ? `${got.kind}: ${got.message}` : "accepted or refused with RpcError";
      assert.ok(typeof got !== "object", `${v.name} (${v.status}): ${what}; ${v.note}`);
    }
  });
}
