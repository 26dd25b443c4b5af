// farcall over its native protocol, with MessagePack or JSON: a service whose handlers mirror
// raw-net's operations, called through the ordinary public API (createClient().service()).

import { createClient, createServer, defineService, serverStream, unary } from "../../src/index.js";
import type { BenchClient, BenchServer, BenchSystem } from "../system.js";
import { type BenchStruct, streamChunk } from "../workloads.js";

export const Bench = defineService("Bench", {
  add: unary<{ a: number; b: number }, number>(),
  struct: unary<BenchStruct, BenchStruct>(),
  echo: unary<Uint8Array, Uint8Array>(),
  stream: serverStream<{ totalBytes: number; chunkBytes: number }, Uint8Array>(),
});

async function serve(): Promise<BenchServer> {
  const server = createServer().add(Bench, {
    add: ({ a, b }) => a + b,
    struct: (value) => value,
    echo: (bytes) => bytes,
    async *stream({ totalBytes, chunkBytes }) {
      for (let sent = 0; sent < totalBytes; ) {
        const n = Math.min(chunkBytes, totalBytes - sent, streamChunk.length);
        sent += n;
        yield n === streamChunk.length ? streamChunk : streamChunk.subarray(0, n);
      }
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  return { address, close: () => server.close() };
}

function farcall(codec: "msgpack" | "json"): BenchSystem {
  return {
    name: `farcall-${codec}`,
    description: `farcall native protocol, ${codec === "msgpack" ? "MessagePack" : "JSON"} codec, public API`,
    serve,
    async connect(address: string): Promise<BenchClient> {
      const client = createClient(address, { codec });
      const bench = client.service(Bench);
      return {
        add: (a, b) => bench.add({ a, b }),
        struct: (value) => bench.struct(value),
        echo: (bytes) => bench.echo(bytes),
        async stream(totalBytes, chunkBytes, onChunk) {
          // Each chunk is checked in onChunk and dropped, so its buffer can be reused for a later one.
          for await (const chunk of bench.stream({ totalBytes, chunkBytes }, { reuseBuffers: true })) onChunk(chunk);
        },
        close: () => client.close(),
      };
    },
  };
}

export const farcallMsgpack: BenchSystem = farcall("msgpack");
export const farcallJson: BenchSystem = farcall("json");
