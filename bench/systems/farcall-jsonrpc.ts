// farcall's JSON-RPC 2.0 over TCP: the farcall server (the same port would answer farcall
// clients too) driven by the same newline-delimited JSON-RPC client as jayson's server, with
// the same method names and shapes (bytes as base64 strings), so the two compare directly.

import { createServer, defineService, unary } from "../../src/index.js";
import type { BenchClient, BenchServer, BenchSystem } from "../system.js";
import type { BenchNode, BenchRecords, BenchStruct, BenchText } from "../workloads.js";
import { JsonRpcLineClient } from "./json-line-client.js";
import { connectLoopback } from "./net-util.js";

const JsonBench = defineService("Bench", {
  add: unary<{ a: number; b: number }, number>(),
  struct: unary<BenchStruct, BenchStruct>(),
  records: unary<BenchRecords, BenchRecords>(),
  nested: unary<BenchNode, BenchNode>(),
  text: unary<BenchText, BenchText>(),
  echo: unary<{ data: string }, string>(),
});

export const farcallJsonRpc: BenchSystem = {
  name: "farcall-jsonrpc",
  description: "farcall server answering JSON-RPC 2.0 over TCP, one persistent socket, same client as jayson",
  workloads: ["add", "struct", "records", "nested", "text", "echo"],
  async serve(): Promise<BenchServer> {
    const server = createServer().add(JsonBench, {
      add: ({ a, b }) => a + b,
      struct: (value) => value,
      records: (value) => value,
      nested: (value) => value,
      text: (value) => value,
      echo: ({ data }) => data,
    });
    const address = await server.listen("tcp://127.0.0.1:0");
    return { address: address.slice("tcp://".length), close: () => server.close() };
  },
  connect(address: string): Promise<BenchClient> {
    return connectLoopback(address, (socket) => new JsonRpcLineClient(socket));
  },
};
