import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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

test("the README's security example is examples/security.ts, and it runs", async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Security"));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "the Security section has a ts block");
  const file = readFileSync(join(root, "examples/security.ts"), "utf8");
  assert.equal(file.split("\n").slice(2).join("\n"), block);
  const dir = mkdtempSync(join(tmpdir(), "farcall-readme-certs-"));
  try {
    execFileSync("bash", [join(root, "scripts/make-certs.sh"), dir]);
    const example = fileURLToPath(new URL("../examples/security.js", import.meta.url));
    const out = execFileSync(process.execPath, [example, dir], { encoding: "utf8", timeout: 20_000 });
    assert.equal(out, "client as ann\nsigned by k1\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the README's cluster example is examples/cluster.ts, and it runs", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Cluster"));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "the Cluster section has a ts block");
  const file = readFileSync(join(root, "examples/cluster.ts"), "utf8");
  assert.equal(file.slice(file.indexOf("\n") + 1), block);
  const example = fileURLToPath(new URL("../examples/cluster.js", import.meta.url));
  const out = execFileSync(process.execPath, [example], { encoding: "utf8", timeout: 20_000 });
  assert.equal(out, "100 5\n");
});
