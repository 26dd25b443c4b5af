// Bad input on each protocol the server answers on one port (docs/protocols.md): JSON streams over
// TCP, HTTP, WebSocket, and the sniffing stage before any of them. Every case checks that the
// offending connection got the protocol's own error (or was closed where the protocol has none)
// and that the server still serves an ordinary farcall call afterwards. Every wait is bounded.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { builtinProtocols } from "../src/index.js";
import { http, sleep, stillServes } from "./fixtures.js";
import { LinePeer, type RpcErr } from "./line-peer.js";
import {
  addRequest,
  assertAnswers,
  assertRpcError,
  cleanups,
  json,
  limited,
  rawExchange,
  start,
  wsOpen,
} from "./multiprotocol-hostile-peer.js";

describe("sniffing stage", () => {
  const quick = { handshakeTimeoutMs: 200 };

  for (const [what, bytes] of [
    ["nothing", ""],
    ["only blanks", " \r\n\t  "],
    ["half a farcall preface", "\x7fFA"],
    ["the start of a CONNECT request", "CONN"],
  ] as const) {
    test(`a connection that sends ${what} is closed at handshakeTimeoutMs`, async () => {
      const s = await start(quick);
      const peer = await LinePeer.open(s.port, cleanups, "latin1");
      if (bytes.length > 0) await peer.send(Buffer.from(bytes, "latin1"));
      await peer.whenClosed(2_000);
      const took = peer.closedAt - peer.openedAt;
      assert.ok(took >= 150 && took < 1_500, `closed after ${took} ms`);
      assert.equal(peer.text, "");
      await stillServes(s.address);
    });
  }

  test("blanks trickled in do not restart the handshake timer", async () => {
    const s = await start(quick);
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    for (let i = 0; i < 40 && !peer.closed; i++) {
      await peer.send(" ");
      await sleep(25);
    }
    assert.ok(peer.closed, "still open after 40 blanks over about a second");
    const took = peer.closedAt - peer.openedAt;
    assert.ok(took < 800, `closed after ${took} ms`);
    await stillServes(s.address);
  });

  test("an HTTP request head that stalls is closed at handshakeTimeoutMs (HTTP's header timeout)", async () => {
    const s = await start(quick);
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    await peer.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    await peer.whenClosed(3_000);
    const took = peer.closedAt - peer.openedAt;
    assert.ok(took < 1_500, `closed after ${took} ms`);
    assert.doesNotMatch(peer.text, /^HTTP\/1\.1 200/);
    await stillServes(s.address);
  });

  test("64 leading blanks are allowed; the 65th is refused with a message and a close", async () => {
    const s = await start();
    const ok = await LinePeer.open(s.port, cleanups, "latin1");
    await ok.send(" ".repeat(64));
    await assertAnswers(ok, 1);
    const text = await rawExchange(s.port, `${" ".repeat(65)}${addRequest(2)}`);
    assert.equal(text, "farcall: unrecognised protocol (more than 64 blank bytes)\n");
    await stillServes(s.address);
  });

  test("an unknown first byte is refused with a message naming it, then closed", async () => {
    const s = await start();
    assert.equal(await rawExchange(s.port, "\x01\x02"), "farcall: unrecognised protocol (first byte 0x01)\n");
    // 00 and 80-FF may start an ONC RPC record: refused once bytes 8-11 are not CALL or REPLY.
    assert.equal(
      await rawExchange(s.port, "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07"),
      "farcall: unrecognised protocol (first byte 0x00)\n",
    );
    assert.equal(
      await rawExchange(s.port, "get / HTTP/1.1\r\n\r\n"),
      "farcall: unrecognised protocol (first byte 0x67)\n",
    );
    assert.equal(await rawExchange(s.port, "\n\x7f"), "farcall: unrecognised protocol (first byte 0x7f)\n");
    await stillServes(s.address);
  });
});

describe("JSON-RPC over TCP", () => {
  test("a balanced value that is not JSON: -32700 with id null, and the connection stays open", async () => {
    const s = await start();
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    assertRpcError(await peer.askJson('{"jsonrpc":"2.0",,"id":1}'), -32700, "invalid_argument");
    assertRpcError(await peer.askJson("[1,2,]"), -32700, "invalid_argument");
    const badUtf8 = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","x":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    await peer.send(badUtf8);
    assertRpcError(await peer.json(), -32700, "invalid_argument");
    await assertAnswers(peer, 2);
    assert.equal(peer.closed, false);
    await stillServes(s.address);
  });

  test("requests followed at once by a half-close are all answered, then the connection closes", async () => {
    const s = await start();
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    await peer.send(`${addRequest(1)}{"jsonrpc":"2.0","method":"Arith.sleep","params":{"ms":50},"id":2}`);
    peer.socket.end();
    await peer.whenClosed();
    const replies = peer.lines.map((l) => JSON.parse(l)).sort((a, b) => a.id - b.id);
    assert.deepEqual(replies, [
      { jsonrpc: "2.0", id: 1, result: 3 },
      { jsonrpc: "2.0", id: 2, result: "slept 50 ms" },
    ]);
    await stillServes(s.address);
  });

  test("an unbalanced value then half-close: -32700, then the connection closes", async () => {
    const s = await start();
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    await peer.send('{"jsonrpc":"2.0","method":"Arith.add","params":{"a":1');
    await peer.silentFor(50);
    peer.socket.end();
    assertRpcError(await peer.json(), -32700, "invalid_argument");
    await peer.whenClosed();
    await stillServes(s.address);
  });

  test("a closing bracket of the wrong kind is answered at once, then closed", async () => {
    const s = await start();
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    await peer.send('{"jsonrpc":"2.0","params":[1,2}');
    const reply = await peer.json();
    assert.equal((reply.error as RpcErr).data.code, "invalid_argument");
    assert.equal(reply.id, null);
    await peer.whenClosed();
    await stillServes(s.address);
  });

  for (const [how, writes] of [
    ["separate writes", (a: string, b: string) => [a, b]],
    ["the same write", (a: string, b: string) => [a + b]],
  ] as const) {
    test(`garbage after a request (in ${how}): the request is answered, then an error, then closed`, async () => {
      const s = await start();
      const peer = await LinePeer.open(s.port, cleanups, "latin1");
      for (const text of writes(addRequest(1), ` xyz ${addRequest(2)}`)) {
        await peer.send(text);
        await sleep(20);
      }
      await peer.whenClosed();
      const replies = peer.lines.map((l) => JSON.parse(l));
      assert.equal(replies.length, 2, `two answers: ${peer.lines.join(" | ")}`);
      assert.deepEqual(replies[0], { jsonrpc: "2.0", id: 1, result: 3 });
      assertRpcError(replies[1], -32700, "invalid_argument");
      await stillServes(s.address);
    });
  }

  test("a value over maxMessageBytes: -32600 with data.code resource_exhausted, then closed", async () => {
    const s = await limited({ maxMessageBytes: 1024 });
    const exact = await LinePeer.open(s.port, cleanups, "latin1");
    const head = '{"jsonrpc":"2.0","method":"Probe.echo","params":["';
    const tail = '"],"id":1}';
    const fill = (n: number) => "a".repeat(n - head.length - tail.length);
    await exact.send(head + fill(1024) + tail);
    assert.equal((await exact.json()).id, 1, "a value of exactly maxMessageBytes is accepted");
    const over = await LinePeer.open(s.port, cleanups, "latin1");
    await over.send(head + fill(1025) + tail);
    assertRpcError(await over.json(), -32600, "resource_exhausted");
    await over.whenClosed();
    assert.equal(s.runs.length, 1);
    await stillServes(s.address);
  });

  test("an oversized value is refused before it has all been sent", async () => {
    const s = await limited({ maxMessageBytes: 4096 });
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    let sent = 0;
    await peer.send('{"jsonrpc":"2.0","method":"Probe.echo","params":["');
    const slice = "b".repeat(512);
    const total = 512 * 1024;
    while (sent < total && !peer.ended && !peer.closed) {
      await peer.send(slice);
      sent += slice.length;
      await sleep(1);
    }
    assert.ok(peer.ended || peer.closed, `the server read all ${total} bytes without closing`);
    assert.ok(sent < 64 * 1024, `the close came only after ${sent} bytes`);
    assertRpcError(await peer.json(), -32600, "resource_exhausted");
    await peer.whenClosed();
    assert.equal(s.runs.length, 0);
    await stillServes(s.address);
  });

  test("a batch over maxBatchLength: one -32600 error (not an array), nothing runs", async () => {
    const s = await start({ protocols: builtinProtocols({ jsonRpc: { maxBatchLength: 10 } }) });
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    const entry = (i: number) => `{"jsonrpc":"2.0","method":"Probe.echo","params":[${i}],"id":${i}}`;
    const tooMany = `[${Array.from({ length: 11 }, (_, i) => entry(i)).join(",")}]`;
    const reply = await peer.askJson(tooMany);
    assert.ok(!Array.isArray(reply), "one error object, not an array");
    assertRpcError(reply, -32600, "resource_exhausted");
    assert.deepEqual(s.runs, []);
    const ten = JSON.parse(
      JSON.stringify(await peer.askJson(`[${Array.from({ length: 10 }, (_, i) => entry(i)).join(",")}]`)),
    );
    assert.equal(ten.length, 10, "a batch of exactly maxBatchLength is answered");
    assert.deepEqual(
      await http(s.port, "POST", "/", json, tooMany).then((r) => {
        assert.equal(r.status, 200);
        const body = JSON.parse(r.body);
        return [Array.isArray(body), body.error.code, body.error.data.code];
      }),
      [false, -32600, "resource_exhausted"],
    );
    const ws = await wsOpen(s.port, "jsonrpc");
    ws.ws.send(tooMany);
    const wsReply = await ws.next();
    assert.ok(!Array.isArray(wsReply));
    assertRpcError(wsReply, -32600, "resource_exhausted");
    assert.equal(s.runs.length, 10);
    await stillServes(s.address);
  });

  test("nesting beyond maxDepth is refused on TCP (then closed), HTTP and WebSocket; nothing runs", async () => {
    const s = await limited({ maxDepth: 8 });
    const deep = `{"jsonrpc":"2.0","method":"Probe.echo","params":[${"[".repeat(20)}${"]".repeat(20)}],"id":1}`;
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    await peer.send(deep);
    const reply = await peer.json();
    assert.equal(reply.id, null);
    assert.equal((reply.error as RpcErr).code, -32600);
    assert.equal((reply.error as RpcErr).data.code, "resource_exhausted");
    await peer.whenClosed();
    const r = await http(s.port, "POST", "/", json, deep);
    assert.equal(r.status, 200);
    assert.ok(JSON.parse(r.body).error, r.body);
    const ws = await wsOpen(s.port, "jsonrpc");
    ws.ws.send(deep);
    assert.ok((await ws.next()).error);
    const direct = await http(s.port, "POST", "/Probe/echo", json, `${"[".repeat(20)}${"]".repeat(20)}`);
    assert.equal(direct.status, 400);
    assert.deepEqual(s.runs, []);
    await stillServes(s.address);
  });

  test("__proto__ keys, plain or \\u-escaped, are refused everywhere and pollute nothing", async () => {
    const s = await start();
    const bodies = [
      '{"__proto__":{"polluted":"yes"}}',
      '{"\\u005f_proto__":{"polluted":"yes"}}',
      '{"a":{"__pro\\u0074o__":{"polluted":"yes"}}}',
    ];
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    for (const [i, body] of bodies.entries()) {
      const reply = await peer.askJson(`{"jsonrpc":"2.0","method":"Probe.echo","params":${body},"id":${i}}`);
      assert.equal((reply.error as RpcErr | undefined)?.data.code, "invalid_argument", JSON.stringify(reply));
      // Refused before its dialect is known: any error shape will do, as long as nothing ran.
      const go = await peer.askJson(`{"method":"Probe.Echo","params":[${body}],"id":${i}}`);
      assert.ok(go.error, JSON.stringify(go));
      assert.equal(go.result ?? null, null);
      const direct = await http(s.port, "POST", "/Probe/echo", json, body);
      assert.equal(direct.status, 400);
      assert.equal(JSON.parse(direct.body).code, "invalid_argument");
      const overHttp = await http(
        s.port,
        "POST",
        "/jsonrpc",
        json,
        `{"jsonrpc":"2.0","method":"Probe.echo","params":${body},"id":1}`,
      );
      assert.equal(JSON.parse(overHttp.body).error.data.code, "invalid_argument");
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
    assert.deepEqual(s.runs, []);
    await assertAnswers(peer, 99);
    await stillServes(s.address);
  });

  test("ids of other JSON types (object, array, boolean) are invalid requests answered with id null", async () => {
    const s = await start();
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    for (const id of ['{"x":1}', "[1]", "[]", "true", "false"]) {
      const reply = await peer.askJson(`{"jsonrpc":"2.0","method":"Probe.echo","params":[1],"id":${id}}`);
      assertRpcError(reply, -32600, "invalid_argument", null);
    }
    const batch = await peer.askJson(`[{"jsonrpc":"2.0","method":"Probe.echo","params":[1],"id":{}},${addRequest(5)}]`);
    assert.ok(Array.isArray(batch));
    const [bad, good] = batch as unknown as Record<string, unknown>[];
    assertRpcError(bad as Record<string, unknown>, -32600, "invalid_argument", null);
    assert.deepEqual(good, { jsonrpc: "2.0", id: 5, result: 3 });
    assert.deepEqual(s.runs, []);
    await stillServes(s.address);
  });

  test("wrong types for jsonrpc, method and params are invalid requests, answered with the id", async () => {
    const s = await start();
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    const cases = [
      '{"jsonrpc":"1.0","method":"Probe.echo","params":[1],"id":7}',
      '{"jsonrpc":2,"method":"Probe.echo","params":[1],"id":7}',
      '{"jsonrpc":"2.0","method":5,"params":[1],"id":7}',
      '{"jsonrpc":"2.0","method":null,"id":7}',
      '{"jsonrpc":"2.0","params":[1],"id":7}',
      '{"jsonrpc":"2.0","method":"Probe.echo","params":"x","id":7}',
      '{"jsonrpc":"2.0","method":"Probe.echo","params":3,"id":7}',
      '{"jsonrpc":"2.0","method":"Probe.echo","params":null,"id":7}',
      '{"jsonrpc":"2.0","method":"Probe.echo","params":true,"id":7}',
    ];
    for (const text of cases) assertRpcError(await peer.askJson(text), -32600, "invalid_argument", 7);
    assertRpcError(await peer.askJson("[]"), -32600, "invalid_argument");
    const notObjects = await peer.askJson('[1,"x",null]');
    assert.ok(Array.isArray(notObjects) && notObjects.length === 3, JSON.stringify(notObjects));
    for (const r of notObjects as unknown as Record<string, unknown>[]) assertRpcError(r, -32600, "invalid_argument");
    assert.deepEqual(s.runs, []);
    await assertAnswers(peer, 8);
    await stillServes(s.address);
  });

  test("beyond maxInflight a request gets -32000 resource_exhausted; the calls in flight finish", async () => {
    const s = await limited({ maxInflight: 2 });
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    const nap = (id: number) => `{"jsonrpc":"2.0","method":"Arith.sleep","params":{"ms":300},"id":${id}}`;
    await peer.send(nap(1) + nap(2) + nap(3));
    const first = await peer.json();
    assertRpcError(first, -32000, "resource_exhausted", 3);
    const rest = [await peer.json(), await peer.json()].sort((a, b) => (a.id as number) - (b.id as number));
    assert.deepEqual(rest, [
      { jsonrpc: "2.0", id: 1, result: "slept 300 ms" },
      { jsonrpc: "2.0", id: 2, result: "slept 300 ms" },
    ]);
    await assertAnswers(peer, 4);
    const ws = await wsOpen(s.port, "jsonrpc");
    for (const id of [1, 2, 3]) ws.ws.send(nap(id));
    assertRpcError(await ws.next(), -32000, "resource_exhausted", 3);
    assert.equal((await ws.next(2_000)).result, "slept 300 ms");
    await stillServes(s.address);
  });
});
