/**
 * What a farcall connection costs a real server, measured in the server's own process
 * (test/memory-server.ts, run with --expose-gc) while this process holds the client sockets:
 * idle connections that did the handshake, and connections that declared a large frame and then
 * sent only a few bytes of it. Loopback only; every wait is bounded; everything is closed at the end.
 */
import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { within } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

const serverProgram = fileURLToPath(new URL("./memory-server.js", import.meta.url));
const KiB = 1024;
const MiB = 1024 * KiB;

/** Client preface (json) and a SETTINGS frame with the four settings a real client sends. */
function handshake(): Buffer {
  const settings = Buffer.alloc(10 + 4 * 6);
  settings.writeUInt32BE(4 * 6, 0);
  settings.writeUInt8(0x0b, 4);
  const values = [4 * MiB, 8192, 20_000, 4 * MiB];
  values.forEach((value, i) => {
    settings.writeUInt16BE(i + 1, 10 + i * 6);
    settings.writeUInt32BE(value, 12 + i * 6);
  });
  return Buffer.concat([Buffer.from([0x7f, 0x46, 0x41, 0x52, 1, 1, 0, 0]), settings]);
}

/** The server's answer to {@link handshake}: its 8-byte preface and a SETTINGS frame of 4 entries. */
const serverHandshakeBytes = 8 + 10 + 4 * 6;

type Child = ChildProcessByStdio<Writable, Readable, null>;

/** The server process, and a way to ask it for its memory. */
class MemoryServer {
  private constructor(
    private readonly child: Child,
    private readonly lines: Interface,
    readonly port: number,
  ) {}

  static async start(): Promise<MemoryServer> {
    const child: Child = spawn(process.execPath, ["--expose-gc", serverProgram], {
      env: { ...process.env, FARCALL_MEMORY_SERVER: "1" },
      stdio: ["pipe", "pipe", "inherit"],
    });
    const lines = createInterface({ input: child.stdout });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    cleanups.push(async () => {
      lines.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end("close\n");
        // The server gives its connections 100 ms to drain; kill it if it takes far longer.
        const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(killer);
      }
    });
    const first = await within(MemoryServer.line(lines), 10_000, "the memory server's port");
    return new MemoryServer(child, lines, (JSON.parse(first) as { port: number }).port);
  }

  private static line(lines: Interface): Promise<string> {
    return new Promise((resolve, reject) => {
      const onLine = (line: string) => {
        lines.off("close", onClose);
        resolve(line);
      };
      const onClose = () => {
        lines.off("line", onLine);
        reject(new Error("the memory server exited"));
      };
      lines.once("line", onLine);
      lines.once("close", onClose);
    });
  }

  /** The server's memory after full GCs. */
  async measure(): Promise<NodeJS.MemoryUsage> {
    const reply = MemoryServer.line(this.lines);
    this.child.stdin.write("measure\n");
    return JSON.parse(await within(reply, 10_000, "a measurement")) as NodeJS.MemoryUsage;
  }
}

/**
 * Opens `n` connections, `batch` at a time, each sending `bytes` in one write and waiting for the
 * server's preface and SETTINGS (so the server has read what was sent with them). The sockets are
 * destroyed after the test.
 */
async function open(port: number, n: number, bytes: Buffer, batch = 50): Promise<Socket[]> {
  const sockets: Socket[] = [];
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
  });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, noDelay: true });
      sockets.push(socket);
      let got = 0;
      socket.on("error", reject);
      socket.on("data", (chunk: Buffer) => {
        if (got === 0 && chunk[0] !== 0x7f) reject(new Error(`not a farcall preface: ${chunk.toString("hex")}`));
        got += chunk.length;
        if (got >= serverHandshakeBytes) resolve();
      });
      socket.on("close", () => reject(new Error(`closed by the server after ${got} bytes`)));
      socket.once("connect", () => socket.write(bytes));
    });
  for (let i = 0; i < n; i += batch) {
    await within(Promise.all(Array.from({ length: Math.min(batch, n - i) }, one)), 10_000, "a batch of connections");
  }
  return sockets;
}

/** The figures the assertions use, in bytes. */
function grown(before: NodeJS.MemoryUsage, after: NodeJS.MemoryUsage): { rss: number; heap: number } {
  return {
    rss: after.rss - before.rss,
    // heapUsed is the JS heap; arrayBuffers counts backing stores (slabs, bodies) outside it.
    heap: after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers),
  };
}

describe("memory per farcall connection", () => {
  test("an idle connection after the handshake costs the server under 20 KiB (each held a 128 KiB write slab)", async (t) => {
    const server = await MemoryServer.start();
    // The first connections load code and fill caches once per process; they are in the baseline.
    await open(server.port, 20, handshake());
    const before = await server.measure();
    const n = 1_000;
    await open(server.port, n, handshake());
    const after = await server.measure();
    const { rss, heap } = grown(before, after);
    t.diagnostic(`per idle connection: rss ${(rss / n / KiB).toFixed(1)} KiB, heap ${(heap / n / KiB).toFixed(1)} KiB`);
    assert.ok(rss / n < 20 * KiB, `rss grew ${(rss / n / KiB).toFixed(1)} KiB per connection`);
    assert.ok(heap / n < 20 * KiB, `heap + arrayBuffers grew ${(heap / n / KiB).toFixed(1)} KiB per connection`);
  });

  test("200 connections that declare a 4 MiB frame and send 20 bytes of it cost the server under 50 MiB (each reserved the 4 MiB)", async (t) => {
    const server = await MemoryServer.start();
    await open(server.port, 20, handshake());
    const before = await server.measure();
    // A REQUEST header declaring 4 MiB (under the default maxFrameBytes of 4,203,008), then 20 bytes.
    const partial = Buffer.alloc(10 + 20, 0x61);
    partial.writeUInt32BE(4 * MiB, 0);
    partial.writeUInt8(0x01, 4);
    partial.writeUInt8(0x01, 5);
    partial.writeUInt32BE(1, 6);
    const n = 200;
    await open(server.port, n, Buffer.concat([handshake(), partial]));
    const after = await server.measure();
    const { rss, heap } = grown(before, after);
    t.diagnostic(`200 half-sent 4 MiB frames: rss ${(rss / MiB).toFixed(1)} MiB, heap ${(heap / MiB).toFixed(1)} MiB`);
    assert.ok(rss < 50 * MiB, `rss grew ${(rss / MiB).toFixed(1)} MiB`);
    assert.ok(heap < 50 * MiB, `heap + arrayBuffers grew ${(heap / MiB).toFixed(1)} MiB`);
  });
});
