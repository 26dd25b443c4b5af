// Interop with Python's standard library: raw sockets and urllib speaking JSON-RPC 2.0 and Go's
// JSON-RPC 1.0 dialect to the demo server, on the same port that serves farcall (docs/protocols.md).
// python3 must be installed: a missing interpreter fails these tests.

import { afterEach, test } from "node:test";
import { type Harness, startDemo } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";
import { checkPythonGoDialect, checkPythonJsonRpc } from "./peers.js";

afterEach(() => assertNoLeaks());

/** Runs `body` with a demo server's port and log, closing the server even when `body` throws. */
async function withDemo(body: (port: number, h: Harness) => Promise<void>): Promise<void> {
  const h = await startDemo();
  try {
    await body(Number(new URL(h.address).port), h);
  } finally {
    await h.close();
  }
}

test("Go's JSON-RPC 1.0 dialect from a raw Python socket: Arith.Add and Arith.Divide", async () => {
  await withDemo((port) => checkPythonGoDialect(port));
});

test("JSON-RPC 2.0 over TCP from Python: a request, a notification and a mixed batch", async () => {
  await withDemo((port, h) => checkPythonJsonRpc(port, "tcp", () => h.logged));
});

test("JSON-RPC 2.0 over HTTP POST / from Python's urllib: a request, a notification and a mixed batch", async () => {
  await withDemo((port, h) => checkPythonJsonRpc(port, "http", () => h.logged));
});
