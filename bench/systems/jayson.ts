// jayson (JSON-RPC 2.0) over ONE persistent TCP connection.
//
// jayson 5's TCP client (node_modules/jayson/lib/client/tcp.js) opens a new connection for every
// request and ends it after the reply, so measuring it would measure TCP handshakes. Instead the
// server is jayson's own TCP server (`new jayson.Server(methods).tcp()`), which reads a stream of
// JSON values separated by its delimiter (utils.parseStream; jayson 5 requires the delimiter,
// default "\n", so requests are not written back to back without it). The client below is ours:
// one socket, each request written as JSON-RPC 2.0 text plus "\n", writes coalesced with cork()
// and process.nextTick like raw-net, and replies (also "\n"-terminated) matched to calls by id.
// Bytes travel as base64 strings, the usual JSON-RPC way.

import type net from "node:net";
import jayson from "jayson";
import type { BenchClient, BenchServer, BenchSystem } from "../system.js";
import type { BenchStruct } from "../workloads.js";
import { connectLoopback, listenLoopback } from "./net-util.js";

type Done = (err: unknown, result?: unknown) => void;

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

const NEWLINE = 0x0a;

/** A JSON-RPC 2.0 client on one socket: newline-delimited requests and replies, matched by id. */
export class JsonRpcLineClient implements BenchClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };
  private rest: Buffer | null = null;

  constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const fail = (err?: Error) => {
      for (const call of this.pending.values()) call.reject(err ?? new Error("connection closed"));
      this.pending.clear();
    };
    socket.on("error", fail);
    socket.on("close", () => fail());
  }

  private onData(chunk: Buffer): void {
    let data = chunk;
    let start = 0;
    let end = data.indexOf(NEWLINE);
    if (this.rest !== null) {
      if (end === -1) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return;
      }
      data = Buffer.concat([this.rest, chunk]);
      end += this.rest.length;
      this.rest = null;
    }
    while (end !== -1) {
      this.onReply(JSON.parse(data.toString("utf8", start, end)) as Reply);
      start = end + 1;
      end = data.indexOf(NEWLINE, start);
    }
    if (start < data.length) this.rest = data.subarray(start);
  }

  private onReply(reply: Reply): void {
    const call = this.pending.get(reply.id);
    if (call === undefined) throw new Error(`reply to unknown id ${reply.id}`);
    this.pending.delete(reply.id);
    if (reply.error !== undefined) call.reject(new Error(`JSON-RPC error ${reply.error.code}: ${reply.error.message}`));
    else call.resolve(reply.result);
  }

  private call(method: string, params: object): Promise<unknown> {
    const id = ++this.nextId;
    const text = `${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(this.uncork);
      }
      this.socket.write(text);
    });
  }

  async add(a: number, b: number): Promise<number> {
    return (await this.call("add", { a, b })) as number;
  }

  struct(value: BenchStruct): Promise<unknown> {
    return this.call("struct", value);
  }

  async echo(bytes: Buffer): Promise<Uint8Array> {
    return Buffer.from((await this.call("echo", { data: bytes.toString("base64") })) as string, "base64");
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end();
    });
  }
}

export const jaysonTcp: BenchSystem = {
  name: "jayson",
  description: "jayson TCP server (JSON-RPC 2.0), one persistent socket, own newline-delimited client",
  serve(): Promise<BenchServer> {
    const server = new jayson.Server({
      add: (args: { a: number; b: number }, done: Done) => done(null, args.a + args.b),
      struct: (args: BenchStruct, done: Done) => done(null, args),
      echo: (args: { data: string }, done: Done) => done(null, args.data),
    }).tcp();
    return listenLoopback(server);
  },
  connect(address: string): Promise<BenchClient> {
    return connectLoopback(address, (socket) => new JsonRpcLineClient(socket));
  },
};
