import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { after, afterEach, test } from "node:test";
import { createClient, defineService, RpcError, unary } from "../src/index.js";
import { startDemo, within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";
import { buildGo, checkGoClient, removeGoBuild } from "./peers.js";

afterEach(() => assertNoLeaks());
after(removeGoBuild);

test("Go's net/rpc/jsonrpc client calls the demo server over TCP and over CONNECT /_goRPC_", async () => {
  const h = await startDemo();
  try {
    await checkGoClient(new URL(h.address).host); // tcp://127.0.0.1:PORT → 127.0.0.1:PORT
  } finally {
    await h.close();
  }
});

/** Arith as the Go server (interop/go/server) has it, in farcall's spelling. */
const GoArith = defineService("Arith", {
  multiply: unary<{ a: number; b: number }, number>(),
  add: unary<{ a: number; b: number }, number>(),
  divide: unary<{ a: number; b: number }, { quo: number; rem: number }>(),
  describe: unary<
    { a: number; b: number },
    {
      id: string;
      inputs: { a: number; b: number };
      quotient: { quo: number; rem: number };
      steps: { quo: number; rem: number }[];
      urlPath: string;
    }
  >(),
  /** Not on the Go server. */
  square: unary<{ a: number; b: number }, number>(),
});

type GoServer = ChildProcessByStdio<Writable, Readable, null>;

/** Starts the Go server and resolves with its process and the `host:port` it printed first. */
async function startGoServer(file: string): Promise<{ child: GoServer; hostPort: string }> {
  const child: GoServer = spawn(file, [], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  child.stdout.setEncoding("utf8");
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (text: string) => {
      output += text;
      const end = output.indexOf("\n");
      if (end !== -1) resolve(output.slice(0, end));
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => reject(new Error(`the Go server exited (${code ?? signal}): ${output}`)));
  });
  try {
    const hostPort = await within(firstLine, 10_000, "the Go server's address line");
    assert.match(hostPort, /^127\.0\.0\.1:\d+$/);
    return { child, hostPort };
  } catch (err) {
    await stopGoServer(child);
    throw err;
  }
}

/** Closes the server's stdin, which makes it exit; kills it by its handle if it does not in time. */
async function stopGoServer(child: GoServer): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    child.stdin.destroy();
    child.stdout.destroy();
    return child.exitCode;
  }
  const closed = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  child.stdin.end();
  try {
    const [code] = await within(closed, 5_000, "the Go server's exit after stdin closed");
    return code;
  } catch (err) {
    child.kill("SIGKILL");
    await within(closed, 5_000, "the Go server's exit after SIGKILL");
    throw err;
  }
}

function assertRpcError(err: unknown, text: RegExp): true {
  assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
  assert.match(err.message, text);
  return true;
}

test("farcall's gorpc+tcp:// client calls a Go net/rpc server using the jsonrpc codec", async () => {
  const { server } = await buildGo();
  const go = await startGoServer(server);
  const client = createClient(`gorpc+tcp://${go.hostPort}`);
  try {
    const arith = client.service(GoArith);
    assert.equal(await arith.multiply({ a: 7, b: 8 }), 56);
    assert.equal(await arith.add({ a: 40, b: 2 }), 42);
    // Go's {"Quo":2,"Rem":1} arrives with farcall's key spelling.
    assert.deepEqual(await arith.divide({ a: 17, b: 8 }), { quo: 2, rem: 1 });
    assert.deepEqual(await arith.describe({ a: 50, b: 7 }), {
      id: "50/7",
      inputs: { a: 50, b: 7 },
      quotient: { quo: 7, rem: 1 },
      steps: [
        { quo: 7, rem: 1 },
        { quo: 3, rem: 8 },
        { quo: 2, rem: 8 },
      ],
      urlPath: "/arith/50/7",
    });

    // Go's error text arrives as it is; the dialect has no place for a farcall code.
    await assert.rejects(arith.divide({ a: 1, b: 0 }), (err) => {
      assertRpcError(err, /divide by zero/);
      assert.equal((err as RpcError).rawMessage, "divide by zero");
      return true;
    });
    // The method's first letter goes upper case on the wire: Go names the method it did not find.
    await assert.rejects(arith.square({ a: 1, b: 2 }), (err) => assertRpcError(err, /can't find method Arith\.Square/));

    // Many calls at once on the one connection; Go answers them as they finish, in any order.
    const n = 200;
    const settled = await within(
      Promise.allSettled(
        Array.from({ length: n }, (_, i) =>
          i % 10 === 9
            ? arith.divide({ a: i, b: 0 })
            : i % 2 === 0
              ? arith.add({ a: i, b: 1000 })
              : arith.divide({ a: i, b: 4 }),
        ),
      ),
      15_000,
      `${n} concurrent calls`,
    );
    settled.forEach((outcome, i) => {
      if (i % 10 === 9) {
        assert.equal(outcome.status, "rejected", `call ${i}`);
        assertRpcError((outcome as PromiseRejectedResult).reason, /divide by zero/);
      } else {
        assert.equal(outcome.status, "fulfilled", `call ${i}: ${String((outcome as PromiseRejectedResult).reason)}`);
        const expected = i % 2 === 0 ? i + 1000 : { quo: Math.trunc(i / 4), rem: i % 4 };
        assert.deepEqual((outcome as PromiseFulfilledResult<unknown>).value, expected, `call ${i}`);
      }
    });

    // The errors left the connection usable.
    assert.equal(await arith.multiply({ a: -3, b: 9 }), -27);
  } finally {
    await client.close();
    const code = await stopGoServer(go.child);
    assert.equal(code, 0, "the Go server exits cleanly once its stdin is closed");
  }
});
