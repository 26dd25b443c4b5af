// raw-net: the yardstick. A node:net server and client exchanging length-prefixed frames
//   u32 payload length | u32 request id | payload
// over one socket. The top 8 bits of the request id name the operation (add, value, echo,
// stream), the low 24 bits number the call; the client keeps its pending calls in an array indexed by id
// (pending-calls.ts). Writes are
// coalesced: the first write of a tick corks the socket and process.nextTick uncorks it. Payloads
// are minimal: add sends two int32 and gets one int32 back; a payload workload (struct, records,
// nested, text) sends the payload's JSON bytes, prepared once, and gets the same bytes back (no
// encoding or decoding per call, the reply is compared byte for byte); echo sends 64 KiB and gets
// them back; a stream reply is a run of frames with the request's id, ended by an empty one.
//
// raw-msgpackr is the same framing with msgpackr on both sides for the payload workloads: the
// client packs the value, the server unpacks it and packs it again, the client unpacks the reply.
// It is the limit for a call whose value is encoded and decoded, which raw-net's bytes are not.
//
// raw-tls is raw-net over node:tls: the same frames, corking, pending calls and server, on
// tls.createServer / tls.connect sockets with the run's test certificates (bench/certs.ts) and
// node's default TLS settings. It is the yardstick of the TLS systems.

import net from "node:net";
import tls from "node:tls";
import { pack, unpack } from "msgpackr";
import { benchCerts } from "../certs.js";
import type { BenchClient, BenchServer, BenchSystem } from "../system.js";
import { type PayloadName, payloads, sameBytes, streamChunk, type WorkloadName } from "../workloads.js";
import { connectLoopback, connectTlsLoopback, endSocket, listenLoopback, TickCork } from "./net-util.js";
import { PendingCalls } from "./pending-calls.js";

const OP_ADD = 1;
const OP_VALUE = 2;
const OP_PACKED = 5;
const OP_ECHO = 3;
const OP_STREAM = 4;
const SEQ_MASK = 0xff_ffff;
const HEADER = 8;

/** Cuts frames out of socket chunks; a frame inside one chunk is passed as a view, without a copy. */
class FrameReader {
  private readonly header = Buffer.alloc(HEADER);
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private bodyId = 0;

  constructor(private readonly onFrame: (id: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.body !== null) {
        const n = Math.min(this.body.length - this.bodyFill, chunk.length - off);
        chunk.copy(this.body, this.bodyFill, off, off + n);
        this.bodyFill += n;
        off += n;
        if (this.bodyFill === this.body.length) {
          const body = this.body;
          this.body = null;
          this.onFrame(this.bodyId, body);
        }
        continue;
      }
      let length: number;
      let id: number;
      if (this.headerFill === 0 && chunk.length - off >= HEADER) {
        length = chunk.readUInt32LE(off);
        id = chunk.readUInt32LE(off + 4);
        off += HEADER;
      } else {
        const n = Math.min(HEADER - this.headerFill, chunk.length - off);
        chunk.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill < HEADER) return;
        this.headerFill = 0;
        length = this.header.readUInt32LE(0);
        id = this.header.readUInt32LE(4);
      }
      if (chunk.length - off >= length) {
        this.onFrame(id, chunk.subarray(off, off + length));
        off += length;
      } else {
        this.body = Buffer.allocUnsafe(length);
        this.bodyFill = 0;
        this.bodyId = id;
      }
    }
  }
}

/** Writes frames, corking the socket on the first write of a tick and uncorking on the next tick. */
class FrameWriter {
  private readonly cork: TickCork;

  constructor(private readonly socket: net.Socket) {
    this.cork = new TickCork(socket);
  }

  /** Writes one frame; false if the socket's buffer is full (wait for `drain`). */
  write(id: number, payload: Uint8Array): boolean {
    this.cork.cork();
    if (payload.byteLength <= 1024) {
      const frame = Buffer.allocUnsafe(HEADER + payload.byteLength);
      frame.writeUInt32LE(payload.byteLength, 0);
      frame.writeUInt32LE(id, 4);
      frame.set(payload, HEADER);
      return this.socket.write(frame);
    }
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32LE(payload.byteLength, 0);
    header.writeUInt32LE(id, 4);
    this.socket.write(header);
    return this.socket.write(payload);
  }

  /** Writes a frame whose payload is one int32, without a separate payload buffer. */
  writeInt32(id: number, value: number): void {
    this.cork.cork();
    const frame = Buffer.allocUnsafe(HEADER + 4);
    frame.writeUInt32LE(4, 0);
    frame.writeUInt32LE(id, 4);
    frame.writeInt32LE(value, HEADER);
    this.socket.write(frame);
  }
}

const empty = Buffer.alloc(0);

function serveConnection(socket: net.Socket): void {
  socket.setNoDelay(true);
  const writer = new FrameWriter(socket);
  const reader = new FrameReader((id, payload) => {
    switch (id >>> 24) {
      case OP_ADD:
        writer.writeInt32(id, (payload.readInt32LE(0) + payload.readInt32LE(4)) | 0);
        break;
      case OP_VALUE:
      case OP_ECHO:
        writer.write(id, payload);
        break;
      case OP_PACKED:
        writer.write(id, pack(unpack(payload)));
        break;
      case OP_STREAM:
        sendStream(socket, writer, id, payload.readUInt32LE(0), payload.readUInt32LE(4));
        break;
      default:
        socket.destroy(new Error(`unknown operation ${id >>> 24}`));
    }
  });
  socket.on("data", (chunk: Buffer) => reader.push(chunk));
  socket.on("error", () => socket.destroy());
}

function sendStream(socket: net.Socket, writer: FrameWriter, id: number, totalBytes: number, chunkBytes: number) {
  let sent = 0;
  const pump = () => {
    while (sent < totalBytes) {
      const n = Math.min(chunkBytes, totalBytes - sent, streamChunk.length);
      sent += n;
      if (!writer.write(id, n === streamChunk.length ? streamChunk : streamChunk.subarray(0, n))) {
        socket.once("drain", pump);
        return;
      }
    }
    writer.write(id, empty);
  };
  pump();
}

class RawClient implements BenchClient {
  private readonly pending = new PendingCalls<Buffer>();
  private readonly streams = new Map<number, (chunk: Buffer) => void>();
  private readonly writer: FrameWriter;
  private seq = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly packed: boolean,
  ) {
    this.writer = new FrameWriter(socket);
    const reader = new FrameReader((id, payload) => {
      const onChunk = this.streams.get(id);
      if (onChunk !== undefined) return onChunk(payload);
      const call = this.pending.take(id);
      if (call === undefined) return socket.destroy(new Error(`reply to unknown id ${id}`));
      call.resolve(payload);
    });
    socket.on("data", (chunk: Buffer) => reader.push(chunk));
    this.pending.failWith(socket);
  }

  private nextId(op: number): number {
    this.seq = (this.seq + 1) & SEQ_MASK;
    return ((op << 24) | this.seq) >>> 0;
  }

  private call(op: number, payload: Uint8Array): Promise<Buffer> {
    const id = this.nextId(op);
    return new Promise((resolve, reject) => {
      this.pending.add(id, { resolve, reject });
      this.writer.write(id, payload);
    });
  }

  async add(a: number, b: number): Promise<number> {
    const args = Buffer.allocUnsafe(8);
    args.writeInt32LE(a, 0);
    args.writeInt32LE(b, 4);
    return (await this.call(OP_ADD, args)).readInt32LE(0);
  }

  async value(workload: WorkloadName, value: unknown): Promise<unknown> {
    if (this.packed) return unpack(await this.call(OP_PACKED, pack(value)));
    const { json } = payloads[workload as PayloadName];
    const reply = await this.call(OP_VALUE, json);
    if (!sameBytes(reply, json)) throw new Error(`raw-net ${workload} reply differs from the request`);
    return value;
  }

  echo(bytes: Buffer): Promise<Uint8Array> {
    return this.call(OP_ECHO, bytes);
  }

  stream(totalBytes: number, chunkBytes: number, onChunk: (chunk: Uint8Array) => void): Promise<void> {
    const id = this.nextId(OP_STREAM);
    const request = Buffer.allocUnsafe(8);
    request.writeUInt32LE(totalBytes, 0);
    request.writeUInt32LE(chunkBytes, 4);
    return new Promise((resolve, reject) => {
      this.pending.add(id, { resolve: () => {}, reject });
      this.streams.set(id, (chunk) => {
        if (chunk.length > 0) return onChunk(chunk);
        this.streams.delete(id);
        this.pending.take(id);
        resolve();
      });
      this.writer.write(id, request);
    });
  }

  close(): Promise<void> {
    return endSocket(this.socket);
  }
}

export const rawNet: BenchSystem = {
  name: "raw-net",
  description: "node:net, u32 length + u32 id frames, cork/uncork per tick, no encoding",
  workloads: ["add", "struct", "records", "nested", "text", "echo"],
  serve(): Promise<BenchServer> {
    const server = net.createServer(serveConnection);
    return listenLoopback(server);
  },
  connect(address: string): Promise<BenchClient> {
    return connectLoopback(address, (socket) => new RawClient(socket, false));
  },
};

export const rawMsgpackr: BenchSystem = {
  name: "raw-msgpackr",
  description: "raw-net's framing, msgpackr pack/unpack of the value on both sides",
  workloads: ["struct", "records", "nested", "text"],
  serve: rawNet.serve,
  connect(address: string): Promise<BenchClient> {
    return connectLoopback(address, (socket) => new RawClient(socket, true));
  },
};

export const rawTls: BenchSystem = {
  name: "raw-tls",
  description: "raw-net over node:tls (tls.createServer / tls.connect, node's defaults), the TLS yardstick",
  // The TLS comparison: small calls, the ~1 KiB struct and 64 KiB echoes (the wider payloads
  // measure codecs, which TLS does not change).
  workloads: ["add", "struct", "echo"],
  tls: true,
  serve(): Promise<BenchServer> {
    const { cert, key } = benchCerts();
    const server = tls.createServer({ cert, key }, serveConnection);
    return listenLoopback(server);
  },
  connect(address: string): Promise<BenchClient> {
    return connectTlsLoopback(address, benchCerts().ca, (socket) => new RawClient(socket, false));
  },
};
