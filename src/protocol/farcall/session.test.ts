import assert from "node:assert/strict";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { describe, test } from "node:test";
import { concat } from "../../../test/bytes.js";
import { trackCleanups } from "../../../test/helpers.js";
import { Code } from "../../core/code.js";
import { defaultLimits } from "../../core/limits.js";
import type { RpcError } from "../../core/rpc-error.js";
import { SocketStream } from "../../transport/socket-stream.js";
import type { ByteStream } from "../byte-stream.js";
import { defaultFrameTimeoutMs, FrameType, headerBytes } from "./constants.js";
import { FrameReader } from "./frame-reader.js";
import { FramedSession } from "./session.js";

const cleanups = trackCleanups();

/** A session with no calls: it answers PING, and records how it ended. */
class TestSession extends FramedSession {
  ended: RpcError | undefined;
  onPreface(preface: Uint8Array): void {
    this.checkPreface(preface, "client");
  }
  /** Open calls, as a test sets them. */
  open = 0;
  idled = 0;
  get inflight(): number {
    return this.open;
  }
  protected onIdle(): void {
    this.idled++;
  }
  protected onCallFrame(): void {}
  protected onGoAway(): void {}
  protected terminate(error: RpcError): void {
    this.ended = error;
  }
}

/** A ByteStream that keeps what is written; its scheduled flushes run on the next tick. */
class MemoryStream implements ByteStream {
  readonly peer = { transport: "memory", address: "test" };
  needDrain = false;
  written: Uint8Array[] = [];
  ended = false;
  write(chunks: Uint8Array[]): void {
    this.written.push(...chunks.map((c) => c.slice()));
  }
  onDrain(cb: () => void): void {
    cb();
  }
  schedule(cb: () => void): void {
    process.nextTick(cb);
  }
  pause(): void {}
  resume(): void {}
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.ended = true;
  }
}

const preface = Uint8Array.of(0x7f, 0x46, 0x41, 0x52, 1, 1, 0, 0);

function frame(type: number, id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerBytes + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, payload.length);
  v.setUint8(4, type);
  v.setUint32(6, id);
  out.set(payload, headerBytes);
  return out;
}

const ping = frame(FrameType.Ping, 0, new Uint8Array(8));

/** The GOAWAY frames in `bytes` (which start with frames, no preface), as code and message. */
function goAways(bytes: Uint8Array): { code: number; message: string }[] {
  const out: { code: number; message: string }[] = [];
  const reader = new FrameReader(
    {
      onPreface() {},
      onFrame(type, _flags, _id, p) {
        if (type !== FrameType.GoAway) return;
        const len = new DataView(p.buffer, p.byteOffset).getUint16(1);
        out.push({ code: p[0] as number, message: new TextDecoder().decode(p.subarray(3, 3 + len)) });
      },
    },
    1 << 20,
  );
  reader.push(concat([preface, bytes]));
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits up to `ms` for `predicate`, polling every 5 ms. */
async function waitFor(predicate: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (predicate()) return true;
    await sleep(5);
  }
  return predicate();
}

/** A session on a memory stream with a `timeoutMs` frame timeout, past the preface; closed after the test. */
function open(timeoutMs: number): { session: TestSession; stream: MemoryStream } {
  const stream = new MemoryStream();
  const session = new TestSession(stream, defaultLimits, { frameTimeoutMs: timeoutMs });
  cleanups.push(() => session.onClose());
  session.onData(preface);
  return { session, stream };
}

function assertFailedForStall(session: TestSession, stream: MemoryStream, timeoutMs: number): void {
  assert.equal(stream.ended, true, "the stream was not ended");
  assert.deepEqual(goAways(concat(stream.written)), [
    { code: Code.DeadlineExceeded, message: `frame incomplete for longer than frameTimeoutMs ${timeoutMs}` },
  ]);
  assert.equal(session.ended?.code, Code.Unavailable);
  assert.match(session.ended?.message ?? "", /connection closed: frame incomplete/);
}

describe("FramedSession frame timeout", () => {
  test("defaults to 30 s", () => {
    assert.equal(defaultFrameTimeoutMs, 30_000);
    assert.equal(new TestSession(new MemoryStream(), defaultLimits).frameTimeoutMs, 30_000);
  });

  test("a header that stays incomplete fails the connection with deadline_exceeded", async () => {
    const { session, stream } = open(40);
    session.onData(ping.subarray(0, 5));
    assert.equal(stream.ended, false);
    assert.ok(await waitFor(() => stream.ended, 1_000), "not failed within 1 s");
    assertFailedForStall(session, stream, 40);
  });

  test("a body that stays incomplete fails it the same way, not before the timeout", async () => {
    const { session, stream } = open(40);
    const started = Date.now();
    session.onData(ping.subarray(0, headerBytes + 3));
    assert.ok(await waitFor(() => stream.ended, 1_000), "not failed within 1 s");
    const took = Date.now() - started;
    // No upper bound: timers fire late on a loaded machine; waitFor's 1 s catches a check that never ran.
    assert.ok(took >= 40, `failed after ${took} ms`);
    assertFailedForStall(session, stream, 40);
  });

  test("a frame completed in time, and a connection at a frame boundary, are left alone", async () => {
    const { session, stream } = open(40);
    session.onData(ping.subarray(0, 4));
    await sleep(10);
    session.onData(ping.subarray(4));
    await sleep(150);
    assert.equal(stream.ended, false);
    assert.equal(session.closed, false);
    assert.equal(goAways(concat(stream.written)).length, 0);
  });

  test("frames that each span chunks but keep completing never trip it", async () => {
    const { session, stream } = open(40);
    // 30 frames over ~300 ms, about 7 timeouts, each frame split across two chunks 10 ms apart.
    for (let i = 0; i < 30; i++) {
      session.onData(ping.subarray(0, 7));
      await sleep(5);
      session.onData(ping.subarray(7));
      session.onData(ping.subarray(0, 3));
      await sleep(5);
      session.onData(ping.subarray(3));
    }
    assert.equal(stream.ended, false);
    assert.equal(session.closed, false);
  });

  test("a stall while our own output is backed up is not counted", async () => {
    const { session, stream } = open(40);
    stream.needDrain = true;
    session.onData(ping.subarray(0, 5));
    await sleep(150);
    assert.equal(stream.ended, false, "failed while the session may have stopped reading");
    stream.needDrain = false;
    assert.ok(await waitFor(() => stream.ended, 1_000), "not failed within 1 s once output drained");
    assertFailedForStall(session, stream, 40);
  });

  test("0 turns it off: no timer is armed", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const { session, stream } = open(0);
    const before = timers();
    session.onData(ping.subarray(0, 5));
    assert.equal(timers(), before, "a timer was armed");
    await sleep(50);
    assert.equal(stream.ended, false);
  });

  test("over TCP: a peer that stops halfway through a header gets GOAWAY and is closed", async () => {
    const net = createNetServer();
    const sessions: TestSession[] = [];
    net.on("connection", (socket) => {
      const stream = new SocketStream(socket);
      const session = new TestSession(stream, defaultLimits, { frameTimeoutMs: 50 });
      sessions.push(session);
      stream.attach(session);
    });
    cleanups.push(() => new Promise((resolve) => net.close(resolve)));
    await new Promise<void>((resolve) => net.listen(0, "127.0.0.1", resolve));
    const { port } = net.address() as { port: number };
    const client: Socket = connect({ host: "127.0.0.1", port });
    cleanups.push(() => {
      client.destroy();
    });
    const received: Buffer[] = [];
    client.on("data", (b: Buffer) => received.push(b));
    const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
    client.on("error", () => {});
    client.write(concat([preface, ping.subarray(0, 6)]));
    const done = await Promise.race([closed.then(() => true), sleep(2_000).then(() => false)]);
    assert.ok(done, "the server did not close the connection within 2 s");
    assert.deepEqual(goAways(concat(received)), [
      { code: Code.DeadlineExceeded, message: "frame incomplete for longer than frameTimeoutMs 50" },
    ]);
    assert.equal(sessions[0]?.closed, true);
  });
});

/** Frame types written to `stream` so far (its bytes start with frames). */
function writtenTypes(stream: MemoryStream): number[] {
  const types: number[] = [];
  const reader = new FrameReader({ onPreface() {}, onFrame: (type) => types.push(type) }, 1 << 20);
  reader.push(concat([preface, ...stream.written]));
  return types;
}

describe("FramedSession liveness", () => {
  const liveness = (keepaliveMs: number, keepaliveTimeoutMs: number, idleTimeoutMs: number) => ({
    keepaliveMs,
    keepaliveTimeoutMs,
    idleTimeoutMs,
  });
  function live(options: ReturnType<typeof liveness>, inflight: number) {
    const stream = new MemoryStream();
    const session = new TestSession(stream, defaultLimits, { liveness: options });
    session.open = inflight;
    cleanups.push(() => session.onClose());
    session.onData(preface);
    return { session, stream };
  }

  test("with calls open and a silent peer: PING, then the connection fails when no PONG comes", async () => {
    const { session, stream } = live(liveness(40, 60, 0), 1);
    assert.ok(await waitFor(() => writtenTypes(stream).includes(FrameType.Ping), 1_000), "no PING sent");
    assert.ok(await waitFor(() => session.ended !== undefined, 1_000), "the connection was not failed");
    assert.equal(session.ended?.code, Code.Unavailable);
    assert.match(session.ended?.message ?? "", /did not answer a PING within keepaliveTimeoutMs 60/);
  });

  test("a peer that answers the PING keeps the connection", async () => {
    const { session, stream } = live(liveness(40, 60, 0), 1);
    assert.ok(await waitFor(() => writtenTypes(stream).includes(FrameType.Ping), 1_000));
    session.onData(frame(FrameType.Pong, 0, new Uint8Array(8)));
    await sleep(150);
    assert.equal(session.ended, undefined);
  });

  test("no calls open: no PING, and the idle timeout closes it", async () => {
    const { session, stream } = live(liveness(40, 60, 120), 0);
    assert.ok(await waitFor(() => session.idled > 0, 1_000), "idle timeout did not fire");
    assert.equal(writtenTypes(stream).includes(FrameType.Ping), false);
  });

  test("frames arriving are life: neither PING nor idle while the peer talks", async () => {
    const { session, stream } = live(liveness(60, 60, 60), 0);
    for (let i = 0; i < 12; i++) {
      session.onData(ping);
      await sleep(15);
    }
    assert.equal(session.idled, 0);
    assert.equal(writtenTypes(stream).includes(FrameType.Ping), false);
  });
});
