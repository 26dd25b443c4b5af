// jayson (JSON-RPC 2.0) over ONE persistent TCP connection.
//
// jayson 5's TCP client (node_modules/jayson/lib/client/tcp.js) opens a new connection for every
// request and ends it after the reply, so measuring it would measure TCP handshakes. Instead the
// server is jayson's own TCP server (`new jayson.Server(methods).tcp()`), which reads a stream of
// JSON values separated by its delimiter (utils.parseStream; jayson 5 requires the delimiter,
// default "\n", so requests are not written back to back without it). The client is ours
// (json-line-client.ts): one socket, newline-delimited, replies matched by id.

import jayson from "jayson";
import type { BenchClient, BenchServer, BenchSystem } from "../system.js";
import { JsonRpcLineClient } from "./json-line-client.js";
import { connectLoopback, listenLoopback } from "./net-util.js";

type Done = (err: unknown, result?: unknown) => void;

export const jaysonTcp: BenchSystem = {
  name: "jayson",
  description: "jayson TCP server (JSON-RPC 2.0), one persistent socket, own newline-delimited client",
  workloads: ["add", "struct", "records", "nested", "text", "echo"],
  serve(): Promise<BenchServer> {
    const server = new jayson.Server({
      add: (args: { a: number; b: number }, done: Done) => done(null, args.a + args.b),
      struct: (args: unknown, done: Done) => done(null, args),
      records: (args: unknown, done: Done) => done(null, args),
      nested: (args: unknown, done: Done) => done(null, args),
      text: (args: unknown, done: Done) => done(null, args),
      echo: (args: { data: string }, done: Done) => done(null, args.data),
    }).tcp();
    return listenLoopback(server);
  },
  connect(address: string): Promise<BenchClient> {
    return connectLoopback(address, (socket) => new JsonRpcLineClient(socket));
  },
};
