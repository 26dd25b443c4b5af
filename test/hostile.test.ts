/**
 * Hostile input against a real farcall server over TCP: raw bytes in, decoded frames out.
 * Every case asserts "fails fast, closes or errors clearly, does not hang, keeps serving others".
 * Every wait has a timeout, so a server that hangs fails the test instead of stalling the run.
 */
import assert from "node:assert/strict";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { describe, test } from "node:test";
import { Arith, arithImpl } from "../examples/demo/services.js";
import {
  type ClientOptions,
  Code,
  createClient,
  createServer,
  type RetryDecision,
  type Server,
  type ServerOptions,
} from "../src/index.js";
import { stillServes } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { LinePeer } from "./line-peer.js";
import { F, T } from "./raw-farcall.js";

// Wire constants (T, F) are raw-farcall's: written out there on purpose, the tests pin the bytes.
const codecId = { json: 1, msgpack: 2 } as const;
const magic = [0x7f, 0x46, 0x41, 0x52];

const utf8 = new TextEncoder();
const text = new TextDecoder();

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** A decoded ERROR or GOAWAY payload: u8 code, u16 length, message. */
interface Reason {
  code: number;
  message: string;
}

function reasonOf(frame: Frame): Reason {
  const p = frame.payload;
  assert.ok(p.length >= 3, `payload of ${p.length} bytes is too short for code + message length`);
  const len = p.readUInt16BE(1);
  assert.ok(3 + len <= p.length, "message length runs past the payload");
  return { code: p.readUInt8(0), message: p.subarray(3, 3 + len).toString("utf8") };
}

function preface(codec: number, version = 1): Buffer {
  return Buffer.from([...magic, version, codec, 0, 0]);
}

function frame(type: number, flags: number, id: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt8(type, 4);
  head.writeUInt8(flags, 5);
  head.writeUInt32BE(id, 6);
  return Buffer.concat([head, payload]);
}

interface RequestOptions {
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

function request(o: RequestOptions): Buffer {
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
function metadataBlock(key: string, valueBytes: number): Buffer {
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
class RawPeer {
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
const opened = trackCleanups();

async function startServer(
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
function rawExchange(address: string, text: string): Promise<string> {
  return LinePeer.exchange(Number(new URL(address).port), text, opened, 5_000);
}

/** Asserts `frame` is an ERROR with `code`, and returns its message. */
function assertError(frame: Frame, code: Code): string {
  assert.equal(frame.type, T.Error, `expected ERROR, got frame type ${frame.type}`);
  const reason = reasonOf(frame);
  assert.equal(reason.code, code, `expected code ${code}, got ${reason.code}: ${reason.message}`);
  return reason.message;
}

/** Asserts `frame` is a RESPONSE whose JSON message equals `expected`. */
function assertJsonResponse(frame: Frame, expected: unknown): void {
  assert.equal(
    frame.type,
    T.Response,
    `expected RESPONSE, got type ${frame.type}${frame.type === T.Error ? `: ${reasonOf(frame).message}` : ""}`,
  );
  assert.equal(frame.flags & F.Metadata, 0);
  assert.deepEqual(JSON.parse(text.decode(frame.payload)), expected);
}

/** A call that must succeed on `peer`'s connection, proving the connection is still usable. */
async function assertUsable(peer: RawPeer, id: number): Promise<void> {
  peer.send(request({ id, name: "Arith/add", message: '{"a":1,"b":2}' }));
  assertJsonResponse(await peer.reply(id), 3);
  assert.equal(peer.closed, false);
}

describe("framing", () => {
  test("length prefix 0xFFFFFFFF: GOAWAY resource_exhausted and close, without allocating", async () => {
    const { address } = await startServer();
    const before = process.memoryUsage().arrayBuffers;
    const peer = await RawPeer.handshake(address);
    const started = Date.now();
    peer.send(Buffer.from([0xff, 0xff, 0xff, 0xff, T.Request, F.Name, 0, 0, 0, 1, 0, 0]));
    const goAway = reasonOf(await peer.goAway(1_000));
    assert.equal(goAway.code, Code.ResourceExhausted);
    assert.match(goAway.message, /4294967295/);
    await peer.whenClosed(1_000);
    assert.ok(Date.now() - started < 1_000, "close was not prompt");
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 64 * 1024 * 1024, `arrayBuffers grew by ${grown} bytes`);
    await stillServes(address);
  });

  test("length prefix 0xFFFFFFFF with the header split across writes is refused the same way", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    await peer.trickle(Buffer.from([0xff, 0xff, 0xff, 0xff, T.Request, 0, 0, 0, 0, 1]));
    assert.equal(reasonOf(await peer.goAway()).code, Code.ResourceExhausted);
    await peer.whenClosed();
  });

  test("truncated frame then the client closes: no crash, others still served", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    const whole = request({ id: 1, name: "Arith/add", message: '{"a":1,"b":2}' });
    peer.send(whole.subarray(0, whole.length - 5));
    await peer.next((f) => f.type === T.Settings);
    peer.socket.end();
    await peer.whenClosed();
    assert.equal(peer.frames.length, 0, "no reply to a frame that never completed");
    await stillServes(address);
  });

  test("truncated header then the client closes: no crash, others still served", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(Buffer.from([0, 0, 0, 9, T.Request]));
    await peer.serverPreface();
    peer.destroy();
    await peer.whenClosed();
    await stillServes(address);
  });

  test("unknown frame type 0x7E: GOAWAY then close", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(frame(0x7e, 0, 1, Buffer.from("hi")));
    const goAway = reasonOf(await peer.goAway());
    assert.match(goAway.message, /unknown frame type 0x7e/);
    await peer.whenClosed();
    await stillServes(address);
  });

  test("frames split one byte per write still get correct replies", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.open(address);
    const bytes = Buffer.concat([
      preface(codecId.json),
      request({ id: 1, methodId: 1, name: "Arith/add", message: '{"a":2,"b":3}' }),
      request({ id: 3, methodId: 1, message: '{"a":10,"b":-4}' }),
      request({
        id: 5,
        name: "Arith/multiply",
        timeoutMs: 5_000,
        metadata: metadataBlock("x-k", 3),
        message: '{"a":6,"b":7}',
      }),
    ]);
    await peer.trickle(bytes);
    assert.deepEqual([...(await peer.serverPreface())], [...magic, 1, codecId.json, 0, 0]);
    assertJsonResponse(await peer.reply(1), 5);
    assertJsonResponse(await peer.reply(3), 6);
    assertJsonResponse(await peer.reply(5), 42);
  });

  test("REQUEST on call id 0: connection error", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 0, name: "Arith/add", message: '{"a":1,"b":2}' }));
    assert.match(reasonOf(await peer.goAway()).message, /id 0/);
    await peer.whenClosed();
  });

  test("PING with a wrong size: connection error, not a PONG", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(frame(T.Ping, 0, 0, Buffer.alloc(3)));
    await peer.goAway();
    await peer.whenClosed();
    assert.equal(
      peer.frames.some((f) => f.type === T.Pong),
      false,
    );
  });

  test("SETTINGS with a value of 0: connection error", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    const payload = Buffer.alloc(6);
    payload.writeUInt16BE(1, 0);
    peer.send(frame(T.Settings, 0, 0, payload));
    await peer.goAway();
    await peer.whenClosed();
  });

  test("client sends a server frame (RESPONSE): connection error", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(frame(T.Response, 0, 7, Buffer.from("3")));
    await peer.goAway();
    await peer.whenClosed();
  });
});

describe("preface", () => {
  test("wrong protocol version: our preface (version 1), GOAWAY naming both versions, close", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.open(address);
    peer.send(preface(codecId.json, 2));
    const theirs = await peer.serverPreface();
    assert.deepEqual([...theirs.subarray(0, 5)], [...magic, 1]);
    const goAway = reasonOf(await peer.goAway());
    assert.equal(goAway.code, Code.Unimplemented);
    assert.match(goAway.message, /version 2/);
    assert.match(goAway.message, /version 1/);
    await peer.whenClosed();
    await stillServes(address);
  });

  test("unsupported codec id 9: GOAWAY naming the supported codecs, close", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.open(address);
    peer.send(preface(9));
    await peer.serverPreface();
    const goAway = reasonOf(await peer.goAway());
    assert.equal(goAway.code, Code.Unimplemented);
    assert.match(goAway.message, /codec 9/);
    assert.match(goAway.message, /json/);
    assert.match(goAway.message, /msgpack/);
    await peer.whenClosed();
  });

  test("right first byte, wrong magic after it: closed, server still serves others", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.open(address);
    // The sniffer sees one byte or more at once; either way the connection must end (a GOAWAY first is fine).
    await peer.trickle(Buffer.from([0x7f, 0x58, 0x58, 0x58, 1, 1, 0, 0]));
    await peer.whenClosed();
    assert.equal(
      peer.frames.some((f) => f.type !== T.GoAway && f.type !== T.Settings),
      false,
    );
    await stillServes(address);
  });

  test("not farcall at all (HTTP request): answered as HTTP, server still serves others", async () => {
    const { address } = await startServer();
    const reply = await rawExchange(address, "GET /no/such/path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 404 /, "an HTTP client gets an HTTP answer");
    await stillServes(address);
  });

  test("a first byte no protocol starts with: a one-line text error, then closed", async () => {
    const { address } = await startServer();
    for (const first of ["\u0001\u0002", "hello", `${" ".repeat(65)}{}`]) {
      const reply = await rawExchange(address, first);
      assert.match(reply, /^farcall: unrecognised protocol \(.+\)\n$/, JSON.stringify(first));
    }
    await stillServes(address);
  });

  test("a client that sends nothing is closed by the handshake timeout", async () => {
    const { address } = await startServer({ handshakeTimeoutMs: 200 });
    const peer = await RawPeer.open(address);
    const started = Date.now();
    await peer.whenClosed(2_000);
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 1_500, `closed after ${took} ms`);
    await stillServes(address);
  });

  test("a client that stalls halfway through the preface is closed by the handshake timeout", async () => {
    const { address } = await startServer({ handshakeTimeoutMs: 200 });
    const peer = await RawPeer.open(address);
    peer.send(Buffer.from([0x7f, 0x46]));
    await peer.whenClosed(2_000);
  });
});

describe("prototype pollution", () => {
  for (const [label, message] of [
    [
      "__proto__ key in a JSON message: invalid_argument, no pollution, connection usable",
      '{"__proto__":{"polluted":1},"a":1,"b":2}',
    ],
    [
      "__proto__ key nested in a JSON message: invalid_argument",
      '{"a":1,"b":2,"c":[{"d":{"__proto__":{"polluted":1}}}]}',
    ],
    // JSON.parse turns \u005f into "_", so this is the key __proto__ once decoded.
    [
      "__proto__ key spelled with JSON escapes: invalid_argument, like the plain spelling",
      '{"\\u005f_proto__":{"polluted":1},"a":1,"b":2}',
    ],
  ] as const) {
    test(label, async () => {
      const { address } = await startServer();
      const peer = await RawPeer.handshake(address, codecId.json);
      peer.send(request({ id: 1, name: "Arith/add", message }));
      assert.match(assertError(await peer.reply(1), Code.InvalidArgument), /__proto__/);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      await assertUsable(peer, 3);
    });
  }

  test("__proto__ key in a msgpack message: invalid_argument, no pollution, connection usable", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address, codecId.msgpack);
    const fixstr = (s: string) => Buffer.concat([Buffer.from([0xa0 | s.length]), Buffer.from(s)]);
    // {"__proto__": {"polluted": 1}, "a": 1, "b": 2}
    const message = Buffer.concat([
      Buffer.from([0x83]),
      fixstr("__proto__"),
      Buffer.from([0x81]),
      fixstr("polluted"),
      Buffer.from([0x01]),
      fixstr("a"),
      Buffer.from([0x01]),
      fixstr("b"),
      Buffer.from([0x02]),
    ]);
    peer.send(request({ id: 1, name: "Arith/add", message }));
    assert.match(assertError(await peer.reply(1), Code.InvalidArgument), /__proto__/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // {"a": 1, "b": 2}
    peer.send(request({ id: 3, name: "Arith/add", message: Buffer.from([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0x02]) }));
    const ok = await peer.reply(3);
    assert.equal(ok.type, T.Response);
    assert.deepEqual([...ok.payload], [0x03]);
  });

  test("__proto__ key sent through the real client API: invalid_argument", async () => {
    const { address } = await startServer();
    for (const codec of ["json", "msgpack"] as const) {
      const client = createClient(address, { codec });
      try {
        const input = JSON.parse('{"__proto__":{"polluted":1},"a":1,"b":2}') as { a: number; b: number };
        await assert.rejects(client.service(Arith).add(input, { timeoutMs: 2_000 }), { code: Code.InvalidArgument });
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal(await client.service(Arith).add({ a: 1, b: 2 }, { timeoutMs: 2_000 }), 3);
      } finally {
        await client.close();
      }
    }
  });

  for (const name of [
    "Arith/constructor",
    "Arith/__proto__",
    "Arith/toString",
    "Object/prototype",
    "constructor/constructor",
  ]) {
    test(`method name ${name}: unimplemented, no crash`, async () => {
      const { address } = await startServer();
      const peer = await RawPeer.handshake(address);
      peer.send(request({ id: 1, name, message: '{"a":1,"b":2}' }));
      assertError(await peer.reply(1), Code.Unimplemented);
      await assertUsable(peer, 3);
    });
  }

  test("net/rpc-style register: only the object's own methods are callable", async () => {
    const { address } = await startServer({}, (s) =>
      s.register(
        "Obj",
        new (class {
          hello(x: string) {
            return x;
          }
        })(),
      ),
    );
    const peer = await RawPeer.handshake(address);
    const names = ["Obj/constructor", "Obj/hasOwnProperty", "Obj/__defineGetter__", "Obj/__proto__", "Obj/valueOf"];
    for (const [i, name] of names.entries()) peer.send(request({ id: 2 * i + 1, name, message: '"x"' }));
    for (let i = 0; i < names.length; i++) assertError(await peer.reply(2 * i + 1), Code.Unimplemented);
    peer.send(request({ id: 101, name: "Obj/hello", message: '"hi"' }));
    assertJsonResponse(await peer.reply(101), "hi");
  });

  test("net/rpc-style register through the proxy client: toLocaleString is unimplemented, hello works", async () => {
    const { address } = await startServer({}, (s) =>
      s.register(
        "Obj",
        new (class {
          hello(x: string) {
            return x;
          }
        })(),
      ),
    );
    const client = createClient(address, { codec: "json" });
    try {
      // toLocaleString lives on Object.prototype; the proxy answers it with a call to Obj/toLocaleString.
      const obj = client.proxy<{ hello(x: string): string; toLocaleString(x: string): string }>("Obj");
      assert.equal(await obj.hello("hi"), "hi");
      await assert.rejects(obj.toLocaleString("x"), { code: Code.Unimplemented });
    } finally {
      await client.close();
    }
  });
});

describe("bad messages fail only their call", () => {
  test("bad JSON: invalid_argument, the next call on the connection works", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/add", message: '{"a":1,"b":' }));
    assertError(await peer.reply(1), Code.InvalidArgument);
    await assertUsable(peer, 3);
  });

  test("invalid UTF-8 in a JSON message: invalid_argument", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/add", message: Buffer.from([0x22, 0xc3, 0x28, 0x22]) }));
    assertError(await peer.reply(1), Code.InvalidArgument);
    await assertUsable(peer, 3);
  });

  test("malformed msgpack (count beyond the bytes): invalid_argument", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address, codecId.msgpack);
    // array32 declaring 4,294,967,295 elements, with none present.
    peer.send(request({ id: 1, name: "Arith/add", message: Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]) }));
    assertError(await peer.reply(1), Code.InvalidArgument);
    peer.send(request({ id: 3, name: "Arith/add", message: Buffer.from([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0x02]) }));
    assert.equal((await peer.reply(3)).type, T.Response);
  });

  test("JSON nested 10,000 deep: invalid_argument, no stack overflow", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/add", message: "[".repeat(10_000) + "]".repeat(10_000) }));
    assert.match(assertError(await peer.reply(1), Code.InvalidArgument), /maxDepth/);
    peer.send(request({ id: 3, name: "Arith/add", message: "[".repeat(10_000) }));
    assertError(await peer.reply(3), Code.InvalidArgument);
    await assertUsable(peer, 5);
  });

  test("msgpack nested 10,000 deep: invalid_argument, no stack overflow", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address, codecId.msgpack);
    const message = Buffer.concat([Buffer.alloc(10_000, 0x91), Buffer.from([0x01])]);
    peer.send(request({ id: 1, name: "Arith/add", message }));
    assert.match(assertError(await peer.reply(1), Code.InvalidArgument), /maxDepth/);
    peer.send(request({ id: 3, name: "Arith/add", message: Buffer.from([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0x02]) }));
    assert.equal((await peer.reply(3)).type, T.Response);
  });

  test("metadata block over 8 KiB: resource_exhausted, connection survives", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/add", metadata: metadataBlock("x-big", 9_000), message: '{"a":1,"b":2}' }));
    assertError(await peer.reply(1), Code.ResourceExhausted);
    await assertUsable(peer, 3);
  });

  test("metadata length declaring 65535 bytes with none present: resource_exhausted, connection survives", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/add", metadata: new Uint8Array(0), metadataLength: 0xffff }));
    assertError(await peer.reply(1), Code.ResourceExhausted);
    await assertUsable(peer, 3);
  });

  test("metadata key outside 0-9 a-z _ . -: invalid_argument, connection survives", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/add", metadata: metadataBlock("Bad Key", 1), message: '{"a":1,"b":2}' }));
    assertError(await peer.reply(1), Code.InvalidArgument);
    await assertUsable(peer, 3);
  });

  test("deadline 0xFFFFFFFF ms means no deadline, not an instant deadline_exceeded", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/sleep", timeoutMs: 0xffff_ffff, message: '{"ms":50}' }));
    assertJsonResponse(await peer.reply(1), "slept 50 ms");
  });
});

describe("call ids and method ids", () => {
  test("REQUEST with a method id never bound and no NAME: GOAWAY, close", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, methodId: 77, message: '{"a":1,"b":2}' }));
    const goAway = reasonOf(await peer.goAway());
    assert.match(goAway.message, /method id 77 was never bound/);
    await peer.whenClosed();
    await stillServes(address);
  });

  test("REQUEST with method id 0 and no NAME: GOAWAY, close", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, methodId: 0, message: '{"a":1,"b":2}' }));
    await peer.goAway();
    await peer.whenClosed();
  });

  test("REQUEST with a method id over the limit: GOAWAY, close", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, methodId: 0xffff, name: "Arith/add", message: '{"a":1,"b":2}' }));
    await peer.goAway();
    await peer.whenClosed();
  });

  test("REQUEST with a method name of 0xFFFF bytes: GOAWAY, close", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    const payload = Buffer.from([0, 1, 0xff, 0xff, 0x41]);
    peer.send(frame(T.Request, F.Name, 1, payload));
    await peer.goAway();
    await peer.whenClosed();
  });

  test("REQUEST reusing an id still in flight: GOAWAY, close, the first call is dropped", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/sleep", message: '{"ms":500}' }));
    peer.send(request({ id: 1, name: "Arith/sleep", message: '{"ms":500}' }));
    const goAway = reasonOf(await peer.goAway());
    assert.match(goAway.message, /reuses call id 1/);
    await peer.whenClosed(1_000);
    await stillServes(address);
  });

  test("REQUEST reusing an id after its reply: allowed", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    await assertUsable(peer, 1);
    await assertUsable(peer, 1);
  });

  test("CANCEL, DATA and END for an unknown call: ignored, connection usable", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(frame(T.Cancel, 0, 99));
    peer.send(frame(T.Data, 0, 99, Buffer.from("1")));
    peer.send(frame(T.End, 0, 99));
    await assertUsable(peer, 1);
  });

  test("unary method called as a stream: unimplemented, connection usable", async () => {
    const { address } = await startServer();
    const peer = await RawPeer.handshake(address);
    peer.send(request({ id: 1, name: "Arith/add", flags: F.Stream }));
    assertError(await peer.reply(1), Code.Unimplemented);
    await assertUsable(peer, 3);
  });
});

describe("hostile server, real client", () => {
  /** A TCP server that answers each connection's first bytes with `answer`. Returns its address. */
  async function fakeServer(answer: (socket: Socket, first: Buffer) => void): Promise<string> {
    const sockets = new Set<Socket>();
    const server = createNetServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      socket.once("data", (first: Buffer) => answer(socket, first));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    opened.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    );
    const bound = server.address();
    assert.ok(typeof bound === "object" && bound !== null);
    return `tcp://127.0.0.1:${bound.port}`;
  }

  async function callFails(
    address: string,
    options: ClientOptions = {},
  ): Promise<{ code: Code; message: string; ms: number }> {
    const client = createClient(address, { codec: "json", connectTimeoutMs: 1_000, ...options });
    opened.push(() => client.close());
    const started = Date.now();
    try {
      await client.service(Arith).add({ a: 1, b: 2 }, { timeoutMs: 3_000 });
    } catch (err) {
      const e = err as { code: Code; message: string };
      return { code: e.code, message: e.message, ms: Date.now() - started };
    }
    assert.fail("the call succeeded against a hostile server");
  }

  for (const [what, retryPolicy, expected] of [
    ["the default policy sends a refused call once more, then it fails", undefined, 2],
    ["a policy that declines lets the refusal through at once", () => false, 1],
    ["a policy may allow more attempts, and is asked with the count", (d: RetryDecision) => d.attempt < 3, 3],
  ] as const) {
    test(`a server that is always draining: ${what}`, async () => {
      let requests = 0;
      const reason = (code: number, message: string) => {
        const m = Buffer.from(message);
        const b = Buffer.alloc(3);
        b.writeUInt8(code, 0);
        b.writeUInt16BE(m.length, 1);
        return Buffer.concat([b, m]);
      };
      const address = await fakeServer((socket, first) => {
        socket.write(preface(codecId.json));
        // Every REQUEST is refused unprocessed after a GOAWAY, as by a server shutting down.
        let seen = first.subarray(8);
        const onData = (chunk: Buffer) => {
          seen = Buffer.concat([seen, chunk]);
          while (seen.length >= 10 && seen.length >= 10 + seen.readUInt32BE(0)) {
            const length = seen.readUInt32BE(0);
            if (seen.readUInt8(4) === T.Request) {
              requests++;
              socket.write(frame(T.GoAway, 0, 0, reason(Code.Unavailable, "shutting down")));
              socket.write(frame(T.Error, 0x20, seen.readUInt32BE(6), reason(Code.Unavailable, "not processed")));
            }
            seen = seen.subarray(10 + length);
          }
        };
        socket.on("data", onData);
        onData(Buffer.alloc(0));
      });
      const failure = await callFails(address, { retryPolicy });
      assert.equal(failure.code, Code.Unavailable);
      assert.equal(requests, expected);
    });
  }

  test("server declares a 0xFFFFFFFF frame: the call fails fast naming the length", async () => {
    const address = await fakeServer((socket) => {
      socket.write(preface(codecId.json));
      socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, T.Response, 0, 0, 0, 0, 1]));
    });
    const before = process.memoryUsage().arrayBuffers;
    const failure = await callFails(address);
    assert.equal(failure.code, Code.Unavailable);
    assert.match(failure.message, /4294967295/);
    assert.ok(failure.ms < 1_000, `took ${failure.ms} ms`);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
  });

  test("server speaks protocol version 2: the call fails naming both versions", async () => {
    const address = await fakeServer((socket) => {
      socket.write(preface(codecId.json, 2));
    });
    const failure = await callFails(address);
    assert.match(failure.message, /version 2/);
    assert.match(failure.message, /version 1/);
    assert.ok(failure.ms < 1_000, `took ${failure.ms} ms`);
  });

  test("server that is not farcall (HTTP reply): the call fails, it does not hang", async () => {
    const address = await fakeServer((socket) => {
      socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    const failure = await callFails(address);
    assert.equal(failure.code, Code.Unavailable);
    assert.ok(failure.ms < 1_000, `took ${failure.ms} ms`);
  });

  test("server that accepts and never answers: the call ends at its deadline", async () => {
    const address = await fakeServer(() => {});
    const client = createClient(address, { codec: "json" });
    opened.push(() => client.close());
    const started = Date.now();
    await assert.rejects(client.service(Arith).add({ a: 1, b: 2 }, { timeoutMs: 200 }), {
      code: Code.DeadlineExceeded,
    });
    assert.ok(Date.now() - started < 1_000);
  });
});
