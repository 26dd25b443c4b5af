// A raw farcall client written from docs/protocol.md: it sends exactly the bytes a test lays out,
// in the writes the test chooses, and hands every frame it reads to the test as it arrives, so a
// stream of millions of frames is counted without being kept.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";

import { F, type Frame, frame, T } from "./raw-farcall.js";

// The wire constants and the frame builder are raw-farcall's; a frame's payload handed to
// `onFrame` here is valid only during the call: copy what must outlive it.
export { F, type Frame, frame, T };

export interface RequestOptions {
  id: number;
  methodId: number;
  /** Binds `methodId` to this name (NAME flag). */
  name?: string;
  timeoutMs?: number;
  /** Extra flags: ONEWAY, RESPONSE_STREAM… */
  flags?: number;
  /** JSON text of the message. */
  json?: string;
}

/** A REQUEST frame (§4.1): method id, [name], [timeout], message. */
export function request(o: RequestOptions): Buffer {
  let flags = o.flags ?? 0;
  const parts: Buffer[] = [Buffer.from([o.methodId >> 8, o.methodId & 0xff])];
  if (o.name !== undefined) {
    flags |= F.Name;
    const name = Buffer.from(o.name, "utf8");
    parts.push(Buffer.from([name.length >> 8, name.length & 0xff]), name);
  }
  if (o.timeoutMs !== undefined) {
    flags |= F.Deadline;
    const b = Buffer.alloc(4);
    b.writeUInt32BE(o.timeoutMs);
    parts.push(b);
  }
  if (o.json !== undefined) parts.push(Buffer.from(o.json, "utf8"));
  return frame(T.Request, flags, o.id, Buffer.concat(parts));
}

/** A CANCEL frame (§4.4): empty (canceled) or one code byte. */
export function cancel(id: number, code?: number): Buffer {
  return frame(T.Cancel, 0, id, code === undefined ? undefined : Uint8Array.of(code));
}

/** The code and message of an ERROR payload (§4.3). */
export function errorOf(payload: Buffer): { code: number; message: string } {
  const len = payload.readUInt16BE(1);
  return { code: payload.readUInt8(0), message: payload.subarray(3, 3 + len).toString("utf8") };
}

/**
 * The client's side of one connection, JSON codec. `onFrame` sees every frame after the server's
 * preface, in order; waits take a timeout and reject with what was seen, so a bug fails the test
 * instead of stalling it.
 */
export class FarcallPeer {
  onFrame: (f: Frame) => void = () => {};
  prefaceSeen = false;
  settingsSeen = false;
  /** The server's SETTINGS, key to value (§4.8). */
  readonly settings = new Map<number, number>();
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private readonly wakers = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.parse();
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  /**
   * Connects to `port`, sends the preface and SETTINGS announcing `streamWindowBytes` as this
   * side's window (§4.8 key 4), and waits for the server's SETTINGS. The socket is destroyed by
   * `cleanups` after the test.
   */
  static async open(port: number, cleanups: (() => unknown)[], streamWindowBytes: number): Promise<FarcallPeer> {
    const socket = connect({ host: "127.0.0.1", port, noDelay: true });
    cleanups.push(() => socket.destroy());
    const peer = new FarcallPeer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(4, 0);
    settings.writeUInt32BE(streamWindowBytes, 2);
    peer.send(Buffer.from([0x7f, 0x46, 0x41, 0x52, 1, 1, 0, 0]), frame(0x0b, 0, 0, settings));
    await peer.until(() => peer.settingsSeen, 2_000, "the server's SETTINGS");
    return peer;
  }

  /** Writes all `parts` as one chunk, in one write. */
  send(...parts: Uint8Array[]): void {
    this.socket.write(Buffer.concat(parts));
  }

  /** Resolves once `ready()` holds (checked after every read); rejects after `timeoutMs`. */
  until(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (ready()) finish();
        else if (this.closed) finish(new Error(`connection closed while waiting for ${what}`));
      };
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.wakers.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      this.wakers.add(check);
    });
  }

  private parse(): void {
    let at = 0;
    const buf = this.buf;
    if (!this.prefaceSeen) {
      if (buf.length < 8) return;
      assert.deepEqual([...buf.subarray(0, 6)], [0x7f, 0x46, 0x41, 0x52, 1, 1], "server preface");
      this.prefaceSeen = true;
      at = 8;
    }
    while (buf.length - at >= 10) {
      const len = buf.readUInt32BE(at);
      if (buf.length - at < 10 + len) break;
      const type = buf[at + 4] as number;
      // Built field by field: an object spread here cost ~3 µs a frame, which made this peer,
      // not the server, the bottleneck of a 2,000,000-item stream.
      const f: Frame = {
        type,
        flags: buf[at + 5] as number,
        id: buf.readUInt32BE(at + 6),
        payload: buf.subarray(at + 10, at + 10 + len),
      };
      at += 10 + len;
      if (type === 0x0b) {
        this.settingsSeen = true;
        for (let i = 0; i + 6 <= f.payload.length; i += 6)
          this.settings.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
      } else this.onFrame(f);
    }
    // Keep only the unparsed tail (a copy, so the big chunk it came from can go).
    this.buf = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }
}
