// The farcall client against the farcall server over ws:// and http:// (docs/protocols.md), with
// typed stubs, plus the HTTP details that doc promises (health, CORS). JSON-RPC's schemes and
// bytes are multiprotocol-jsonrpc.test.ts.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { Arith, Time } from "../examples/demo/services.js";
import { builtinProtocols, Code, RpcError } from "../src/index.js";
import { http, rejectsWith, until, within } from "./fixtures.js";
import {
  assertCodesPreserved,
  assertDeadlineAndAbort,
  cleanups,
  clientFor,
  collect,
  demo,
  Probe,
} from "./multiprotocol-fixtures.js";

describe("ws:// (farcall framing in WebSocket messages)", () => {
  test("unary, server stream, client stream, bidi and oneway calls", async () => {
    const h = await demo();
    const arith = clientFor(`ws://127.0.0.1:${h.port}/`).service(Arith);
    assert.equal(await arith.add({ a: 2, b: 3 }), 5);
    assert.equal(await arith.multiply({ a: 6, b: 7 }), 42);
    assert.deepEqual(await collect(arith.count({ to: 4 })), [1, 2, 3, 4]);
    assert.equal(await arith.sum([1, 2, 3, 4.5]), 10.5);
    assert.deepEqual(await collect(arith.chat(["hi", "there"])), ["HI", "THERE"]);
    await arith.log("over websocket");
    await until(() => h.logged.includes("over websocket"), 2_000);
  });

  test("more than maxMessageBytes sent in one tick still arrives (output goes in pieces)", async () => {
    const h = await demo();
    const time = clientFor(`ws://127.0.0.1:${h.port}/`).service(Time);
    // 100 calls of 50 KB each are written in one tick: about 5 MB, over the 4 MiB maxMessageBytes.
    const line = "x".repeat(50_000);
    const replies = await Promise.all(Array.from({ length: 100 }, () => time.printTime(line)));
    assert.equal(replies.length, 100);
    for (const reply of replies) assert.ok(reply.includes(line));
  });

  test("a deadline ends the call with deadline_exceeded; an aborted signal with canceled", async () => {
    const h = await demo();
    await assertDeadlineAndAbort(`ws://127.0.0.1:${h.port}/`);
  });

  test("error codes and messages are preserved", async () => {
    const h = await demo();
    const client = clientFor(`ws://127.0.0.1:${h.port}/`);
    const err = await rejectsWith(client.service(Arith).divide({ a: 1, b: 0 }), Code.InvalidArgument);
    assert.equal(err.rawMessage, "divide by zero");
    await assertCodesPreserved(client);
  });
});

describe("http:// (HTTP/1.1 JSON)", () => {
  test("unary, oneway and server stream calls", async () => {
    const h = await demo();
    const arith = clientFor(`http://127.0.0.1:${h.port}`).service(Arith);
    assert.equal(await arith.add({ a: 2, b: 3 }), 5);
    await arith.log("over http");
    await until(() => h.logged.includes("over http"), 2_000);
    assert.deepEqual(await collect(arith.count({ to: 3 })), [1, 2, 3]);
    assert.deepEqual(await collect(arith.count({ to: 0 })), []);
  });

  test("timeoutMs ends the call with deadline_exceeded, an aborted signal with canceled", async () => {
    const h = await demo();
    await assertDeadlineAndAbort(`http://127.0.0.1:${h.port}`);
  });

  test("the server aborts the handler when farcall-timeout-ms passes (504 deadline_exceeded)", async () => {
    const h = await demo();
    const r = await http(
      h.port,
      "POST",
      "/Arith/sleep",
      { "content-type": "application/json", "farcall-timeout-ms": "50" },
      '{"ms":5000}',
    );
    assert.equal(r.status, 504);
    assert.equal(JSON.parse(r.body).code, "deadline_exceeded");
  });

  test("error codes are preserved: divide by zero, unknown methods, every code", async () => {
    const h = await demo();
    const client = clientFor(`http://127.0.0.1:${h.port}`);
    const err = await rejectsWith(client.service(Arith).divide({ a: 1, b: 0 }), Code.InvalidArgument);
    assert.equal(err.rawMessage, "divide by zero");
    await rejectsWith(client.proxy<{ nope(x: number): number }>("Arith").nope(1), Code.Unimplemented);
    await rejectsWith(client.proxy<{ add(x: number): number }>("Nowhere").add(1), Code.Unimplemented);
    await assertCodesPreserved(client);
  });

  test("client streams and bidi are unimplemented over HTTP, on the client and the server (501)", async () => {
    const h = await demo();
    const arith = clientFor(`http://127.0.0.1:${h.port}`).service(Arith);
    await rejectsWith(arith.sum([1, 2]), Code.Unimplemented);
    await assert.rejects(
      collect(arith.chat(["a"])),
      (e: unknown) => e instanceof RpcError && e.code === Code.Unimplemented,
    );
    for (const path of ["/Arith/sum", "/Arith/chat"]) {
      const r = await http(h.port, "POST", path, { "content-type": "application/json" }, "1");
      assert.equal(r.status, 501, path);
      assert.equal(JSON.parse(r.body).code, "unimplemented");
    }
  });

  test("authorization and farcall-md- headers reach the handler; response metadata comes back", async () => {
    const h = await demo();
    const probe = clientFor(`http://127.0.0.1:${h.port}`).service(Probe);
    let replyMd: Record<string, string> | undefined;
    const who = await probe.whoami(undefined, {
      metadata: { authorization: "Bearer s3cret", "x-trace": "t-1" },
      onResponseMetadata: (md) => {
        replyMd = md;
      },
    });
    assert.deepEqual(who, { authorization: "Bearer s3cret", trace: "t-1" });
    assert.equal(replyMd?.["x-served-by"], "probe");
    const raw = await http(h.port, "POST", "/Probe/whoami", {
      authorization: "Basic eA==",
      "farcall-md-x-trace": "t-2",
    });
    assert.equal(raw.status, 200);
    assert.deepEqual(JSON.parse(raw.body), { authorization: "Basic eA==", trace: "t-2" });
    assert.equal(raw.headers["farcall-md-x-served-by"], "probe");
  });

  test("GET /healthz is 200 serving, then 503 draining once close() began", async () => {
    const h = await demo();
    const ok = await http(h.port, "GET", "/healthz");
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { status: "serving" });
    // A request whose head is half sent when close() begins is not idle, so it is still answered.
    const socket = connect({ host: "127.0.0.1", port: h.port });
    cleanups.push(() => socket.destroy());
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      received += d;
    });
    socket.on("error", () => {});
    const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    await new Promise<void>((resolve) => socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n", () => resolve()));
    // A sleep, since nothing the server exposes shows that it has read the half head and handed it to
    // node's HTTP parser (only then is the connection not idle). Too short can only fail the test
    // (close() drops the connection unanswered), never pass it wrongly.
    await new Promise((r) => setTimeout(r, 50));
    const closing = h.server.close({ graceMs: 2_000 });
    socket.write("\r\n");
    await within(ended, 3_000, "the drained connection to close");
    await within(closing, 3_000, "close()");
    assert.match(received, /^HTTP\/1\.1 503 /);
    assert.match(received, /\r\n\r\n[\s\S]*\{"status":"draining"\}/);
  });

  test("CORS: preflights from allowed origins are answered; other origins get no CORS headers", async () => {
    const h = await demo({ protocols: builtinProtocols({ http: { corsOrigins: ["http://app.example"] } }) });
    const pre = await http(h.port, "OPTIONS", "/Arith/add", {
      origin: "http://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type, farcall-timeout-ms",
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "http://app.example");
    assert.match(String(pre.headers["access-control-allow-methods"]), /POST/);
    assert.match(String(pre.headers["access-control-allow-headers"]), /farcall-timeout-ms/);
    const add = (origin: string) =>
      http(h.port, "POST", "/Arith/add", { origin, "content-type": "application/json" }, '{"a":1,"b":2}');
    const post = await add("http://app.example");
    assert.equal(post.status, 200);
    assert.equal(post.body, "3");
    assert.equal(post.headers["access-control-allow-origin"], "http://app.example");
    const stranger = await add("http://evil.example");
    assert.equal(stranger.status, 200);
    assert.equal(stranger.headers["access-control-allow-origin"], undefined);
    const strangerPre = await http(h.port, "OPTIONS", "/Arith/add", {
      origin: "http://evil.example",
      "access-control-request-method": "POST",
    });
    assert.notEqual(strangerPre.status, 204);
    assert.equal(strangerPre.headers["access-control-allow-origin"], undefined);
  });

  test("without corsOrigins no CORS headers are sent", async () => {
    const h = await demo();
    const r = await http(
      h.port,
      "POST",
      "/Arith/add",
      { origin: "http://app.example", "content-type": "application/json" },
      '{"a":1,"b":2}',
    );
    assert.equal(r.status, 200);
    for (const name of Object.keys(r.headers)) assert.ok(!name.startsWith("access-control-"), name);
  });
});
