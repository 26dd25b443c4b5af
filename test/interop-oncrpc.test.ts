/**
 * Real rpcgen C programs (interop/oncrpc/, built here by its build.sh with Debian's rpcgen and
 * libtirpc) against farcall's ONC RPC over TCP, both ways: the C clients call a farcall server on
 * its shared port, and a farcall client calls the C servers. The generated TypeScript in test/gen/
 * is checked to be what `farcall gen` writes for the same .x files.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { TIMEPROG_PRINTIMEVERS } from "../examples/demo/time-prog.js";
import { compileX } from "../src/idl/index.js";
import { Code, createClient, createServer, RpcError } from "../src/index.js";
import { rejectsWith } from "./fixtures.js";
import {
  type box,
  type list,
  type node,
  RICHPROG_RICHVERS,
  RICHPROG_RICHVERS_2,
  type record,
  type shape,
  shape_kind,
} from "./gen/rich.js";
import { trackCleanups } from "./helpers.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const src = join(root, "interop/oncrpc");
const cleanups = trackCleanups();
let bin = "";

before(async () => {
  bin = mkdtempSync(join(tmpdir(), "farcall-oncrpc-"));
  // No skip: without rpcgen, libtirpc or a C compiler this fails (scripts/ci.sh installs them).
  await run("bash", [join(src, "build.sh"), bin], { timeout: 120_000 });
});
after(() => rmSync(bin, { recursive: true, force: true }));

test("test/gen/rich.ts and examples/demo/time-prog.ts are what farcall gen writes for interop/oncrpc/*.x", () => {
  for (const [name, target] of [
    ["rich", "test/gen/rich.ts"],
    ["time", "examples/demo/time-prog.ts"],
  ] as const) {
    const { code } = compileX(readFileSync(join(src, `${name}.x`), "utf8"), {
      fileName: `${name}.x`,
      importFrom: "../../src/index.js",
    });
    assert.equal(
      code,
      readFileSync(join(root, target), "utf8"),
      `regenerate ${target}: farcall gen interop/oncrpc/${name}.x --import ../../src/index.js`,
    );
  }
});

/** rich.x's semantics (interop/oncrpc/README.md), for both versions. */
function richImpl() {
  let stored = 0;
  const describe = (s: shape): string => {
    if (s.kind === shape_kind.SHAPE_NONE) return "nothing";
    if (s.kind === shape_kind.SHAPE_CIRCLE) return `circle of radius ${(s as { radius: number }).radius}`;
    if (s.kind === shape_kind.SHAPE_SQUARE || s.kind === shape_kind.SHAPE_RECT) {
      const { min, max } = (s as { bounds: box }).bounds;
      return `${s.kind === shape_kind.SHAPE_SQUARE ? "square" : "rect"} from (${min.x},${min.y}) to (${max.x},${max.y})`;
    }
    return `other shape ${s.kind} named ${(s as { label: string }).label}`;
  };
  const v1 = {
    ECHO_INT: (x: number) => x,
    ECHO_HYPER: (x: bigint) => x,
    ECHO_STRING: (x: string) => x,
    SUM: ({ arg1, arg2 }: { arg1: number; arg2: number }) => (arg1 + arg2) | 0,
    DESCRIBE: describe,
  };
  const v2 = {
    ...v1,
    ECHO_UHYPER: (x: bigint) => x,
    ECHO_DOUBLE: (x: number) => x,
    ECHO_SHAPE: (x: shape) => x,
    ECHO_RECORD: (x: record) => x,
    REVERSE: (l: list) => {
      let out: list = null;
      for (let at: node | null = l; at !== null; at = at.next) out = { value: at.value, next: out };
      return out;
    },
    SET: (x: number) => {
      stored = x;
    },
    GET: () => stored,
    BOUNDS: (): box => ({ min: { x: -10, y: -20 }, max: { x: 30, y: 40 } }),
    MULADD: ({ arg1, arg2, arg3 }: { arg1: bigint; arg2: number; arg3: number }) =>
      BigInt.asIntN(64, arg1 * BigInt(arg2) + BigInt(arg3)),
  };
  return { v1, v2 };
}

async function farcallServer(): Promise<number> {
  const server = createServer();
  const { v1, v2 } = richImpl();
  server.add(RICHPROG_RICHVERS, v1);
  server.add(RICHPROG_RICHVERS_2, v2);
  server.add(TIMEPROG_PRINTIMEVERS, { PRINTIME: (msg) => `Current time is ${new Date().toUTCString()} (${msg})` });
  const address = await server.listen("tcp://127.0.0.1:0", { udp: true });
  cleanups.push(() => server.close({ graceMs: 200 }));
  return Number(address.split(":").pop());
}

const c = (prog: string, ...args: string[]) => run(join(bin, prog), args, { timeout: 20_000 });

for (const proto of ["tcp", "udp"]) {
  test(`rpcgen's C time client calls farcall's Time program over ${proto}`, async () => {
    const port = await farcallServer();
    const { stdout } = await c("time_client", "127.0.0.1", proto, "hello from C", String(port));
    assert.match(stdout, /^From the Time Server \.\.\.Current time is .* GMT \(hello from C\)\n$/);
  });

  for (const version of ["1", "2"]) {
    test(`rpcgen's C rich client calls every procedure of version ${version} of a farcall server over ${proto}, output byte for byte`, async () => {
      const port = await farcallServer();
      const { stdout } = await c("rich_client", "127.0.0.1", proto, String(port), version);
      assert.equal(stdout, readFileSync(join(src, `expected_v${version}.txt`), "utf8"));
    });
  }
}

test("the C client sees PROG_MISMATCH 1..2, PROC_UNAVAIL and GARBAGE_ARGS from a farcall server", async () => {
  const port = await farcallServer();
  assert.match(
    (await c("rich_client", "127.0.0.1", "tcp", String(port), "badvers")).stdout,
    /PROG_MISMATCH low=1 high=2/,
  );
  assert.match((await c("rich_client", "127.0.0.1", "tcp", String(port), "badproc")).stdout, /PROC_UNAVAIL/);
  const bad = (await c("rich_client", "127.0.0.1", "tcp", String(port), "badargs")).stdout;
  assert.match(bad, /GARBAGE_ARGS ECHO_STRING/);
  assert.match(bad, /GARBAGE_ARGS SUM/);
});

/** A free loopback port (bound and let go), for a C server that takes its port as an argument. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts a C server on a port and waits for its `listening` line; stopped by PID after the test. */
async function cServer(prog: string): Promise<number> {
  const port = await freePort();
  const child = spawn(join(bin, prog), [String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`${prog} exited with ${code}`)));
  });
  return port;
}

for (const scheme of ["oncrpc+tcp", "oncrpc+udp"]) {
  test(`a farcall client calls rpcgen's C time server (${scheme})`, async () => {
    const port = await cServer("time_server");
    const client = createClient(`${scheme}://127.0.0.1:${port}`);
    cleanups.push(() => client.close());
    assert.match(await client.service(TIMEPROG_PRINTIMEVERS).PRINTIME("hi"), /^Current time is \w{3} \w{3} /);
  });

  test(`a farcall client calls every procedure of rpcgen's C rich server (${scheme}); echoes come back byte for byte`, async () => {
    const port = await cServer("rich_server");
    const client = createClient(`${scheme}://127.0.0.1:${port}`);
    cleanups.push(() => client.close());
    const v1 = client.service(RICHPROG_RICHVERS);
    const v2 = client.service(RICHPROG_RICHVERS_2);
    assert.equal(await v1.ECHO_INT(-2147483648), -2147483648);
    assert.equal(await v1.ECHO_HYPER(-(2n ** 63n)), -(2n ** 63n));
    assert.equal(await v1.ECHO_STRING("spaces and grüße"), "spaces and grüße");
    assert.equal(await v1.SUM({ arg1: 2147483647, arg2: 1 }), -2147483648);
    assert.equal(
      await v1.DESCRIBE({ kind: shape_kind.SHAPE_RECT, bounds: { min: { x: -1, y: 2 }, max: { x: 3, y: 4 } } }),
      "rect from (-1,2) to (3,4)",
    );
    assert.equal(await v1.DESCRIBE({ kind: shape_kind.SHAPE_CUSTOM, label: "blob" }), "other shape 32 named blob");
    assert.equal(await v1.DESCRIBE({ kind: shape_kind.SHAPE_NONE }), "nothing");
    assert.equal(await v2.ECHO_UHYPER(2n ** 64n - 1n), 2n ** 64n - 1n);
    assert.ok(Object.is(await v2.ECHO_DOUBLE(-0), -0));
    assert.equal(await v2.ECHO_DOUBLE(5e-324), 5e-324);
    const rec: record = {
      id: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
      title: "a record",
      blob: Uint8Array.of(0xff, 0, 0xfe),
      small: [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      counts: [0, 4294967295],
      triple: [7, 8, 9],
      big: -(2n ** 62n) - 5n,
      ubig: 2n ** 63n + 1n,
      flag: true,
      ratio: 0.1,
      weight: 1.5,
      mask: 0xdeadbeef,
      kind: shape_kind.SHAPE_TEXT,
      s: { kind: shape_kind.SHAPE_CIRCLE, radius: -3 },
      area: { min: { x: 1, y: 2 }, max: { x: 3, y: 4 } },
      origin: null,
    };
    assert.deepEqual(await v2.ECHO_RECORD(rec), rec);
    assert.deepEqual(
      await v2.ECHO_RECORD({ ...rec, origin: { x: -9, y: 9 }, small: [], counts: [], blob: new Uint8Array(0) }),
      {
        ...rec,
        origin: { x: -9, y: 9 },
        small: [],
        counts: [],
        blob: new Uint8Array(0),
      },
    );
    assert.deepEqual(await v2.ECHO_SHAPE({ kind: shape_kind.SHAPE_SQUARE, bounds: rec.area }), {
      kind: 2,
      bounds: rec.area,
    });
    const l: list = { value: 1, next: { value: 2, next: { value: 3, next: null } } };
    assert.deepEqual(await v2.REVERSE(l), { value: 3, next: { value: 2, next: { value: 1, next: null } } });
    assert.equal(await v2.REVERSE(null), null);
    await v2.SET(-77);
    assert.equal(await v2.GET(), -77);
    assert.deepEqual(await v2.BOUNDS(), { min: { x: -10, y: -20 }, max: { x: 30, y: 40 } });
    assert.equal(await v2.MULADD({ arg1: 2n ** 62n, arg2: 4, arg3: 5 }), 5n);
    // A name over 32 bytes is refused before it is sent; the C server refuses what it cannot decode.
    const long = await rejectsWith(v1.ECHO_STRING("x".repeat(33)), Code.Internal);
    assert.ok(long instanceof RpcError && /maximum 32/.test(long.rawMessage));
  });
}

test("an XDR-defined service called through HTTP JSON and JSON-RPC takes and gives docs/xdr.md's JSON mapping", async () => {
  const port = await farcallServer();
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const record = {
    id: "AQIDBAUGBwg=",
    title: "json",
    blob: "/wD+",
    small: [1, -2],
    counts: [4294967295],
    triple: [1, 2, 3],
    big: "-9223372036854775808",
    ubig: "18446744073709551615",
    flag: false,
    ratio: 0.5,
    weight: -1.5,
    mask: 7,
    kind: "SHAPE_TEXT",
    s: { kind: "SHAPE_TEXT", label: "default arm" },
    area: { min: { x: 0, y: 0 }, max: { x: 1, y: 1 } },
    origin: { x: 5, y: 6 },
  };
  assert.deepEqual(await post("/RICHPROG.RICHVERS_2/ECHO_RECORD", record), { status: 200, body: record });
  assert.deepEqual(await post("/RICHPROG.RICHVERS_2/MULADD", { arg1: "9007199254740993", arg2: 3, arg3: -1 }), {
    status: 200,
    body: "27021597764222978",
  });
  const bad = await post("/RICHPROG.RICHVERS_2/DESCRIBE", { kind: "SHAPE_OVAL" });
  assert.equal(bad.status, 400);
  assert.match((bad.body as { message: string }).message, /^\.kind: expected one of SHAPE_NONE, /);
  const rpc = await post("/", {
    jsonrpc: "2.0",
    id: 1,
    method: "RICHPROG.RICHVERS_2.DESCRIBE",
    params: { kind: "SHAPE_CIRCLE", radius: 4 },
  });
  assert.deepEqual(rpc.body, { jsonrpc: "2.0", id: 1, result: "circle of radius 4" });
  const shape = await post("/", {
    jsonrpc: "2.0",
    id: 2,
    method: "RICHPROG.RICHVERS_2.ECHO_SHAPE",
    params: { kind: "SHAPE_RECT", bounds: record.area },
  });
  assert.deepEqual(shape.body, { jsonrpc: "2.0", id: 2, result: { kind: "SHAPE_RECT", bounds: record.area } });
});
