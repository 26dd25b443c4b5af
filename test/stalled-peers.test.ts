// Peers that stall once a protocol has the connection: one that stops reading what the server
// writes (JSON-RPC over TCP, a farcall stream, an HTTP NDJSON stream), and one that trickles a
// JSON value and never finishes it. Each connection is closed within its timeout.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { describe, test } from "node:test";
import { createServer, defineService, serverStream, unary } from "../src/index.js";
import { until } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const Big = defineService("Big", {
  blob: unary<{ kib: number }, string>(),
  blobs: serverStream<{ kib: number; n: number }, string>(),
});

async function serve(options: Parameters<typeof createServer>[0]): Promise<number> {
  const server = createServer(options).add(Big, {
    blob: ({ kib }) => "x".repeat(kib * 1024),
    async *blobs({ kib, n }) {
      for (let i = 0; i < n; i++) yield "x".repeat(kib * 1024);
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  return Number(new URL(address).port);
}

/**
 * A raw socket that writes `text`, reads nothing for `stallMs`, then reads all there is. Resolves
 * with the bytes it read once the server closed the connection (a paused socket does not see the
 * close until it reads again).
 */
async function stalledReader(port: number, text: string, stallMs: number): Promise<number> {
  const socket: Socket = connect(port, "127.0.0.1");
  cleanups.push(() => socket.destroy());
  let bytes = 0;
  let closed = false;
  socket.on("error", () => {});
  socket.on("close", () => {
    closed = true;
  });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.pause();
  socket.write(text);
  await new Promise((r) => setTimeout(r, stallMs));
  socket.on("data", (d: Buffer) => {
    bytes += d.length;
  });
  socket.resume();
  await until(() => closed, 5_000);
  return bytes;
}

describe("a peer that stops reading", () => {
  test("JSON-RPC over TCP: the connection is closed after writeStallTimeoutMs", async () => {
    const port = await serve({ writeStallTimeoutMs: 300 });
    const ask = (id: number) => `{"jsonrpc":"2.0","method":"Big.blob","params":{"kib":512},"id":${id}}`;
    const read = await stalledReader(port, Array.from({ length: 40 }, (_, i) => ask(i)).join(""), 1_500);
    assert.ok(read < 40 * 512 * 1024, `the server sent ${read} bytes: all of it, the connection was not cut`);
  });

  test("HTTP NDJSON stream: the response is destroyed after writeStallTimeoutMs", async () => {
    const port = await serve({ writeStallTimeoutMs: 300 });
    const body = '{"kib":256,"n":400}';
    const head = `POST /Big/blobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`;
    const read = await stalledReader(port, `${head}\r\n\r\n${body}`, 1_500);
    assert.ok(read < 400 * 256 * 1024, `the server sent ${read} bytes: all of it, the response was not cut`);
  });
});

describe("a peer that trickles a JSON value", () => {
  test("half a value is answered with an error and the connection closed after messageTimeoutMs", async () => {
    const port = await serve({ messageTimeoutMs: 200 });
    const socket: Socket & { closedAt?: number } = connect(port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      received += d;
    });
    socket.on("close", () => {
      socket.closedAt = Date.now();
    });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    // A byte every 50 ms: never idle, never done.
    const text = '{"jsonrpc":"2.0","method":"Big.blob","params":{"kib":1},"id":1';
    for (let i = 0; i < text.length && socket.closedAt === undefined; i++) {
      socket.write(text[i] as string);
      await new Promise((r) => setTimeout(r, 50));
    }
    await until(() => socket.closedAt !== undefined, 3_000);
    const reply = JSON.parse(received.trim()) as { error: { code: number; data: { code: string }; message: string } };
    assert.equal(reply.error.code, -32700);
    assert.equal(reply.error.data.code, "deadline_exceeded");
    assert.match(reply.error.message, /incomplete for longer than messageTimeoutMs 200/);
  });
});

describe("a peer that trickles an HTTP body", () => {
  test("gets 408 Request Timeout once the request took twice messageTimeoutMs", async () => {
    const port = await serve({ messageTimeoutMs: 150, handshakeTimeoutMs: 200 });
    const socket: Socket = connect(port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    let received = "";
    let closed = false;
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      received += d;
    });
    socket.on("close", () => {
      closed = true;
    });
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(
      "POST /Big/blob HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    // A byte every 50 ms: the 100-byte body would take 5 s.
    for (let i = 0; i < 60 && !closed; i++) {
      socket.write(" ");
      await new Promise((r) => setTimeout(r, 50));
    }
    await until(() => closed, 3_000);
    assert.match(received, /^HTTP\/1\.1 408 /);
  });
});
