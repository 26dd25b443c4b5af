// Stream client child: `node dist/bench/stream-client.js <system> <address> <totalBytes>`.
// Runs in its own process so that its peak RSS (sampled every 20 ms, see rss.ts) is the client
// side's alone. Receives one warm-up stream of totalBytes / 8, then one stream of totalBytes in
// 64 KiB chunks, checking every chunk byte for byte, and reports its seconds.

import { peakRssMiB } from "./rss.js";
import { loadSystem } from "./systems/index.js";
import { sameBytes, streamChunk, streamChunkBytes, streamTimeoutMs } from "./workloads.js";

const [name = "", address = "", total = "0"] = process.argv.slice(2);
const totalBytes = Number(total);

const client = await (await loadSystem(name)).connect(address);
if (client.stream === undefined) throw new Error(`${name} has no streaming client`);
const stream = client.stream.bind(client);

async function receive(bytes: number): Promise<number> {
  let received = 0;
  const started = process.hrtime.bigint();
  const timer = setTimeout(() => {
    console.error(`${name}: stream of ${bytes} bytes took longer than ${streamTimeoutMs} ms`);
    process.exit(1);
  }, streamTimeoutMs);
  await stream(bytes, streamChunkBytes, (chunk) => {
    const expected = chunk.byteLength === streamChunkBytes ? streamChunk : streamChunk.subarray(0, chunk.byteLength);
    if (!sameBytes(chunk, expected)) throw new Error(`${name}: stream chunk at ${received} differs`);
    received += chunk.byteLength;
  });
  clearTimeout(timer);
  if (received !== bytes) throw new Error(`${name}: stream delivered ${received} bytes, expected ${bytes}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

await receive(Math.max(streamChunkBytes, Math.floor(totalBytes / 8)));
const seconds = await receive(totalBytes);
await client.close();
process.send?.({ type: "result", seconds, peakRssMiB: peakRssMiB() }, () => process.exit(0));
