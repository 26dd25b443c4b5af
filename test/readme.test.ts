import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("the README's quick start is examples/quick-start.ts, which the build type-checks", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README has a ts block");
  const file = readFileSync(join(root, "examples/quick-start.ts"), "utf8");
  assert.equal(file.slice(file.indexOf("\n") + 1), block);
});

test("the README's test command is what CI runs", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const ci = readFileSync(join(root, ".ci/run"), "utf8");
  assert.match(readme, /`bash scripts\/ci\.sh`/);
  assert.match(ci, /^bash scripts\/ci\.sh$/m);
});
