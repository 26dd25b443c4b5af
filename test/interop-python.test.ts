// Interop with Python's standard library: raw sockets and urllib speaking JSON-RPC 2.0 and Go's
// JSON-RPC 1.0 dialect to the demo server, on the same port that serves farcall (docs/protocols.md).
// python3 must be installed: a missing interpreter fails these tests.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { afterEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Harness, startDemo, until } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

// <out>/test/interop-python.test.js → repository root
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const run = promisify(execFile);

afterEach(() => assertNoLeaks());

function portOf(address: string): number {
  const m = /:(\d+)$/.exec(address);
  assert.ok(m, `no port in ${address}`);
  return Number(m[1]);
}

/** Runs interop/python/<script> against the harness's port; resolves with its stdout lines. */
async function python(h: Harness, script: string, ...args: string[]): Promise<string[]> {
  const { stdout } = await run(
    "python3",
    [join(root, "interop/python", script), "--host", "127.0.0.1", "--port", String(portOf(h.address)), ...args],
    { timeout: 20_000 },
  );
  assert.ok(stdout.endsWith("\n"), `output ends with a newline: ${JSON.stringify(stdout)}`);
  return stdout.slice(0, -1).split("\n");
}

/** Runs `body` with a demo server, closing it even when `body` throws. */
async function withDemo(body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startDemo();
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

test("Go's JSON-RPC 1.0 dialect from a raw Python socket: Arith.Add and Arith.Divide", async () => {
  await withDemo(async (h) => {
    const lines = await python(h, "gorpc_client.py");
    assert.equal(lines.length, 2, lines.join("\n"));
    // Go's client needs all three members, `error` included (null on success).
    assert.deepEqual(JSON.parse(lines[0] as string), { id: 0, result: 60, error: null });
    assert.deepEqual(JSON.parse(lines[1] as string), { id: 1, result: null, error: "divide by zero" });
  });
});

/** The JSON-RPC error object, with the farcall code the doc promises in `data.code`. */
function rpcError(code: number, dataCode: string) {
  return { code, data: { code: dataCode } };
}

/** The reply with each error reduced to its code and `data.code` (messages are free text). */
function shape(reply: unknown): unknown {
  if (Array.isArray(reply)) return reply.map(shape);
  assert.ok(typeof reply === "object" && reply !== null, `a reply object: ${JSON.stringify(reply)}`);
  const { error, ...rest } = reply as { error?: { code: unknown; message: unknown; data?: { code?: unknown } } };
  if (error === undefined) return rest;
  assert.equal(typeof error.message, "string", `error.message is a string: ${JSON.stringify(error)}`);
  return { ...rest, error: { code: error.code, data: { code: error.data?.code } } };
}

// Replies in the batch's request order, without the notification (docs/protocols.md).
const batchReply = [
  { jsonrpc: "2.0", id: "m", result: 42 },
  { jsonrpc: "2.0", id: 2, result: 9 },
  { jsonrpc: "2.0", id: 3, error: rpcError(-32601, "unimplemented") },
  { jsonrpc: "2.0", id: 4, error: rpcError(-32602, "invalid_argument") },
  { jsonrpc: "2.0", id: null, error: rpcError(-32600, "invalid_argument") },
];

test("JSON-RPC 2.0 over TCP from Python: a request, a notification and a mixed batch", async () => {
  await withDemo(async (h) => {
    const lines = (await python(h, "jsonrpc_client.py", "--transport", "tcp")).map((l) => JSON.parse(l));
    assert.equal(lines.length, 3, JSON.stringify(lines));
    assert.deepEqual(lines[0], { transport: "tcp", step: "request", reply: { jsonrpc: "2.0", id: 1, result: 5 } });
    // The first reply after the notification is the probe's: the notification got none.
    assert.deepEqual(lines[1], {
      transport: "tcp",
      step: "notification",
      reply: { jsonrpc: "2.0", id: "after-notification", result: 9 },
    });
    assert.equal(lines[2].step, "batch");
    assert.deepEqual(shape(lines[2].reply), batchReply);
    // Both notifications ran: the one alone and the one inside the batch.
    await until(() => h.logged.length >= 2);
    assert.deepEqual([...h.logged].sort(), ["python tcp batch note", "python tcp notification"]);
  });
});

test("JSON-RPC 2.0 over HTTP POST / from Python's urllib: a request, a notification and a mixed batch", async () => {
  await withDemo(async (h) => {
    const lines = (await python(h, "jsonrpc_client.py", "--transport", "http")).map((l) => JSON.parse(l));
    assert.equal(lines.length, 3, JSON.stringify(lines));
    const [request, notification, batch] = lines;
    assert.equal(request.status, 200);
    assert.match(request.contentType, /^application\/json\b/);
    assert.deepEqual(request.reply, { jsonrpc: "2.0", id: 1, result: 5 });
    // A notification is answered 204 with no body.
    assert.deepEqual(
      { status: notification.status, body: notification.body, reply: notification.reply },
      { status: 204, body: "", reply: undefined },
    );
    assert.equal(batch.status, 200);
    assert.match(batch.contentType, /^application\/json\b/);
    assert.deepEqual(shape(batch.reply), batchReply);
    await until(() => h.logged.length >= 2);
    assert.deepEqual([...h.logged].sort(), ["python http batch note", "python http notification"]);
  });
});
