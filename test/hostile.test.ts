/**
 * Hostile input against a real farcall server over TCP: raw bytes in, decoded frames out.
 * Every case asserts "fails fast, closes or errors clearly, does not hang, keeps serving others".
 * Every wait has a timeout, so a server that hangs fails the test instead of stalling the run.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Arith } from "../examples/demo/services.js";
import { Code, createClient } from "../src/index.js";
import { stillServes } from "./fixtures.js";
import {
  assertError,
  assertJsonResponse,
  assertUsable,
  codecId,
  frame,
  magic,
  metadataBlock,
  preface,
  RawPeer,
  rawExchange,
  reasonOf,
  request,
  startServer,
} from "./hostile-peer.js";
import { F, T } from "./raw-farcall.js";

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
