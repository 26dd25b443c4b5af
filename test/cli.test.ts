/**
 * The `farcall` command as a user runs it: `--help` everywhere, `gen` writing a module, `call`
 * against farcall framing and ONC RPC (with `--idl`), and failures as exit code 1 with the error.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Arith, arithImpl, oncTimeImpl } from "../examples/demo/services.js";
import { TIMEPROG_PRINTIMEVERS } from "../examples/demo/time-prog.js";
import { createServer } from "../src/index.js";
import { farcall } from "./cli-run.js";
import { trackCleanups } from "./helpers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cleanups = trackCleanups();

test("--help lists the commands; every command has --help; an unknown one exits 2", async () => {
  const top = await farcall("--help");
  assert.equal(top.code, 0);
  assert.match(top.stdout, /call .*\n.*gen /s);
  for (const command of ["call", "gen"]) {
    const r = await farcall(command, "--help");
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^usage: farcall ${command} `));
  }
  const bad = await farcall("nope");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command "nope"/);
});

test("gen writes the module next to --out; a syntax error exits 1 naming file, line and column", async () => {
  const dir = mkdtempSync(join(tmpdir(), "farcall-cli-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const r = await farcall("gen", join(root, "testdata/idl/time.x"), "--out", dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(dir, "time.ts"), "utf8"), readFileSync(join(root, "testdata/idl/time.ts"), "utf8"));
  writeFileSync(join(dir, "bad.x"), "const A = 1;\nconst B = ;\n");
  const bad = await farcall("gen", join(dir, "bad.x"), "--out", dir);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "farcall: [invalid_argument] bad.x:2:11: expected a number or constant for B, got ';'\n");
});

test("call: farcall framing and ONC RPC over TCP and UDP (--idl, by names and by numbers); errors exit 1", async () => {
  const server = createServer().add(Arith, arithImpl()).add(TIMEPROG_PRINTIMEVERS, oncTimeImpl);
  const address = await server.listen("tcp://127.0.0.1:0", { udp: true });
  cleanups.push(() => server.close({ graceMs: 100 }));
  const port = address.split(":").pop() as string;
  const add = await farcall("call", address, "Arith/add", '{"a":20,"b":22}');
  assert.deepEqual([add.code, add.stdout], [0, "42\n"]);
  const time = join(root, "interop/oncrpc/time.x");
  for (const scheme of ["oncrpc+tcp", "oncrpc+udp"]) {
    for (const name of ["TIMEPROG.PRINTIMEVERS.PRINTIME", "536870913.1.1", "0x20000001.PRINTIMEVERS.1"]) {
      const r = await farcall("call", `${scheme}://127.0.0.1:${port}`, name, '"cli"', "--idl", time);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^"Current time is \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \(cli\)"\n$/);
    }
  }
  const divide = await farcall("call", address, "Arith/divide", '{"a":1,"b":0}');
  assert.deepEqual([divide.code, divide.stderr], [1, "farcall: [invalid_argument] divide by zero\n"]);
  const wrongType = await farcall(
    "call",
    `oncrpc+tcp://127.0.0.1:${port}`,
    "TIMEPROG.PRINTIMEVERS.PRINTIME",
    "5",
    "--idl",
    time,
  );
  assert.deepEqual([wrongType.code, wrongType.stderr], [1, "farcall: [invalid_argument] value: expected a string\n"]);
  const missing = await farcall("call", `oncrpc+tcp://127.0.0.1:${port}`, "TIMEPROG.PRINTIMEVERS.NOPE", "--idl", time);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /has no procedure TIMEPROG\.PRINTIMEVERS\.NOPE \(it has TIMEPROG\.PRINTIMEVERS\.PRINTIME\)/,
  );
  const notJson = await farcall("call", address, "Arith/add", "{nope");
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /the input is not JSON/);
});
