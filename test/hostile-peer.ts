// The raw peer and helpers of the hostile-input tests (hostile.test.ts, hostile-calls.test.ts):
// frames built by hand from docs/protocol.md, a server per test, every wait with a timeout.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { Arith, arithImpl } from "../examples/demo/services.js";
import { type Code, createServer, type Server, type ServerOptions } from "../src/index.js";
import { trackCleanups } from "./helpers.js";
import { LinePeer } from "./line-peer.js";
import { F, frame, preface, T } from "./raw-farcall.js";

export { frame, preface };

// Wire constants (T, F) are raw-farcall's: written out there on purpose, the tests pin the bytes.
export const codecId = { json: 1, msgpack: 2 } as const;
export const magic = [0x7f, 0x46, 0x41, 0x52];

export const utf8 = new TextEncoder();
export const text = new TextDecoder();

export interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** A decoded ERROR or GOAWAY payload: u8 code, u16 length, message. */
export interface Reason {
  code: number;
  message: string;
}

export function reasonOf(frame: Frame): Reason {
  const p = frame.payload;
  assert.ok(p.length >= 3, `payload of ${p.length} bytes is too short for code + message length`);
  const len = p.readUInt16BE(1);
  assert.ok(3 + len <= p.length, "message length runs past the payload");
  return { code: p.readUInt8(0), message: p.subarray(3, 3 + len).toString("utf8") };
}

export interface RequestOptions {
  id: number;
  /** Binds `methodId` to this name (NAME flag). */
  name?: string;
  methodId?: number;
  timeoutMs?: number;
  /** A raw metadata block, sent with the u16 length it really has unless `metadataLength` says otherwise. */
  metadata?: Uint8Array;
  metadataLength?: number;
  flags?: number;
  message?: Uint8Array | string;
}

export function request(o: RequestOptions): Buffer {
  const parts: Buffer[] = [];
  let flags = o.flags ?? 0;
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  parts.push(u16(o.methodId ?? 0));
  if (o.name !== undefined) {
    flags |= F.Name;
    const name = Buffer.from(o.name, "utf8");
    parts.push(u16(name.length), name);
  }
  if (o.timeoutMs !== undefined) {
    flags |= F.Deadline;
    const b = Buffer.alloc(4);
    b.writeUInt32BE(o.timeoutMs);
    parts.push(b);
  }
  if (o.metadata !== undefined) {
    flags |= F.Metadata;
    parts.push(u16(o.metadataLength ?? o.metadata.length), Buffer.from(o.metadata));
  }
  if (o.message !== undefined)
    parts.push(Buffer.from(typeof o.message === "string" ? utf8.encode(o.message) : o.message));
  return frame(T.Request, flags, o.id, Buffer.concat(parts));
}

/** A metadata block with one entry whose value has `valueBytes` bytes. */
export function metadataBlock(key: string, valueBytes: number): Buffer {
  const k = Buffer.from(key, "utf8");
  const b = Buffer.alloc(2 + 1 + k.length + 2 + valueBytes, 0x61);
  b.writeUInt16BE(1, 0);
  b.writeUInt8(k.length, 2);
  k.copy(b, 3);
  b.writeUInt16BE(valueBytes, 3 + k.length);
  return b;
}

/**
 * A raw TCP peer that collects bytes and parses the server's preface, then frames. Waits take a
 * timeout and reject with what was seen so far, so a bug fails instead of hanging.
 */
export class RawPeer {
  preface: Buffer | undefined;
  readonly frames: Frame[] = [];
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private readonly wakers = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.parse();
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(address: string): Promise<RawPeer> {
    const url = new URL(address);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
      const peer = new RawPeer(socket);
      opened.push(() => {
        socket.destroy();
      });
      socket.once("connect", () => resolve(peer));
      socket.once("error", reject);
    });
  }

  /** Connects and sends a preface for `codec`. */
  static async handshake(address: string, codec: number = codecId.json): Promise<RawPeer> {
    const peer = await RawPeer.open(address);
    peer.send(preface(codec));
    return peer;
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Writes `bytes` one byte per write, yielding to the event loop between writes. */
  async trickle(bytes: Uint8Array): Promise<void> {
    for (const b of bytes) {
      await new Promise<void>((resolve) => this.socket.write(Uint8Array.of(b), () => resolve()));
    }
  }

  /** Resolves with the server's 8-byte preface. */
  async serverPreface(timeoutMs = 2_000): Promise<Buffer> {
    await this.until(() => this.preface !== undefined, timeoutMs, "the server preface");
    return this.preface as Buffer;
  }

  /** Resolves with the first frame (SETTINGS skipped unless asked for) that matches `pred`, and removes it. */
  async next(pred: (f: Frame) => boolean = () => true, timeoutMs = 2_000, what = "a frame"): Promise<Frame> {
    let found: Frame | undefined;
    await this.until(
      () => {
        const i = this.frames.findIndex(pred);
        if (i < 0) return false;
        found = this.frames.splice(i, 1)[0];
        return true;
      },
      timeoutMs,
      what,
    );
    return found as Frame;
  }

  /** The reply (RESPONSE or ERROR) for call `id`. */
  reply(id: number, timeoutMs = 2_000): Promise<Frame> {
    return this.next((f) => f.id === id && (f.type === T.Response || f.type === T.Error), timeoutMs, `reply to ${id}`);
  }

  goAway(timeoutMs = 2_000): Promise<Frame> {
    return this.next((f) => f.type === T.GoAway, timeoutMs, "GOAWAY");
  }

  /** Resolves once the server has closed the connection. */
  whenClosed(timeoutMs = 2_000): Promise<void> {
    return this.until(() => this.closed, timeoutMs, "the connection to close");
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(): void {
    if (this.preface === undefined) {
      if (this.buf.length < 8) return;
      this.preface = this.buf.subarray(0, 8);
      this.buf = this.buf.subarray(8);
    }
    while (this.buf.length >= 10) {
      const len = this.buf.readUInt32BE(0);
      assert.ok(len <= 64 * 1024 * 1024, `server declared a frame of ${len} bytes`);
      if (this.buf.length < 10 + len) return;
      this.frames.push({
        type: this.buf.readUInt8(4),
        flags: this.buf.readUInt8(5),
        id: this.buf.readUInt32BE(6),
        payload: Buffer.from(this.buf.subarray(10, 10 + len)),
      });
      this.buf = this.buf.subarray(10 + len);
    }
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  private until(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!ready()) {
          if (this.closed) finish(new Error(`connection closed while waiting for ${what}; ${this.describe()}`));
          return;
        }
        finish();
      };
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.wakers.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.describe()}`)),
        timeoutMs,
      );
      this.wakers.add(check);
    });
  }

  private describe(): string {
    const frames = this.frames.map((f) => `type ${f.type} id ${f.id} (${f.payload.length} bytes)`).join(", ");
    return `preface ${this.preface?.toString("hex") ?? "none"}, frames [${frames}], closed ${this.closed}`;
  }
}

/** Cleanups registered by the current test, run in reverse order before the leak check. */
export const opened = trackCleanups();

export async function startServer(
  options: ServerOptions = {},
  setup?: (s: Server) => void,
): Promise<{ server: Server; address: string }> {
  const server = createServer(options).add(Arith, arithImpl());
  setup?.(server);
  const address = await server.listen("tcp://127.0.0.1:0");
  opened.push(() => server.close({ graceMs: 100 }));
  return { server, address };
}

/** Sends `text` on a plain socket and resolves with everything received until the server closes. */
export function rawExchange(address: string, text: string): Promise<string> {
  return LinePeer.exchange(Number(new URL(address).port), text, opened, 5_000);
}

/** Asserts `frame` is an ERROR with `code`, and returns its message. */
export function assertError(frame: Frame, code: Code): string {
  assert.equal(frame.type, T.Error, `expected ERROR, got frame type ${frame.type}`);
  const reason = reasonOf(frame);
  assert.equal(reason.code, code, `expected code ${code}, got ${reason.code}: ${reason.message}`);
  return reason.message;
}

/** Asserts `frame` is a RESPONSE whose JSON message equals `expected`. */
export function assertJsonResponse(frame: Frame, expected: unknown): void {
  assert.equal(
    frame.type,
    T.Response,
    `expected RESPONSE, got type ${frame.type}${frame.type === T.Error ? `: ${reasonOf(frame).message}` : ""}`,
  );
  assert.equal(frame.flags & F.Metadata, 0);
  assert.deepEqual(JSON.parse(text.decode(frame.payload)), expected);
}

/** A call that must succeed on `peer`'s connection, proving the connection is still usable. */
export async function assertUsable(peer: RawPeer, id: number): Promise<void> {
  peer.send(request({ id, name: "Arith/add", message: '{"a":1,"b":2}' }));
  assertJsonResponse(await peer.reply(id), 3);
  assert.equal(peer.closed, false);
}
