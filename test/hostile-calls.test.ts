/**
 * Hostile input against a real farcall server over TCP, part two: bad messages, call and method
 * ids, and a hostile server against the real client (hostile.test.ts has framing, the preface and
 * prototype pollution; the raw peer is hostile-peer.ts).
 */
import assert from "node:assert/strict";
import { createServer as createNetServer, type Socket } from "node:net";
import { describe, test } from "node:test";
import { Arith } from "../examples/demo/services.js";
import { type ClientOptions, Code, createClient, type RetryDecision } from "../src/index.js";
import { stillServes } from "./fixtures.js";
import {
  assertError,
  assertJsonResponse,
  assertUsable,
  codecId,
  frame,
  metadataBlock,
  opened,
  preface,
  RawPeer,
  reasonOf,
  request,
  startServer,
} from "./hostile-peer.js";
import { F, T } from "./raw-farcall.js";

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
