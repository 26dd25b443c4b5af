// The client's channel as a demanding user meets it: a call's deadline and signal cover the
// connecting, and a server that accepts and then closes (or answers with something that is not
// farcall) is backed off from like one that refuses connections.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Arith, arithImpl } from "../examples/demo/services.js";
import { Code, createClient, createServer, RpcError } from "../src/index.js";
import { rejectsWith, until } from "./fixtures.js";
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

describe("connectivity a balancer can watch", () => {
  test("idle → connecting → ready on connect(), idle after the server's GOAWAY, shutdown on close()", async () => {
    const server = createServer().add(
      Arith,
      arithImpl(() => {}),
    );
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 200 }));
    const client = createClient(address);
    cleanups.push(() => client.close());
    const seen: string[] = [];
    client.onStateChange((s) => seen.push(s));
    assert.equal(client.state, "idle");
    await client.connect();
    assert.equal(client.state, "ready");
    assert.equal(await client.service(Arith).add({ a: 1, b: 2 }), 3);
    await server.close({ graceMs: 200 });
    await until(() => client.state === "idle");
    await client.close();
    assert.deepEqual(seen, ["connecting", "ready", "idle", "shutdown"]);
  });

  test("a refused connect is transient_failure, and connect() says why", async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const client = createClient(`tcp://127.0.0.1:${port}`);
    cleanups.push(() => client.close());
    await assert.rejects(client.connect(), (err: unknown) => err instanceof RpcError && err.code === Code.Unavailable);
    assert.equal(client.state, "transient_failure");
  });
});

describe("the server's announced limits", () => {
  test("calls beyond the server's maxInflight are refused by the client, unsent and safe to retry", async () => {
    const server = createServer({ limits: { maxInflight: 2 } }).add(
      Arith,
      arithImpl(() => {}),
    );
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 200 }));
    const client = createClient(address);
    cleanups.push(() => client.close());
    const arith = client.service(Arith);
    await client.connect();
    await arith.add({ a: 0, b: 0 }); // the server's SETTINGS are in
    const slow = [arith.sleep({ ms: 300 }), arith.sleep({ ms: 300 })];
    const err = await rejectsWith(arith.add({ a: 1, b: 1 }), Code.ResourceExhausted);
    assert.equal(err.safeToRetry, true);
    assert.match(err.rawMessage, /the server's maxInflight 2/);
    await Promise.all(slow);
    assert.equal(await arith.add({ a: 1, b: 1 }), 2);
  });
});
