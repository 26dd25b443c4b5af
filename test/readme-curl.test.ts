// The README's curl examples, run with the real curl against the demo server: each command's
// output must be what the comment under it says.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startDemo } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `[command, expected output]` pairs from the README's sh block that runs curl. */
function curlExamples(): [string, string][] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = /```sh\n(curl[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README has a sh block of curl examples");
  const lines = block.replace(/\\\n\s*/g, "").split("\n");
  const pairs: [string, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.startsWith("curl ")) continue;
    const comment = lines[i + 1] ?? "";
    assert.match(comment, /^# /, `a comment with the expected output follows: ${line}`);
    pairs.push([line, comment.slice(2).replace(/\s+\(one per line\)$/, "")]);
  }
  return pairs;
}

/** Splits a command line into arguments, honouring single quotes (all the README uses). */
function argv(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string);
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(args[0] as string, args.slice(1), { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.join(" ")} failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

test("the README's curl examples print what the README says", async () => {
  const examples = curlExamples();
  assert.ok(examples.length >= 4, `found ${examples.length} examples`);
  const h = await startDemo({ corsOrigins: "*" });
  try {
    const port = new URL(h.address).port;
    for (const [command, expected] of examples) {
      const out = await run(argv(command.replaceAll("127.0.0.1:4000", `127.0.0.1:${port}`)));
      assert.equal(out.trim().split("\n").join(" "), expected, command);
    }
  } finally {
    await h.close();
  }
  await assertNoLeaks();
});
