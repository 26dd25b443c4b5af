import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  type Server as NetServer,
  connect as netConnect,
  createServer as netCreateServer,
  type Socket,
} from "node:net";
import { afterEach, mock, test } from "node:test";
import { Arith, arithImpl, Time, timeImpl } from "../examples/demo/services.js";
import { createClient, createServer, defaultLimits, jsonCodec } from "../src/index.js";
import type { ByteStream } from "../src/protocol/byte-stream.js";
import { ClientSession } from "../src/protocol/farcall/client-session.js";
import { assertNoLeaks } from "./helpers.js";

/**
 * Checks that the hex examples in docs/protocol.md §11 are the bytes the code produces.
 * An example is a fenced block tagged `hex` right after `<!-- example: name -->`; text after `#`
 * on a line is a comment.
 */

afterEach(() => assertNoLeaks());

const docPath = new URL("../../docs/protocol.md", import.meta.url);

function readExamples(): Map<string, string> {
  const text = readFileSync(docPath, "utf8");
  const examples = new Map<string, string>();
  for (const m of text.matchAll(/<!-- example: ([a-z0-9-]+) -->\s*```hex\n([\s\S]*?)```/g)) {
    const name = m[1] as string;
    const body = (m[2] as string)
      .split("\n")
      .map((line) => line.replace(/#.*$/, ""))
      .join(" ");
    const hex = body.replace(/\s+/g, "");
    assert.match(hex, /^([0-9a-f]{2})+$/, `example ${name} is not whole bytes of lower-case hex`);
    assert.ok(!examples.has(name), `example ${name} appears twice`);
    examples.set(name, hex);
  }
  return examples;
}

interface Frame {
  type: number;
  id: number;
  bytes: Buffer;
}

/** Splits a captured direction into its 8-byte preface and its frames. */
function split(data: Buffer): { preface: Buffer; frames: Frame[] } {
  const frames: Frame[] = [];
  let at = 8;
  while (at < data.length) {
    const end = at + 10 + data.readUInt32BE(at);
    assert.ok(end <= data.length, "captured stream ends in the middle of a frame");
    frames.push({ type: data.readUInt8(at + 4), id: data.readUInt32BE(at + 6), bytes: data.subarray(at, end) });
    at = end;
  }
  return { preface: data.subarray(0, 8), frames };
}

function pick(frames: Frame[], type: number | undefined, id: number): Buffer {
  return Buffer.concat(
    frames.filter((f) => (type === undefined || f.type === type) && f.id === id).map((f) => f.bytes),
  );
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Listens on 127.0.0.1:0 and forwards to `port`, recording each direction. */
async function recordingProxy(
  port: number,
): Promise<{ server: NetServer; port: number; up: Buffer[]; down: Buffer[] }> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const server = netCreateServer((client) => {
    const upstream = netConnect(port, "127.0.0.1");
    client.on("data", (b: Buffer) => {
      up.push(b);
      upstream.write(b);
    });
    upstream.on("data", (b: Buffer) => {
      down.push(b);
      client.write(b);
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(typeof address === "object" && address !== null);
  return { server, port: address.port, up, down };
}

/** Sends `bytes` on a raw connection and returns everything received until the server closes. */
function exchange(port: number, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const socket: Socket = netConnect(port, "127.0.0.1", () => socket.write(bytes));
    socket.on("data", (b: Buffer) => got.push(b));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(got)));
  });
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

const examples = readExamples();
const checked = new Set<string>();

function check(name: string, actual: Uint8Array): void {
  const expected = examples.get(name);
  assert.ok(expected !== undefined, `docs/protocol.md has no example ${name}`);
  assert.equal(hex(actual), expected, `example ${name} differs from the bytes on the wire`);
  checked.add(name);
}

test("the examples of a real session over TCP match the document", async () => {
  const server = createServer().add(Arith, arithImpl()).add(Time, timeImpl);
  const port = portOf(await server.listen("tcp://127.0.0.1:0"));
  const proxy = await recordingProxy(port);
  const client = createClient(`tcp://127.0.0.1:${proxy.port}`, { codec: "json" });
  try {
    const arith = client.service(Arith);
    assert.equal(await arith.add({ a: 1, b: 2 }), 3);
    assert.equal(await arith.add({ a: 2, b: 3 }), 5);
    await assert.rejects(arith.divide({ a: 1, b: 0 }), { message: "[invalid_argument] divide by zero" });
    const counted: number[] = [];
    for await (const n of arith.count({ to: 2 })) counted.push(n);
    assert.deepEqual(counted, [1, 2]);
    assert.equal(await arith.sum([1, 2]), 3);
    assert.equal(typeof (await client.ping()), "number");
  } finally {
    await client.close();
    await server.close();
    await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
  }

  const up = split(Buffer.concat(proxy.up));
  const down = split(Buffer.concat(proxy.down));
  const [clientSettings, serverSettings] = [up.frames[0], down.frames[0]];
  assert.equal(clientSettings?.type, 0x0b, "the client's first frame is SETTINGS");
  assert.equal(serverSettings?.type, 0x0b, "the server's first frame is SETTINGS");
  check("client-preface-settings", Buffer.concat([up.preface, clientSettings.bytes]));
  check("server-preface-settings", Buffer.concat([down.preface, serverSettings.bytes]));
  check("request-add-bind", pick(up.frames, 0x01, 1));
  check("response-add", pick(down.frames, undefined, 1));
  check("request-add-by-id", pick(up.frames, 0x01, 2));
  check("response-add-2", pick(down.frames, undefined, 2));
  check("request-divide", pick(up.frames, 0x01, 3));
  check("error-divide", pick(down.frames, undefined, 3));
  check("request-count", pick(up.frames, undefined, 4));
  check("reply-count", pick(down.frames, undefined, 4));
  check("request-sum", pick(up.frames, undefined, 5));
  check("response-sum", pick(down.frames, undefined, 5));
  check("ping", pick(up.frames, 0x08, 0));
  check("pong", pick(down.frames, 0x09, 0));
  check("goaway-client-closing", pick(up.frames, 0x0a, 0));
});

test("the server's answers to a wrong version and an unknown codec match the document", async () => {
  const server = createServer().add(Arith, arithImpl());
  const port = portOf(await server.listen("tcp://127.0.0.1:0"));
  try {
    check("version-mismatch-reply", await exchange(port, Uint8Array.of(0x7f, 0x46, 0x41, 0x52, 2, 1, 0, 0)));
    check("unsupported-codec-reply", await exchange(port, Uint8Array.of(0x7f, 0x46, 0x41, 0x52, 1, 7, 0, 0)));
  } finally {
    await server.close();
  }
});

test("a REQUEST with a deadline and metadata, and its CANCEL, match the document", async () => {
  const written: Uint8Array[] = [];
  const stream: ByteStream = {
    peer: { transport: "memory", address: "test" },
    write: (chunks) => {
      for (const c of chunks) written.push(c.slice());
    },
    needDrain: false,
    onDrain: (cb) => cb(),
    schedule: (cb) => process.nextTick(cb),
    pause: () => {},
    resume: () => {},
    end: () => {},
    destroy: () => {},
  };
  // A fixed clock, so the timeout on the wire is exactly 1500 ms.
  const now = mock.method(Date, "now", () => 1_000_000);
  try {
    const session = new ClientSession(stream, jsonCodec, { ...defaultLimits });
    const sleep = Arith.methods.get("sleep");
    assert.ok(sleep !== undefined);
    const abort = new AbortController();
    const call = session.call(
      sleep,
      { ms: 10 },
      { deadline: Date.now() + 1500, metadata: { "trace-id": "abc123" }, signal: abort.signal },
    );
    await new Promise((resolve) => process.nextTick(resolve));
    abort.abort();
    await assert.rejects(call, { message: "[canceled] call canceled by caller" });
    await new Promise((resolve) => process.nextTick(resolve));
  } finally {
    now.mock.restore();
  }
  const { frames } = split(Buffer.concat(written));
  check("request-deadline-metadata", pick(frames, 0x01, 1));
  check("cancel", pick(frames, 0x04, 1));
});

test("every example in the document is checked", () => {
  // Runs last: node:test runs a file's top-level tests in order.
  assert.deepEqual(
    [...examples.keys()].filter((name) => !checked.has(name)),
    [],
  );
  assert.ok(examples.size >= 19, `expected at least 19 examples, found ${examples.size}`);
});
