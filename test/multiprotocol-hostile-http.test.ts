// Bad input on one port, part two (multiprotocol-hostile.test.ts has the sniffing stage and JSON-RPC
// over TCP): JSON-RPC call admission, HTTP and WebSocket. Each case checks the protocol's own error
// and that the server still serves afterwards. Every wait is bounded.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import { webSocketPieceBytes } from "../src/protocol/websocket-stream.js";
import { http, stillServes, within } from "./fixtures.js";
import { LinePeer, type RpcErr } from "./line-peer.js";
import {
  addRequest,
  assertRpcError,
  cleanups,
  json,
  limited,
  rawExchange,
  start,
  wsOpen,
} from "./multiprotocol-hostile-peer.js";

describe("JSON-RPC call admission", () => {
  test("beyond maxConcurrentCalls a call waits its turn instead of running (TCP and a batch over HTTP)", async () => {
    const s = await limited({ maxConcurrentCalls: 1 });
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    const nap = (id: number) => `{"jsonrpc":"2.0","method":"Arith.sleep","params":{"ms":150},"id":${id}}`;
    const sent = Date.now();
    await peer.send(nap(1) + nap(2));
    const first = await peer.json();
    const second = await peer.json();
    assert.deepEqual([first.id, second.id], [1, 2]);
    // One at a time: the second answer comes a whole sleep after the first (timing only as order).
    assert.ok(Date.now() - sent >= 290, "the two calls ran one after the other");
    const batch = await http(s.port, "POST", "/", { "content-type": "application/json" }, `[${nap(3)},${nap(4)}]`);
    assert.equal(batch.status, 200);
    assert.deepEqual(
      (JSON.parse(batch.body) as { id: number; result: string }[]).map((r) => [r.id, r.result]),
      [
        [3, "slept 150 ms"],
        [4, "slept 150 ms"],
      ],
    );
  });

  test("a call whose deadline passed before it could start never runs (HTTP farcall-timeout-ms 0)", async () => {
    const s = await limited({});
    const res = await http(
      s.port,
      "POST",
      "/jsonrpc",
      { "content-type": "application/json", "farcall-timeout-ms": "0" },
      '{"jsonrpc":"2.0","method":"Probe.echo","params":{"x":1},"id":1}',
    );
    assertRpcError(JSON.parse(res.body) as Record<string, unknown>, -32000, "deadline_exceeded", 1);
    assert.deepEqual(s.runs, []);
  });
});

describe("HTTP", () => {
  test("a body over maxMessageBytes gets 413, with Content-Length or chunked", async () => {
    const s = await limited({ maxMessageBytes: 1024 });
    const big = `{"a":1,"b":2,"pad":"${"x".repeat(2000)}"}`;
    for (const path of ["/Arith/add", "/"]) {
      const sized = await http(s.port, "POST", path, json, big);
      assert.equal(sized.status, 413, path);
      assert.equal(JSON.parse(sized.body).code, "resource_exhausted");
      const chunked = await http(s.port, "POST", path, json, [big.slice(0, 700), big.slice(700)]);
      assert.equal(chunked.status, 413, `${path} chunked`);
    }
    const fits = await http(s.port, "POST", "/Arith/add", json, ['{"a":1,', '"b":2}']);
    assert.equal(fits.status, 200);
    assert.equal(fits.body, "3");
    await stillServes(s.address);
  });

  const hugeHead =
    "POST /Arith/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{";

  test("a Content-Length over the limit gets 413 before the body arrives", async () => {
    const s = await limited({ maxMessageBytes: 1024 });
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    await peer.send(hugeHead);
    await peer.waitUntil(() => peer.text.includes("resource_exhausted"), 2_000, "the 413 answer");
    assert.match(peer.text, /^HTTP\/1\.1 413 /);
    await stillServes(s.address);
  });

  test("after a 413 for an unread body the connection is closed, not kept to read the rest", async () => {
    const s = await limited({ maxMessageBytes: 1024 });
    const peer = await LinePeer.open(s.port, cleanups, "latin1");
    await peer.send(hugeHead);
    await peer.whenClosed(2_000);
    assert.match(peer.text, /^HTTP\/1\.1 413 /);
    await stillServes(s.address);
  });

  test("a content type other than JSON gets 415", async () => {
    const s = await start();
    for (const path of ["/Arith/add", "/", "/jsonrpc"]) {
      const r = await http(s.port, "POST", path, { "content-type": "text/plain" }, '{"a":1,"b":2}');
      assert.equal(r.status, 415, path);
    }
    const params = await http(
      s.port,
      "POST",
      "/Arith/add",
      { "content-type": "Application/JSON; charset=utf-8" },
      '{"a":1,"b":2}',
    );
    assert.equal(params.status, 200);
    assert.deepEqual(s.runs, []);
    await stillServes(s.address);
  });

  test("another method on a method path gets 405 with Allow: POST; an unknown path 404", async () => {
    const s = await start();
    for (const method of ["GET", "PUT", "DELETE"]) {
      const r = await http(s.port, method, "/Arith/add");
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, "POST");
    }
    const root = await http(s.port, "GET", "/");
    assert.equal(root.status, 405);
    for (const path of ["/Nope/method", "/Arith/nope", "/favicon.ico", "/Arith/add/extra"]) {
      const r = await http(s.port, "POST", path, json, "{}");
      assert.equal(r.status, 404, path);
      assert.equal(JSON.parse(r.body).code, "unimplemented");
    }
    await stillServes(s.address);
  });

  test("a bad farcall-timeout-ms gets 400; a body that is not JSON gets 400", async () => {
    const s = await start();
    for (const value of ["abc", "-5", "1.5", "1e3", "", "9999999999999"]) {
      const r = await http(s.port, "POST", "/Arith/add", { ...json, "farcall-timeout-ms": value }, '{"a":1,"b":2}');
      assert.equal(r.status, 400, JSON.stringify(value));
      assert.equal(JSON.parse(r.body).code, "invalid_argument");
    }
    const notJson = await http(s.port, "POST", "/Probe/echo", json, "{nope");
    assert.equal(notJson.status, 400);
    assert.deepEqual(s.runs, []);
    await stillServes(s.address);
  });

  test("oversized headers get 431; a malformed request line 400", async () => {
    const s = await start();
    const huge = await rawExchange(
      s.port,
      `POST /Arith/add HTTP/1.1\r\nHost: x\r\nX-Big: ${"h".repeat(64 * 1024)}\r\n\r\n`,
    );
    assert.match(huge, /^HTTP\/1\.1 431 /);
    const bad = await rawExchange(s.port, "GARBAGE\r\n\r\n");
    assert.match(bad, /^HTTP\/1\.1 400 /);
    const both = await rawExchange(
      s.port,
      "POST /Arith/add HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert.match(both, /^HTTP\/1\.1 400 /);
    await stillServes(s.address);
  });

  test("CONNECT to a target other than /_goRPC_ gets 404 and a close", async () => {
    const s = await start();
    for (const target of ["/other", "example.com:443", "/_goRPC_x"]) {
      const text = await rawExchange(s.port, `CONNECT ${target} HTTP/1.0\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.[01] 404 /, target);
    }
    const go = await LinePeer.open(s.port, cleanups, "latin1");
    await go.send("CONNECT /_goRPC_ HTTP/1.0\r\n\r\n");
    await go.send('{"method":"Arith.Add","params":[{"A":1,"B":2}],"id":0}');
    await go.waitUntil(() => go.text.includes('"result":3'), 2_000, "the Go answer");
    assert.match(go.text, /^HTTP\/1\.0 200 Connected to Go RPC\n\n/);
    await stillServes(s.address);
  });
});

describe("WebSocket", () => {
  const small = { maxMessageBytes: 1024, maxMetadataBytes: 64 };

  for (const protocol of ["farcall", "jsonrpc"]) {
    test(`a ${protocol} message over the limit closes with 1009`, async () => {
      const s = await limited(small);
      const peer = await wsOpen(s.port, protocol);
      // Over maxMessageBytes, and over the piece size farcall framing is sent in.
      peer.ws.send(Buffer.alloc(webSocketPieceBytes + 1, 0x20));
      const { code } = await within(peer.closed, 2_000, "the close");
      assert.equal(code, 1009);
      assert.deepEqual(s.runs, []);
      await stillServes(s.address);
    });
  }

  test("a JSON-RPC message over maxMessageBytes is not run, even when the WebSocket limit allows it", async () => {
    const s = await limited({ maxMessageBytes: 1024 });
    const peer = await wsOpen(s.port, "jsonrpc");
    peer.ws.send(`{"jsonrpc":"2.0","method":"Probe.echo","params":["${"z".repeat(3000)}"],"id":1}`);
    const outcome = await within(
      Promise.race([
        peer.closed.then((c) => `closed ${c.code}`),
        peer.next().then((r) => `answered ${(r.error as RpcErr | undefined)?.data.code ?? "with a result"}`),
      ]),
      2_000,
      "an answer or a close",
    );
    assert.ok(outcome === "closed 1009" || outcome === "answered resource_exhausted", outcome);
    assert.deepEqual(s.runs, []);
    await stillServes(s.address);
  });

  test("a text message on a farcall WebSocket closes with 1003", async () => {
    const s = await start();
    const peer = await wsOpen(s.port, "farcall");
    peer.ws.send("hello");
    const { code } = await within(peer.closed, 2_000, "the close");
    assert.equal(code, 1003);
    await stillServes(s.address);
  });

  test("malformed JSON on a jsonrpc WebSocket gets -32700 and the socket stays open", async () => {
    const s = await start();
    for (const protocol of ["jsonrpc", undefined]) {
      const peer = await wsOpen(s.port, protocol);
      peer.ws.send("{not json");
      assertRpcError(await peer.next(), -32700, "invalid_argument");
      peer.ws.send(Buffer.from("\xff\xfe", "latin1"));
      assertRpcError(await peer.next(), -32700, "invalid_argument");
      peer.ws.send(addRequest(3));
      assert.deepEqual(await peer.next(), { jsonrpc: "2.0", id: 3, result: 3 });
      assert.equal(peer.ws.readyState, WebSocket.OPEN);
    }
    await stillServes(s.address);
  });
});
