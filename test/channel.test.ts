// The client's channel as a demanding user meets it: a call's deadline and signal cover the
// connecting, and a server that accepts and then closes (or answers with something that is not
// farcall) is backed off from like one that refuses connections.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Arith } from "../examples/demo/services.js";
import { Code, createClient, RpcError } from "../src/index.js";
import { rejectsWith } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A real listener whose SYNs go unanswered: Python's, with a full accept queue. */
async function silentPort(): Promise<number> {
  const child = spawn("python3", [join(root, "interop/python/silent_listener.py")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.stdin.end();
      }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  // Fill the accept queue: the first connection is queued, the next hangs (at most 8 tries).
  for (let i = 0; i < 8; i++) {
    const socket = connect(port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (!connected) return port;
  }
  throw new Error("the listener's queue did not fill");
}

describe("a call's deadline covers connecting", () => {
  test("a 300 ms call to a server whose SYNs are dropped fails at its deadline, not at the 10 s connect timeout", async () => {
    const port = await silentPort();
    const client = createClient(`tcp://127.0.0.1:${port}`, { connectTimeoutMs: 10_000 });
    cleanups.push(() => client.close());
    const started = Date.now();
    const err = await rejectsWith(client.service(Arith).add({ a: 1, b: 2 }, { timeoutMs: 300 }), Code.DeadlineExceeded);
    const took = Date.now() - started;
    assert.match(err.rawMessage, /while connecting/);
    // Not a speed check: 10 s is where it failed before.
    assert.ok(took < 5_000, `took ${took} ms`);
  });

  test("aborting the signal while connecting cancels the call", async () => {
    const port = await silentPort();
    const client = createClient(`tcp://127.0.0.1:${port}`, { connectTimeoutMs: 10_000 });
    cleanups.push(() => client.close());
    const controller = new AbortController();
    const call = client.service(Arith).add({ a: 1, b: 2 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await rejectsWith(call, Code.Canceled);
  });
});

describe("backoff after accept-then-close", () => {
  for (const [what, greet] of [
    ["accepts and closes", (s: Socket) => s.destroy()],
    ["answers with something that is not farcall", (s: Socket) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n")],
  ] as const) {
    test(`a server that ${what} is not dialled again for every call`, async () => {
      let accepted = 0;
      const server = createNetServer((s) => {
        accepted++;
        s.resume(); // read (and drop) what the client sends, so its FIN is seen
        greet(s);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      const { port } = server.address() as { port: number };
      const client = createClient(`tcp://127.0.0.1:${port}`, { backoff: { initialMs: 1_000 } });
      cleanups.push(() => client.close());
      const arith = client.service(Arith);
      const codes: number[] = [];
      for (let i = 0; i < 20; i++) {
        try {
          await arith.add({ a: 1, b: 1 });
        } catch (err) {
          assert.ok(err instanceof RpcError);
          codes.push(err.code);
        }
      }
      assert.equal(codes.length, 20);
      assert.ok(codes.every((c) => c === Code.Unavailable));
      // 20 calls within the first second of back-off: one connection, two at the most.
      assert.ok(accepted <= 2, `${accepted} connections for 20 calls`);
    });
  }
});
