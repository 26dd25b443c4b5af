// maxBatchLength and maxKeys on every path a JSON text reaches a server by (docs/protocols.md,
// "Limits"): a JSON stream over TCP, JSON-RPC over HTTP POST / and over WebSocket, the HTTP JSON
// route and farcall framing. Every wait is bounded; nothing is left open after a test.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { builtinProtocols, Code, createClient, type Limits, RpcError } from "../src/index.js";
import { http, stillServes } from "./fixtures.js";
import { LinePeer } from "./line-peer.js";
import { cleanups, json, limited, Probe, wsOpen } from "./multiprotocol-hostile-peer.js";

/** A server with Arith and Probe/echo (which records its inputs) on a loopback port. */
function start(limits: Partial<Limits> = {}, jsonRpc: { maxBatchLength?: number } = {}) {
  return limited(limits, { protocols: builtinProtocols({ jsonRpc }) });
}

/** Sends one text on a fresh WebSocket (subprotocol jsonrpc) and resolves with the answer, parsed. */
async function overWebSocket(port: number, text: string): Promise<Record<string, unknown>> {
  const peer = await wsOpen(port, "jsonrpc");
  peer.ws.send(text);
  return peer.next();
}

/** The three ways a JSON-RPC text reaches the endpoint, each giving the parsed answer. */
async function everyJsonRpcPath(port: number, text: string) {
  const peer = await LinePeer.open(port, cleanups, "utf8");
  const tcp = await peer.askJson(text);
  // A refused text on a stream was cut out whole, so the connection goes on.
  assert.deepEqual(await peer.askJson('{"jsonrpc":"2.0","method":"Arith.add","params":{"a":1,"b":2},"id":7}'), {
    jsonrpc: "2.0",
    id: 7,
    result: 3,
  });
  const post = await http(port, "POST", "/", json, text);
  assert.equal(post.status, 200);
  const ws = await overWebSocket(port, text);
  return { tcp, http: JSON.parse(post.body) as Record<string, unknown>, ws };
}

describe("maxBatchLength", () => {
  // Regression: the batch was parsed whole before its length was compared with the limit. Entry 11
  // of maxBatchLength 10 is now refused from the count, so the tail after it (not JSON) is never
  // read; before, that tail made the answer a -32700 parse error.
  test("a batch over the limit is refused from its count on TCP, HTTP POST / and WebSocket", async () => {
    const s = await start({}, { maxBatchLength: 10 });
    const text = `[${'{"jsonrpc":"2.0","method":"Probe.echo","params":[1],"id":1},'.repeat(11)} not json]`;
    const replies = await everyJsonRpcPath(s.port, text);
    for (const [path, reply] of Object.entries(replies)) {
      assert.deepEqual(
        reply,
        {
          jsonrpc: "2.0",
          id: null,
          error: {
            code: -32600,
            message: "batch of more than 10 entries exceeds maxBatchLength 10",
            data: { code: "resource_exhausted" },
          },
        },
        path,
      );
    }
    assert.deepEqual(s.runs, [], "nothing ran");
    await stillServes(s.address);
  });
});

describe("maxKeys", () => {
  const params = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(",")}}`;
  const request = (n: number) => `{"jsonrpc":"2.0","method":"Probe.echo","params":${params(n)},"id":1}`;

  test("a configured maxKeys refuses params with more keys on TCP, HTTP POST / and WebSocket", async () => {
    const s = await start({ maxKeys: 5 });
    const replies = await everyJsonRpcPath(s.port, request(6));
    for (const [path, reply] of Object.entries(replies)) {
      assert.deepEqual(
        reply,
        {
          jsonrpc: "2.0",
          id: null,
          error: {
            code: -32700,
            message: "object with 6 keys exceeds maxKeys 5",
            data: { code: "invalid_argument" },
          },
        },
        path,
      );
    }
    assert.deepEqual(s.runs, []);
    const peer = await LinePeer.open(s.port, cleanups, "utf8");
    assert.deepEqual((await peer.askJson(request(4))).result, JSON.parse(params(4)));
  });

  // These paths hand their decoder only maxDepth, so they apply the default maxKeys (10,000).
  test("the default maxKeys holds on the HTTP JSON route and on farcall framing, in both codecs", async () => {
    const s = await start();
    const over = http(s.port, "POST", "/Probe/echo", json, params(10_001));
    const r = await over;
    assert.equal(r.status, 400, r.body);
    assert.deepEqual(JSON.parse(r.body), {
      code: "invalid_argument",
      message: "object with 10001 keys exceeds maxKeys 10000",
    });
    assert.equal((await http(s.port, "POST", "/Probe/echo", json, params(10_000))).status, 200);

    const big = JSON.parse(params(10_001)) as Record<string, number>;
    for (const codec of ["json", "msgpack"] as const) {
      const client = createClient(s.address, { codec });
      cleanups.push(() => client.close());
      const probe = client.service(Probe);
      await assert.rejects(probe.echo(big, { timeoutMs: 5_000 }), (err: unknown) => {
        assert.ok(err instanceof RpcError, String(err));
        assert.equal(err.code, Code.InvalidArgument, `${codec}: ${err.message}`);
        assert.equal(err.rawMessage, "object with 10001 keys exceeds maxKeys 10000");
        return true;
      });
      const { k10000: _, ...fits } = big;
      assert.equal(Object.keys((await probe.echo(fits, { timeoutMs: 5_000 })) as object).length, 10_000, codec);
    }
    assert.equal(s.runs.length, 3, "only the inputs that fit ran");
  });
});
