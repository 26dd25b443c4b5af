/**
 * The package as users install it: `npm pack`, the tarball installed into a fresh project, both
 * entries imported, and the `farcall` command run there (`--help`, `gen`).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

test("npm pack installs into a fresh project: farcall and farcall/web import, npx farcall --help and gen run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "farcall-pack-"));
  try {
    // --ignore-scripts: the suite runs from dist/, which this checkout has built already.
    await run(npm, ["pack", "--ignore-scripts", "--pack-destination", dir], { cwd: root, timeout: 60_000 });
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote a tarball");
    const { stdout: listing } = await run("tar", ["-tzf", join(dir, tarball)]);
    assert.match(listing, /package\/dist\/src\/index\.js/);
    assert.match(listing, /package\/dist\/src\/cli\/main\.js/);
    assert.doesNotMatch(listing, /\.test\.js|dist\/test\/|dist\/bench\//, "no tests or benchmarks in the package");
    const app = join(dir, "app");
    await run("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await run(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, tarball)], {
      cwd: app,
      timeout: 120_000,
    });
    writeFileSync(
      join(app, "main.js"),
      `import { createServer, createClient, defineService, unary, xdr } from "farcall";
import * as web from "farcall/web";
const S = defineService("S", { hi: unary() });
const server = createServer().add(S, { hi: (n) => n + 1 });
const address = await server.listen("tcp://127.0.0.1:0");
const client = createClient(address);
console.log(await client.service(S).hi(41), typeof web.createClient, typeof xdr.struct);
await client.close();
await server.close();
`,
    );
    const { stdout } = await run(process.execPath, ["main.js"], { cwd: app, timeout: 20_000 });
    assert.equal(stdout, "42 function function\n");
    const help = await run("npx", ["--no-install", "farcall", "--help"], { cwd: app, timeout: 30_000 });
    assert.match(help.stdout, /usage: farcall <command>/);
    writeFileSync(join(app, "time.x"), readFileSync(join(root, "testdata/idl/time.x")));
    await run("npx", ["--no-install", "farcall", "gen", "time.x", "--out", "gen"], { cwd: app, timeout: 30_000 });
    assert.equal(
      readFileSync(join(app, "gen/time.ts"), "utf8"),
      readFileSync(join(root, "testdata/idl/time.ts"), "utf8"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
