// farcall over its native protocol, with MessagePack or JSON: a service whose handlers mirror
// raw-net's operations, called through the ordinary public API (createClient().service()).
// farcall-zod is farcall-msgpack whose server checks `struct`'s input against a zod schema
// (farcall-zod.ts, loaded only by that system's server, since zod adds ~10 MiB of RSS).

import { createClient, createServer, defineService, serverStream, unary } from "../../src/index.js";
import type { BenchClient, BenchServer, BenchSystem } from "../system.js";
import {
  type BenchNode,
  type BenchRecords,
  type BenchStruct,
  type BenchText,
  streamChunk,
  type WorkloadName,
} from "../workloads.js";

/** The methods, for farcall-zod.ts to define the same service with a schema on `struct`. */
export const benchMethods = {
  add: unary<{ a: number; b: number }, number>(),
  struct: unary<BenchStruct, BenchStruct>(),
  records: unary<BenchRecords, BenchRecords>(),
  nested: unary<BenchNode, BenchNode>(),
  text: unary<BenchText, BenchText>(),
  echo: unary<Uint8Array, Uint8Array>(),
  stream: serverStream<{ totalBytes: number; chunkBytes: number }, Uint8Array>(),
};

export const Bench = defineService("Bench", benchMethods);

async function serve(service: typeof Bench): Promise<BenchServer> {
  const server = createServer().add(service, {
    add: ({ a, b }) => a + b,
    struct: (value) => value,
    records: (value) => value,
    nested: (value) => value,
    text: (value) => value,
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

async function connect(address: string, codec: "msgpack" | "json"): Promise<BenchClient> {
  const client = createClient(address, { codec });
  const bench = client.service(Bench);
  const methods: Record<string, (value: never) => Promise<unknown>> = {
    struct: (v: BenchStruct) => bench.struct(v),
    records: (v: BenchRecords) => bench.records(v),
    nested: (v: BenchNode) => bench.nested(v),
    text: (v: BenchText) => bench.text(v),
  };
  return {
    add: (a, b) => bench.add({ a, b }),
    value(workload: WorkloadName, value: unknown) {
      const method = methods[workload];
      if (method === undefined) throw new Error(`farcall has no ${workload} method`);
      return method(value as never);
    },
    echo: (bytes) => bench.echo(bytes),
    async stream(totalBytes, chunkBytes, onChunk) {
      // Each chunk is checked in onChunk and dropped, so its buffer can be reused for a later one.
      for await (const chunk of bench.stream({ totalBytes, chunkBytes }, { reuseBuffers: true })) onChunk(chunk);
    },
    close: () => client.close(),
  };
}

function farcall(codec: "msgpack" | "json"): BenchSystem {
  return {
    name: `farcall-${codec}`,
    description: `farcall native protocol, ${codec === "msgpack" ? "MessagePack" : "JSON"} codec, public API`,
    serve: () => serve(Bench),
    connect: (address) => connect(address, codec),
  };
}

export const farcallMsgpack: BenchSystem = farcall("msgpack");
export const farcallJson: BenchSystem = farcall("json");

export const farcallZod: BenchSystem = {
  name: "farcall-zod",
  description: "farcall-msgpack, the server checking struct's input against a zod schema",
  workloads: ["struct"],
  // The same methods, `struct` with a schema: the handlers above fit both.
  serve: async () => serve((await import("./farcall-zod.js")).BenchZod as typeof Bench),
  connect: (address) => connect(address, "msgpack"),
};
