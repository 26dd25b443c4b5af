/**
 * A farcall server in a process of its own, for test/farcall-memory.test.ts: the test opens
 * connections to it from outside and asks it for its memory, so the clients' sockets and buffers
 * are not counted. It does nothing unless started with FARCALL_MEMORY_SERVER=1 (the test runner
 * loads every file under dist/test/).
 *
 * Protocol on stdio, one line each: it prints `{"port": n}` once listening; for each `measure`
 * line it reads, it runs full GCs and prints `process.memoryUsage()` as JSON; on `close` (or
 * stdin's end) it closes the server and exits.
 */
import { createInterface } from "node:readline";
import { setImmediate as tick } from "node:timers/promises";
import { Arith, arithImpl } from "../examples/demo/services.js";
import { createServer } from "../src/index.js";

/** Runs full GCs until RSS stops falling, at most 10 rounds (about 0.1 s), so figures are stable. */
async function settled(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("memory-server needs --expose-gc");
  let last = process.memoryUsage();
  for (let i = 0; i < 10; i++) {
    gc();
    await tick();
    await new Promise((r) => setTimeout(r, 10));
    const now = process.memoryUsage();
    if (now.rss >= last.rss) return now;
    last = now;
  }
  return last;
}

async function main(): Promise<void> {
  const server = createServer().add(
    Arith,
    arithImpl(() => {}),
  );
  const address = await server.listen("tcp://127.0.0.1:0");
  process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === "measure") process.stdout.write(`${JSON.stringify(await settled())}\n`);
    else if (line === "close") break;
  }
  lines.close();
  await server.close({ graceMs: 100 });
  process.exit(0);
}

if (process.env.FARCALL_MEMORY_SERVER === "1") await main();
