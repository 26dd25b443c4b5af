// farcall over its native protocol, with MessagePack or JSON: a service whose handlers mirror
// raw-net's operations, called through the ordinary public API (createClient().service()).
// farcall-zod is farcall-msgpack whose server checks `struct`'s input against a zod schema
// (farcall-zod.ts, loaded only by that system's server, since zod adds ~10 MiB of RSS).
// farcall-tls is farcall-msgpack over `tls://` with the run's test certificates (bench/certs.ts);
// farcall-hmac is farcall-msgpack over `tcp://` with every call HMAC-signed by the client and
// verified by the server's hmacVerifier: what signing costs.

import {
  announce,
  type ClientOptions,
  createClient,
  createRegistry,
  createServer,
  defineService,
  hmacVerifier,
  type ServerOptions,
  serverStream,
  unary,
} from "../../src/index.js";
import { benchCerts } from "../certs.js";
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

async function serve(service: typeof Bench, options: ServerOptions = {}, scheme = "tcp"): Promise<BenchServer> {
  const server = createServer(options).add(service, {
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
  return { address: address.replace(/^tcp:/, `${scheme}:`), close: () => server.close() };
}

async function connect(address: string, codec: "msgpack" | "json", options: ClientOptions = {}): Promise<BenchClient> {
  const client = createClient(address, { ...options, codec });
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

export const farcallTls: BenchSystem = {
  name: "farcall-tls",
  description: "farcall-msgpack over tls:// (the server's tls option, TLS only on its port)",
  workloads: ["add", "struct", "echo"],
  tls: true,
  serve: () => {
    const { cert, key } = benchCerts();
    return serve(Bench, { tls: { cert, key, plaintext: false } }, "tls");
  },
  connect: (address) => connect(address, "msgpack", { tls: { ca: benchCerts().ca } }),
};

/** The signing key of farcall-hmac: 32 fixed bytes (hmacVerifier's minimum). */
const hmacKey = { keyId: "bench", secret: Buffer.from("farcall bench hmac key, 32 bytes", "utf8") };

export const farcallHmac: BenchSystem = {
  name: "farcall-hmac",
  description:
    "farcall-msgpack over tcp:// with every call HMAC-signed and verified (ClientOptions.hmac, hmacVerifier)",
  workloads: ["add"],
  serve: () =>
    serve(Bench, {
      authenticate: hmacVerifier({
        keys: new Map([[hmacKey.keyId, hmacKey.secret]]),
        // The default 30 s window with its 200,000 nonces is sized for ~3,300 signed calls a second
        // per key; a bench cell makes 100 times that. Client and server share this machine's clock,
        // so a 1 s window loses nothing, and 500,000 nonces hold 1 s of calls up to 500,000 calls/s.
        windowMs: 1_000,
        maxNonces: 500_000,
      }),
    }),
  connect: (address) => connect(address, "msgpack", { hmac: hmacKey }),
};

/**
 * farcall-cluster: an embedded registry and three replicas of Bench announced in it, all in the
 * server child; the client is made for `registry://…/Bench` and balances over the three (p2c).
 * Against farcall-msgpack (one replica, dialled directly) it measures the balancing layer; with
 * every replica in one process it cannot show more cores at work.
 */
export const farcallCluster: BenchSystem = {
  name: "farcall-cluster",
  description: "farcall-msgpack through an embedded registry to three replicas in the server child (p2c)",
  workloads: ["add"],
  async serve() {
    const registry = createRegistry();
    const at = await registry.listen("tcp://127.0.0.1:0");
    const replicas = await Promise.all([serve(Bench), serve(Bench), serve(Bench)]);
    const servers = replicas.map((r) => r.address);
    // Each announced through a server object of its own that only carries the announcement.
    const announcements = servers.map((address) => announce(createServer(), at, { address, services: ["Bench"] }));
    await Promise.all(announcements.map((a) => a.registered));
    return {
      address: `registry://${at.slice("tcp://".length)}/Bench`,
      async close() {
        await Promise.all(announcements.map((a) => a.stop()));
        await Promise.all(replicas.map((r) => r.close()));
        await registry.close();
      },
    };
  },
  connect: (address) => connect(address, "msgpack"),
};
