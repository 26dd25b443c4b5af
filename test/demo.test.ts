// `npm start`'s program: the single-server part and the cluster part (three replica processes, one
// stopped, one killed) end with every call accounted for, none failed, and nothing left running.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const main = fileURLToPath(new URL("../examples/demo/main.js", import.meta.url));

test("the demo: a cluster of three replicas loses no call when one is stopped and one killed", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [main], { timeout: 60_000 });
  assert.match(stdout, /1,000 concurrent calls|1000 replies, all correct: true/);
  assert.match(stdout, /the client resolved Arith to 3 replicas/);
  const total = /(\d+) calls: (\d+) answered \((\d+) wrong\), (\d+) failed/.exec(stdout);
  assert.ok(total !== null, stdout);
  const [, sent, answered, wrong, failed] = total.map(Number) as number[];
  assert.equal(answered, sent);
  assert.equal(wrong, 0);
  assert.equal(failed, 0);
  for (const n of [1, 2, 3]) {
    const served = new RegExp(`replica ${n}: (\\d+)`).exec(stdout);
    assert.ok(served !== null && Number(served[1]) > 0, `replica ${n} served calls`);
  }
  assert.match(stdout, /every call accounted for: true/);
  assert.match(stdout, /\ndone\n/);
});
