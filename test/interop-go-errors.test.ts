// Go's net/rpc/jsonrpc client calling names no server routes, against Go's own net/rpc server
// (interop/go/server) and against the farcall demo server: the error texts the client hands its
// caller must be the same, so Go (and Python) code that compares them works with either. The texts
// are those of Go 1.19's src/net/rpc/server.go, readRequestHeader.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { after, afterEach, test } from "node:test";
import { startDemo, within } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";
import { buildGo, removeGoBuild, run } from "./peers.js";

afterEach(() => assertNoLeaks());
after(removeGoBuild);

const expected = [
  "unknown-method error: rpc: can't find method Arith.NoSuchMethod",
  "unknown-service error: rpc: can't find service NoSuchService.Add",
  "ill-formed error: rpc: service/method request ill-formed: NoDot",
  "multiply-after-errors 30",
];

/** What `client -errors hostPort` printed, line by line; it must exit 0 with nothing on stderr. */
async function unroutable(client: string, hostPort: string): Promise<string[]> {
  const result = await run(client, ["-errors", hostPort], { timeoutMs: 30_000 });
  const detail = `exit ${result.code ?? result.signal}${result.timedOut ? " (timed out)" : ""}\n${result.stdout}${result.stderr}`;
  assert.equal(result.code, 0, detail);
  assert.equal(result.stderr, "", detail);
  return result.stdout.trimEnd().split("\n");
}

/** Runs `body` with Go's server started; it exits once its stdin is closed (SIGKILL if it does not). */
async function withGoServer(file: string, body: (hostPort: string) => Promise<void>): Promise<void> {
  const child = spawn(file, [], { stdio: ["pipe", "pipe", "inherit"] });
  const closed = once(child, "close");
  try {
    child.stdout.setEncoding("utf8");
    let output = "";
    const hostPort = await within(
      new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (text: string) => {
          output += text;
          if (output.includes("\n")) resolve(output.slice(0, output.indexOf("\n")));
        });
        child.once("error", reject);
        child.once("exit", (code) => reject(new Error(`the Go server exited (${code}): ${output}`)));
      }),
      10_000,
      "the Go server's address line",
    );
    assert.match(hostPort, /^127\.0\.0\.1:\d+$/);
    await body(hostPort);
  } finally {
    await stopGoServer(child, closed);
  }
}

/** Closes the server's stdin, which makes it exit; kills it by its handle if it does not in time. */
async function stopGoServer(child: ChildProcess, closed: Promise<unknown>): Promise<void> {
  child.stdin?.end();
  try {
    await within(closed, 5_000, "the Go server's exit after stdin closed");
  } catch (err) {
    child.kill("SIGKILL");
    await within(closed, 5_000, "the Go server's exit after SIGKILL");
    throw err;
  }
}

test("Go's client gets the same error texts from Go's net/rpc server and from farcall", async () => {
  const { client, server } = await buildGo();
  let fromGo: string[] = [];
  await withGoServer(server, async (hostPort) => {
    fromGo = await unroutable(client, hostPort);
  });
  // Checks that Go itself words them so, with the Go installed here.
  assert.deepEqual(fromGo, expected);

  const h = await startDemo();
  try {
    assert.deepEqual(await unroutable(client, new URL(h.address).host), expected);
  } finally {
    await h.close();
  }
});
