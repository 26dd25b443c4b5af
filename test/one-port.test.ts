// One farcall server process on one port answers every kind of peer docs/protocols.md names,
// against the same Arith handlers: the demo server program (examples/demo/server.ts, as built
// next to this file) is started once with `--port 0 --cors '*'`, and then Go's net/rpc client,
// the Python scripts, jayson's TCP and HTTP clients, curl, the farcall client (tcp://, ws://,
// http://, jsonrpc+tcp://) and chromium all call that one address. Last, SIGTERM must let calls
// in flight finish and the process exit 0.
//
// go, python3, curl and chromium must be installed: a missing one fails its test.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Arith, Time } from "../examples/demo/services.js";
import { Code, createClient } from "../src/index.js";
import { startPageHost } from "./browser-peer.js";
import { rejectsWith, sleep, until, within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";
import {
  checkGoClient,
  checkPythonGoDialect,
  checkPythonJsonRpc,
  checkReadmeCurl,
  curl,
  jaysonChecks,
  jaysonClients,
  type Logged,
  removeGoBuild,
} from "./peers.js";

/** The demo server program built with this test: <build>/test/one-port.test.js → <build>/examples/demo/server.js. */
const serverProgram = fileURLToPath(new URL("../examples/demo/server.js", import.meta.url));

afterEach(() => assertNoLeaks());
after(removeGoBuild);

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/**
 * The demo server as a child process. Its stdout and stderr go to a file rather than a pipe, so
 * the test process holds no handle for it and every test's leak check applies as elsewhere.
 */
class DemoProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly exited: Promise<Exit>,
    /** `tcp://127.0.0.1:PORT` as the server printed it. */
    readonly address: string,
  ) {}

  static async start(): Promise<DemoProcess> {
    const dir = mkdtempSync(join(tmpdir(), "farcall-one-port-"));
    const outputFile = join(dir, "output.txt");
    const fd = openSync(outputFile, "w");
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [serverProgram, "--host", "127.0.0.1", "--port", "0", "--cors", "*"], {
        stdio: ["ignore", fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    let ended: Exit | Error | undefined;
    const exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => {
        ended = { code, signal };
        resolve(ended);
      });
    });
    child.once("error", (err) => {
      ended ??= err;
    });
    const output = () => readFileSync(outputFile, "utf8");
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = /^farcall demo server listening on (tcp:\/\/127\.0\.0\.1:\d+)$/m.exec(output());
      if (m) return new DemoProcess(child, dir, exited, m[1] as string);
      const why = ended instanceof Error ? ended.message : ended !== undefined ? "it exited" : undefined;
      if (why !== undefined || Date.now() > deadline) {
        const error = new Error(`the demo server did not start (${why ?? "no address within 10 s"}):\n${output()}`);
        await new DemoProcess(child, dir, exited, "").dispose();
        throw error;
      }
      await sleep(10);
    }
  }

  get host(): string {
    return new URL(this.address).host;
  }

  get port(): number {
    return Number(new URL(this.address).port);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  output(): string {
    return readFileSync(join(this.dir, "output.txt"), "utf8");
  }

  /** What `Arith.log` wrote from now on (the server prints `log: <line>`). */
  loggedFromNow(): Logged {
    const all = () => [...this.output().matchAll(/^log: (.*)$/gm)].map((m) => m[1] as string);
    const from = all().length;
    return () => all().slice(from);
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends SIGTERM (by the child's handle) and resolves with how it exited, within `ms`. */
  async terminate(ms: number): Promise<Exit> {
    assert.ok(this.child.kill("SIGTERM"), "SIGTERM delivered");
    return within(this.exited, ms, "the demo server's exit after SIGTERM");
  }

  /** Kills the child by its handle if it still runs, and removes its output. */
  async dispose(): Promise<void> {
    if (this.running() && this.child.pid !== undefined) {
      this.child.kill("SIGKILL");
      await within(this.exited, 5_000, "the demo server's exit after SIGKILL");
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The addresses the farcall client is given for the one port, by scheme. */
const farcallAddresses = {
  tcp: (host: string) => `tcp://${host}`,
  ws: (host: string) => `ws://${host}/`,
  http: (host: string) => `http://${host}`,
  "jsonrpc+tcp": (host: string) => `jsonrpc+tcp://${host}`,
};

/** Schemes that carry server streams, and those that carry client and bidi streams too. */
const serverStreams = new Set(["tcp", "ws", "http"]);
const allStreams = new Set(["tcp", "ws"]);

describe("one demo server process on one port", () => {
  let demo: DemoProcess;

  before(async () => {
    demo = await DemoProcess.start();
  });

  after(async () => {
    await demo?.dispose();
  });

  for (const [scheme, address] of Object.entries(farcallAddresses)) {
    test(`the farcall client over ${scheme}:// with typed stubs of the demo Arith and Time`, async () => {
      const logged = demo.loggedFromNow();
      const client = createClient(address(demo.host));
      try {
        const arith = client.service(Arith);
        assert.equal(await arith.add({ a: 1, b: 2 }), 3);
        assert.equal(await arith.multiply({ a: 6, b: 7 }), 42);
        assert.equal(await arith.divide({ a: 10, b: 4 }), 2.5);
        const zero = await rejectsWith(arith.divide({ a: 1, b: 0 }), Code.InvalidArgument);
        assert.equal(zero.rawMessage, "divide by zero");
        // The input schema (zod) is checked on the server.
        await rejectsWith(arith.divide({ a: "1", b: 2 } as unknown as { a: number; b: number }), Code.InvalidArgument);
        const time = await client.service(Time).printTime(scheme);
        assert.ok(time.startsWith("Current time is: ") && time.endsWith(` (${scheme})`), time);

        if (serverStreams.has(scheme)) {
          const counted: number[] = [];
          for await (const n of arith.count({ to: 3 })) counted.push(n);
          assert.deepEqual(counted, [1, 2, 3]);
        }
        if (allStreams.has(scheme)) {
          assert.equal(await arith.sum([1, 2, 3, 4]), 10);
          const echoed: string[] = [];
          for await (const line of arith.chat(["ping", "pong"])) echoed.push(line);
          assert.deepEqual(echoed, ["PING", "PONG"]);
        }

        await arith.log(`farcall ${scheme} note`);
        await until(() => logged().length > 0);
        assert.deepEqual(logged(), [`farcall ${scheme} note`]);
        // The oneway call left the connection usable.
        assert.equal(await arith.add({ a: 20, b: 22 }), 42);
      } finally {
        await client.close();
      }
    });
  }

  test("Go's net/rpc/jsonrpc client (over TCP and CONNECT /_goRPC_) exits 0 with its expected lines", async () => {
    await checkGoClient(demo.host);
  });

  test("Python: Go's JSON-RPC 1.0 dialect from a raw socket (gorpc_client.py)", async () => {
    await checkPythonGoDialect(demo.port);
  });

  for (const transport of ["tcp", "http"] as const) {
    test(`Python: JSON-RPC 2.0 over ${transport} (jsonrpc_client.py)`, async () => {
      await checkPythonJsonRpc(demo.port, transport, demo.loggedFromNow());
    });
  }

  for (const transport of ["tcp", "http"] as const) {
    for (const [name, check] of Object.entries(jaysonChecks)) {
      test(`jayson's ${transport} client: ${name}`, async () => {
        await check(jaysonClients[transport](demo.port), transport, demo.loggedFromNow());
      });
    }
  }

  test("curl: the README's examples (POST /Arith/add, a stream, JSON-RPC POST /, GET /healthz), an error and CORS", async () => {
    await checkReadmeCurl(demo.port);
    const post = (path: string, body: string, ...options: string[]) =>
      curl("-s", ...options, "-H", "content-type: application/json", "-d", body, `http://${demo.host}${path}`);
    // An error is JSON with its HTTP status.
    const divide = await post("/Arith/divide", '{"a":1,"b":0}', "-w", "\\n%{http_code}");
    const [body, status] = divide.split("\n");
    assert.equal(status, "400", divide);
    assert.deepEqual(JSON.parse(body as string), { code: "invalid_argument", message: "divide by zero" });
    // --cors '*' reached the server: a request from another origin may read the answer.
    const headers = await post(
      "/Arith/add",
      '{"a":1,"b":2}',
      "-D",
      "-",
      "-o",
      "/dev/null",
      "-H",
      "origin: http://elsewhere.test",
    );
    assert.match(headers, /^HTTP\/1\.1 200 /);
    assert.match(headers, /^access-control-allow-origin: (\*|http:\/\/elsewhere\.test)\r$/im);
  });

  test("chromium: the browser page calls the server over HTTP, WebSocket and JSON-RPC", {
    timeout: 90_000,
  }, async () => {
    const host = await startPageHost();
    try {
      await host.check(demo.host);
    } finally {
      await host.close();
    }
  });

  test("SIGTERM: streams in flight over farcall tcp:// and HTTP finish, then the process exits 0", async () => {
    assert.ok(demo.running(), `the demo server is still running:\n${demo.output()}`);
    const tcp = createClient(farcallAddresses.tcp(demo.host));
    const http = createClient(farcallAddresses.http(demo.host));
    try {
      // Each stream has sent its first number (so the server is running it) when SIGTERM is sent.
      const streams = [tcp, http].map((client) => {
        const got: number[] = [];
        const done = (async () => {
          for await (const n of client.service(Arith).count({ to: 5, delayMs: 100 })) got.push(n);
          return got;
        })();
        done.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
        return { got, done };
      });
      await until(() => streams.every((s) => s.got.length > 0), 5_000);
      const exit = await demo.terminate(10_000);
      assert.deepEqual(await within(Promise.all(streams.map((s) => s.done)), 5_000, "the streams' ends"), [
        [1, 2, 3, 4, 5],
        [1, 2, 3, 4, 5],
      ]);
      const output = demo.output();
      assert.deepEqual(exit, { code: 0, signal: null }, output);
      assert.match(output, /\nSIGTERM: draining\nclosed\n$/);
    } finally {
      await tcp.close();
      await http.close();
    }
    // The child is gone: reaped, and no handle for it is left in this process.
    assert.throws(() => process.kill(demo.pid, 0), { code: "ESRCH" });
    await until(() => !process.getActiveResourcesInfo().includes("ProcessWrap"), 2_000);
  });
});
