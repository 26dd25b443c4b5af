// A raw farcall peer for tests that pin bytes: frames are built by hand from docs/protocol.md and
// what the server sends is kept both as bytes and as parsed frames. Every wait has a timeout.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";

// Wire constants, written out here on purpose: the tests pin the bytes, not the implementation's names.
export const T = {
  Request: 1,
  Response: 2,
  Error: 3,
  Cancel: 4,
  Data: 5,
  End: 6,
  Window: 7,
  Ping: 8,
  Pong: 9,
  GoAway: 10,
  Settings: 11,
} as const;
export const F = { Name: 0x01, Deadline: 0x02, Metadata: 0x04, Oneway: 0x08, Stream: 0x10, ResponseStream: 0x20 };
export const K = { MaxMessageBytes: 1, MaxMetadataBytes: 2, MaxInflight: 3, StreamWindowBytes: 4 } as const;

export interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, id: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt8(type, 4);
  head.writeUInt8(flags, 5);
  head.writeUInt32BE(id, 6);
  return Buffer.concat([head, payload]);
}

export function preface(codec = 1, version = 1): Buffer {
  return Buffer.from([0x7f, 0x46, 0x41, 0x52, version, codec, 0, 0]);
}

export function settings(entries: [key: number, value: number][]): Buffer {
  const b = Buffer.alloc(entries.length * 6);
  entries.forEach(([key, value], i) => {
    b.writeUInt16BE(key, i * 6);
    b.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(T.Settings, 0, 0, b);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A REQUEST with method id 0 and the NAME flag; `message` is JSON text (none for a STREAM request). */
export function request(id: number, name: string, message?: string, flags = 0, timeoutMs?: number): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0, 0);
  head.writeUInt16BE(nameBytes.length, 2);
  const parts: Uint8Array[] = [head, nameBytes];
  if (timeoutMs !== undefined) parts.push(u32(timeoutMs));
  if (message !== undefined) parts.push(Buffer.from(message, "utf8"));
  return frame(T.Request, flags | F.Name | (timeoutMs === undefined ? 0 : F.Deadline), id, Buffer.concat(parts));
}

export function data(id: number, message: string): Buffer {
  return frame(T.Data, 0, id, Buffer.from(message, "utf8"));
}

export function goAway(code: number, message: string): Buffer {
  const text = Buffer.from(message, "utf8");
  const head = Buffer.from([code, 0, 0]);
  head.writeUInt16BE(text.length, 1);
  return frame(T.GoAway, 0, 0, Buffer.concat([head, text]));
}

export function ping(seq: number): Buffer {
  return frame(T.Ping, 0, 0, Buffer.concat([u32(0), u32(seq)]));
}

/** The code and message of an ERROR or GOAWAY payload. */
export function reasonOf(f: Frame): { code: number; message: string } {
  const p = f.payload;
  assert.ok(p.length >= 3, `payload of ${p.length} bytes is too short for code + message length`);
  const len = p.readUInt16BE(1);
  assert.ok(3 + len <= p.length, "message length runs past the payload");
  return { code: p.readUInt8(0), message: p.subarray(3, 3 + len).toString("utf8") };
}

/** A frame in a short readable form: `DATA 1 "abc"`, `ERROR 1 8 reply size…`, `GOAWAY 0 13 protocol error…`. */
export function show(f: Frame): string {
  const name =
    Object.entries(T)
      .find(([, v]) => v === f.type)?.[0]
      .toUpperCase() ?? `type${f.type}`;
  if (f.type === T.Error || f.type === T.GoAway) {
    const { code, message } = reasonOf(f);
    return `${name} ${f.id} ${code} ${message}`;
  }
  if (f.type === T.Response || f.type === T.Data) return `${name} ${f.id} ${f.payload.toString("utf8")}`;
  return `${name} ${f.id}${f.payload.length > 0 ? ` ${f.payload.toString("hex")}` : ""}`;
}

/**
 * A TCP connection that records what the server sends: `bytes` (everything), `preface` and
 * `frames` (parsed when the server speaks farcall), `ended` (the server's FIN) and `closed`.
 */
export class RawPeer {
  bytes: Buffer = Buffer.alloc(0);
  preface: Buffer | undefined;
  readonly frames: Frame[] = [];
  ended = false;
  closed = false;
  private parsed = 0;
  private readonly wakers = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, chunk]);
      this.parse();
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects to a loopback port; the socket is destroyed by `cleanups` after the test. */
  static open(port: number, cleanups: (() => unknown)[]): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, noDelay: true, allowHalfOpen: true });
      const peer = new RawPeer(socket);
      cleanups.push(() => socket.destroy());
      socket.once("connect", () => resolve(peer));
      socket.once("error", reject);
    });
  }

  /** Connects and sends the preface (JSON codec) and a SETTINGS frame with `entries`. */
  static async handshake(
    port: number,
    cleanups: (() => unknown)[],
    entries: [number, number][] = [],
  ): Promise<RawPeer> {
    const peer = await RawPeer.open(port, cleanups);
    await peer.send(preface(), settings(entries));
    await peer.waitFor(() => peer.frames.some((f) => f.type === T.Settings), 2_000, "the server's SETTINGS");
    return peer;
  }

  /** Writes the parts in one write and waits until they were handed to the kernel. */
  send(...parts: Uint8Array[]): Promise<void> {
    return new Promise((resolve) => this.socket.write(Buffer.concat(parts), () => resolve()));
  }

  /** The frames (other than SETTINGS) of call `id`, or of every call, in a readable form. */
  shown(id?: number): string[] {
    return this.frames.filter((f) => f.type !== T.Settings && (id === undefined || f.id === id)).map(show);
  }

  /** Resolves once `ready()` holds; rejects with what arrived when `timeoutMs` passes or the server closes first. */
  waitFor(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (ready()) finish();
        else if (this.closed) finish(new Error(`closed while waiting for ${what}; got ${this.describe()}`));
      };
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.wakers.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new Error(`no ${what} within ${timeoutMs} ms; got ${this.describe()}`)),
        timeoutMs,
      );
      this.wakers.add(check);
    });
  }

  /** Waits for `n` frames (SETTINGS included) in all. */
  frameCount(n: number, timeoutMs = 2_000): Promise<void> {
    return this.waitFor(() => this.frames.length >= n, timeoutMs, `${n} frames`);
  }

  /** Waits for the server's FIN. */
  whenEnded(timeoutMs = 2_000): Promise<void> {
    return this.waitFor(() => this.ended, timeoutMs, "the server to end the connection");
  }

  private describe(): string {
    const head = this.preface === undefined ? this.bytes.subarray(0, 200).toString("hex") : this.shown().join(" | ");
    return `${head}${this.ended ? " (ended)" : ""}`;
  }

  private parse(): void {
    if (this.preface === undefined) {
      if (this.bytes.length < 8 || this.bytes[0] !== 0x7f) return;
      this.preface = this.bytes.subarray(0, 8);
      this.parsed = 8;
    }
    for (;;) {
      const rest = this.bytes.length - this.parsed;
      if (rest < 10) return;
      const at = this.parsed;
      const len = this.bytes.readUInt32BE(at);
      if (rest < 10 + len) return;
      this.frames.push({
        type: this.bytes.readUInt8(at + 4),
        flags: this.bytes.readUInt8(at + 5),
        id: this.bytes.readUInt32BE(at + 6),
        payload: Buffer.from(this.bytes.subarray(at + 10, at + 10 + len)),
      });
      this.parsed = at + 10 + len;
    }
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }
}
