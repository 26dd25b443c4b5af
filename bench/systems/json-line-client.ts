// The JSON-RPC 2.0 client that drives both JSON-RPC servers (jayson's and farcall's): one socket,
// each request written as JSON-RPC 2.0 text plus "\n", writes coalesced with cork() and
// process.nextTick like raw-net, and replies (also "\n"-terminated) matched to calls by id
// (pending-calls.ts). Bytes travel as base64 strings, the usual JSON-RPC way. In a file of its own
// so that loading it does not load jayson (farcall-jsonrpc's server child would carry jayson in
// its RSS).

import type net from "node:net";
import type { BenchClient } from "../system.js";
import type { WorkloadName } from "../workloads.js";
import { endSocket, TickCork } from "./net-util.js";
import { PendingCalls } from "./pending-calls.js";

interface Reply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

const NEWLINE = 0x0a;

/** A JSON-RPC 2.0 client on one socket: newline-delimited requests and replies, matched by id. */
export class JsonRpcLineClient implements BenchClient {
  private readonly pending = new PendingCalls<unknown>();
  private nextId = 0;
  private readonly cork: TickCork;
  private rest: Buffer | null = null;

  constructor(private readonly socket: net.Socket) {
    this.cork = new TickCork(socket);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.pending.failWith(socket);
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
    const call = this.pending.take(reply.id);
    if (call === undefined) throw new Error(`reply to unknown id ${reply.id}`);
    if (reply.error !== undefined) call.reject(new Error(`JSON-RPC error ${reply.error.code}: ${reply.error.message}`));
    else call.resolve(reply.result);
  }

  private call(method: string, params: object): Promise<unknown> {
    const id = ++this.nextId;
    const text = `${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`;
    return new Promise((resolve, reject) => {
      this.pending.add(id, { resolve, reject });
      this.cork.cork();
      this.socket.write(text);
    });
  }

  async add(a: number, b: number): Promise<number> {
    return (await this.call("add", { a, b })) as number;
  }

  value(workload: WorkloadName, value: unknown): Promise<unknown> {
    return this.call(workload, value as object);
  }

  async echo(bytes: Buffer): Promise<Uint8Array> {
    return Buffer.from((await this.call("echo", { data: bytes.toString("base64") })) as string, "base64");
  }

  close(): Promise<void> {
    return endSocket(this.socket);
  }
}
