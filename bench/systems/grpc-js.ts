// @grpc/grpc-js with @grpc/proto-loader, both with default options, serving bench/bench.proto.
// The one channel option set is grpc.use_local_subchannel_pool, so that the four clients of the
// 256/4 cells get four connections (by default grpc-js shares one subchannel between channels to
// the same address).
// grpc-js-tls is the same over TLS with the run's test certificates (bench/certs.ts):
// grpc.credentials.createSsl(ca) on the client, ServerCredentials.createSsl(null, [{ cert_chain,
// private_key }]) on the server.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { benchCerts } from "../certs.js";
import type { BenchClient, BenchServer, BenchSystem } from "../system.js";
import { streamChunk } from "../workloads.js";

/** dist/bench/systems/grpc-js.js → the repository root → bench/bench.proto. */
const protoPath = new URL("../../../bench/bench.proto", import.meta.url).pathname;

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
interface Blob {
  data: Buffer;
}
interface BenchStub extends grpc.Client {
  add(request: { a: number; b: number }, callback: Callback<{ sum: number }>): grpc.ClientUnaryCall;
  struct(request: unknown, callback: Callback<unknown>): grpc.ClientUnaryCall;
  records(request: unknown, callback: Callback<unknown>): grpc.ClientUnaryCall;
  nested(request: unknown, callback: Callback<unknown>): grpc.ClientUnaryCall;
  text(request: unknown, callback: Callback<unknown>): grpc.ClientUnaryCall;
  echo(request: Blob, callback: Callback<Blob>): grpc.ClientUnaryCall;
  stream(request: { totalBytes: number; chunkBytes: number }): grpc.ClientReadableStream<Blob>;
}

function loadService(): grpc.ServiceClientConstructor {
  const root = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath));
  const pkg = (root.farcall as grpc.GrpcObject).bench as grpc.GrpcObject;
  return pkg.Bench as grpc.ServiceClientConstructor;
}

function unary<Req, Res>(call: (request: Req, callback: Callback<Res>) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    call(request, (err, value) => (err !== null ? reject(err) : resolve(value as Res)));
  });
}

function echoValue(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void {
  callback(null, call.request);
}

/** The server's and the client's credentials: insecure, or TLS with the run's certificates. */
interface Credentials {
  server(): grpc.ServerCredentials;
  client(): grpc.ChannelCredentials;
}

const insecure: Credentials = {
  server: () => grpc.ServerCredentials.createInsecure(),
  client: () => grpc.credentials.createInsecure(),
};

const ssl: Credentials = {
  server: () => {
    const { cert, key } = benchCerts();
    return grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(cert), private_key: Buffer.from(key) }]);
  },
  client: () => grpc.credentials.createSsl(Buffer.from(benchCerts().ca)),
};

function grpcSystem(
  name: string,
  description: string,
  workloads: BenchSystem["workloads"],
  credentials: Credentials,
): BenchSystem {
  return {
    name,
    description,
    workloads,
    tls: credentials === ssl,
    serve: () => serve(credentials),
    connect: (address) => connect(address, credentials),
  };
}

async function serve(credentials: Credentials): Promise<BenchServer> {
  const Service = loadService();
  const server = new grpc.Server();
  server.addService(Service.service, {
    add: (call: grpc.ServerUnaryCall<{ a: number; b: number }, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { sum: call.request.a + call.request.b }),
    struct: echoValue,
    records: echoValue,
    nested: echoValue,
    text: echoValue,
    echo: (call: grpc.ServerUnaryCall<Blob, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, call.request),
    stream: (call: grpc.ServerWritableStream<{ totalBytes: number; chunkBytes: number }, Blob>) => {
      const { totalBytes, chunkBytes } = call.request;
      let sent = 0;
      const pump = () => {
        while (sent < totalBytes) {
          const n = Math.min(chunkBytes, totalBytes - sent, streamChunk.length);
          sent += n;
          if (!call.write({ data: n === streamChunk.length ? streamChunk : streamChunk.subarray(0, n) })) {
            call.once("drain", pump);
            return;
          }
        }
        call.end();
      };
      pump();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials.server(), (err, bound) =>
      err !== null ? reject(err) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

async function connect(address: string, credentials: Credentials): Promise<BenchClient> {
  const Service = loadService();
  const stub = new Service(address, credentials.client(), {
    "grpc.use_local_subchannel_pool": 1,
  }) as unknown as BenchStub;
  await new Promise<void>((resolve, reject) =>
    stub.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
  );
  const add = stub.add.bind(stub);
  const methods: Record<string, (request: unknown, callback: Callback<unknown>) => unknown> = {
    struct: stub.struct.bind(stub),
    records: stub.records.bind(stub),
    nested: stub.nested.bind(stub),
    text: stub.text.bind(stub),
  };
  const echo = stub.echo.bind(stub);
  return {
    add: async (a, b) => (await unary(add, { a, b })).sum,
    value(workload, value) {
      const method = methods[workload];
      if (method === undefined) throw new Error(`grpc-js has no ${workload} method`);
      return unary(method, value);
    },
    echo: async (bytes) => (await unary(echo, { data: bytes })).data,
    stream(totalBytes, chunkBytes, onChunk) {
      return new Promise((resolve, reject) => {
        const call = stub.stream({ totalBytes, chunkBytes });
        call.on("data", (blob: Blob) => onChunk(blob.data));
        call.on("error", reject);
        call.on("end", () => resolve());
      });
    },
    close: async () => stub.close(),
  };
}

export const grpcJs: BenchSystem = grpcSystem(
  "grpc-js",
  "@grpc/grpc-js + @grpc/proto-loader, default options, HTTP/2 + protobuf",
  ["add", "struct", "records", "nested", "text", "echo"],
  insecure,
);

export const grpcJsTls: BenchSystem = grpcSystem(
  "grpc-js-tls",
  "grpc-js over TLS: credentials.createSsl(ca), ServerCredentials.createSsl(null, [{ cert_chain, private_key }])",
  ["add", "struct", "echo"],
  ssl,
);
