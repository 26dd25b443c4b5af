// Keepalive and idle timeouts, against real peers: a farcall client notices a server process that
// was stopped (SIGSTOP), a server notices a client that stopped reading, and unused connections of
// every stream protocol are closed after the idle timeout.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Arith, arithImpl } from "../examples/demo/services.js";
import {
  Code,
  createClient,
  createServer,
  defaultLimits,
  defineService,
  type HandlerContext,
  unary,
} from "../src/index.js";
import { ClientSession } from "../src/protocol/farcall/client-session.js";
import { connect } from "../src/transport/tcp.js";
import { rejectsWith, until } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { LinePeer } from "./line-peer.js";

const cleanups = trackCleanups();
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const Slow = defineService("Slow", { wait: unary<undefined, string>() });

/** `Slow.wait`, which never settles until aborted; `aborted` is the abort's reason. */
function neverSettles() {
  const slow = {
    aborted: undefined as unknown,
    impl: {
      wait: (_: undefined, ctx: HandlerContext) =>
        new Promise<string>((_, reject) =>
          ctx.signal.addEventListener("abort", () => {
            slow.aborted = ctx.signal.reason;
            reject(ctx.signal.reason);
          }),
        ),
    },
  };
  return slow;
}

/** The demo server in a process of its own, on a free port; stopped (by PID) after the test. */
async function demoProcess(): Promise<{ pid: number; address: string }> {
  const child = spawn(process.execPath, [join(root, "dist/examples/demo/server.js"), "--listen", "tcp://127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGCONT");
        child.kill("SIGKILL");
      }),
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.once("error", reject);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (tcp:\/\/\S+)/.exec(out);
      if (m !== null) resolve(m[1] as string);
    });
  });
  return { pid: child.pid as number, address };
}

describe("keepalive", () => {
  test("a call without a deadline to a server that was stopped (SIGSTOP) fails once a PING goes unanswered", async () => {
    const { pid, address } = await demoProcess();
    const client = createClient(address, { keepalive: { intervalMs: 200, timeoutMs: 300 } });
    cleanups.push(() => client.close());
    const arith = client.service(Arith);
    assert.equal(await arith.add({ a: 1, b: 2 }), 3);
    const call = arith.sleep({ ms: 60_000 });
    await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, "SIGSTOP");
    const err = await rejectsWith(call, Code.Unavailable);
    assert.match(err.rawMessage, /did not answer a PING within keepaliveTimeoutMs 300/);
  });

  test("a server closes the connection of a client that stopped reading, and aborts its handler", async () => {
    const slow = neverSettles();
    const server = createServer({ keepalive: { intervalMs: 100, timeoutMs: 200 } }).add(Slow, slow.impl);
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 200 }));
    const stream = await connect(address, 1_000);
    const session = new ClientSession(stream, "json", defaultLimits);
    stream.attach(session);
    cleanups.push(() => stream.destroy());
    const call = session.call(Slow.methods.get("wait") as never, undefined, {});
    call.catch(() => {});
    // The request is out; from now on this client reads nothing, so it never answers a PING.
    await new Promise((r) => setTimeout(r, 30));
    stream.pause();
    await until(() => slow.aborted !== undefined, 3_000);
    assert.match(String((slow.aborted as Error).message), /did not answer a PING|connection closed/);
  });
});

describe("idle timeout", () => {
  test("farcall: an unused connection is closed by the server, and the client's next call reconnects", async () => {
    const server = createServer({ idleTimeoutMs: 150 }).add(Arith, arithImpl());
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 200 }));
    const client = createClient(address);
    cleanups.push(() => client.close());
    const arith = client.service(Arith);
    assert.equal(await arith.add({ a: 1, b: 1 }), 2);
    await until(() => client.state === "idle", 2_000);
    assert.equal(await arith.add({ a: 2, b: 2 }), 4);
  });

  test("a connection with a call running is not idle", async () => {
    const server = createServer({ idleTimeoutMs: 100 }).add(Arith, arithImpl());
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 200 }));
    const client = createClient(address);
    cleanups.push(() => client.close());
    assert.equal(await client.service(Arith).sleep({ ms: 400 }), "slept 400 ms");
  });

  test("JSON-RPC over TCP: an unused connection is closed after the idle timeout", async () => {
    const server = createServer({ idleTimeoutMs: 150 }).add(Arith, arithImpl());
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 200 }));
    const peer = await LinePeer.open(Number(new URL(address).port), cleanups);
    const reply = await peer.askJson('{"jsonrpc":"2.0","method":"Arith.add","params":{"a":1,"b":2},"id":1}');
    assert.equal((reply as { result: number }).result, 3);
    await until(() => peer.closed, 2_000);
  });

  test("JSON-RPC over TCP: after the client's FIN, a handler that never settles is aborted after the idle timeout", async () => {
    const slow = neverSettles();
    const server = createServer({ idleTimeoutMs: 200 }).add(Slow, slow.impl);
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 200 }));
    const peer = await LinePeer.open(Number(new URL(address).port), cleanups);
    peer.socket.write('{"jsonrpc":"2.0","method":"Slow.wait","id":1}\n');
    await new Promise((r) => setTimeout(r, 30));
    peer.socket.end();
    await until(() => slow.aborted !== undefined, 3_000);
    assert.match(String((slow.aborted as Error).message), /finished sending .* idleTimeoutMs 200/);
    await until(() => peer.closed, 2_000);
  });

  test("JSON-RPC over TCP: a call running when the client sends FIN is still answered", async () => {
    const server = createServer({ idleTimeoutMs: 200 }).add(Arith, arithImpl());
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 200 }));
    const peer = await LinePeer.open(Number(new URL(address).port), cleanups);
    peer.socket.end('{"jsonrpc":"2.0","method":"Arith.sleep","params":{"ms":100},"id":1}\n');
    await until(() => peer.closed, 2_000);
    assert.deepEqual(JSON.parse(peer.lines[0] as string), { jsonrpc: "2.0", result: "slept 100 ms", id: 1 });
  });
});
