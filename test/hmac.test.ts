// HMAC-signed calls with replay defence (docs/security.md §3): signed by the client's `hmac`
// option on farcall framing, HTTP JSON and JSON-RPC over HTTP, and by a Python script written from
// the doc with the standard library; refused when unsigned, tampered with, replayed, out of the
// window or signed with a removed key; the nonce cache stays within maxNonces.

import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Arith, arithImpl } from "../examples/demo/services.js";
import {
  type ClientOptions,
  Code,
  createClient,
  createServer,
  defineService,
  hmacVerifier,
  unary,
} from "../src/index.js";
import { rejectsWith } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { run } from "./peers.js";

const cleanups = trackCleanups();
const secret1 = randomBytes(32);
const secret2 = randomBytes(32);

const Who = defineService("Who", { am: unary<{ n: number }, unknown>() });

async function start(verifier: ReturnType<typeof hmacVerifier>) {
  const ran: number[] = [];
  const server = createServer({ authenticate: verifier })
    .add(Who, {
      am: (input, ctx) => {
        ran.push(input.n);
        return { principal: ctx.principal, tenant: ctx.metadata.tenant ?? null };
      },
    })
    .add(Arith, arithImpl());
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 100 }));
  return { port: Number(address.split(":").pop()), ran };
}

function client(address: string, options: ClientOptions = {}) {
  const c = createClient(address, { connectTimeoutMs: 5_000, ...options });
  cleanups.push(() => c.close());
  return c.service(Who);
}

/** The construction of docs/security.md §3, written again here from the doc. */
function signHttp(
  keyId: string,
  secret: Uint8Array,
  method: string,
  body: string,
  metadata: Record<string, string>,
  timestamp = Date.now(),
  timeoutMs?: number,
): Record<string, string> {
  const nonce = randomBytes(16).toString("base64url");
  const names = Object.keys(metadata).sort();
  const text = [
    "farcall-hmac-v1",
    keyId,
    String(timestamp),
    nonce,
    method,
    timeoutMs === undefined ? "" : String(timeoutMs),
    names.join(","),
    ...names.map((n) => `${n}:${metadata[n]}`),
  ].join("\n");
  const md: Record<string, string> = {
    ...metadata,
    "farcall-hmac-key": keyId,
    "farcall-hmac-ts": String(timestamp),
    "farcall-hmac-nonce": nonce,
    "farcall-hmac-signed": names.join(","),
    "farcall-hmac-sig": createHmac("sha256", secret).update(`${text}\n`).update(body).digest("base64url"),
  };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (timeoutMs !== undefined) headers["farcall-timeout-ms"] = String(timeoutMs);
  for (const [k, v] of Object.entries(md)) headers[`farcall-md-${k}`] = v;
  return headers;
}

test("signed calls on tcp://, ws://, http://, jsonrpc+http://, jsonrpc+tcp:// and jsonrpc+ws:// run; unsigned ones never do", async () => {
  const { port, ran } = await start(hmacVerifier({ keys: new Map([["k1", secret1]]) }));
  let n = 0;
  for (const scheme of ["tcp", "ws", "http", "jsonrpc+http", "jsonrpc+tcp", "jsonrpc+ws"]) {
    const signed = client(`${scheme}://127.0.0.1:${port}`, { hmac: { keyId: "k1", secret: secret1 } });
    const out = await signed.am({ n: ++n }, { metadata: { tenant: "blue" }, timeoutMs: 5_000 });
    assert.deepEqual(out, { principal: { keyId: "k1" }, tenant: "blue" }, scheme);
    const unsigned = client(`${scheme}://127.0.0.1:${port}`);
    const e = await rejectsWith(unsigned.am({ n: 100 }), Code.Unauthenticated);
    assert.match(e.message, /not signed/, scheme);
    const wrongKey = client(`${scheme}://127.0.0.1:${port}`, { hmac: { keyId: "k1", secret: secret2 } });
    assert.match((await rejectsWith(wrongKey.am({ n: 101 }), Code.Unauthenticated)).message, /bad signature/);
  }
  assert.deepEqual(ran, [1, 2, 3, 4, 5, 6]);
});

test("a replayed, tampered, out-of-window or partly signed request is refused and never runs", async () => {
  let clock = Date.now();
  const { port, ran } = await start(hmacVerifier({ keys: new Map([["k1", secret1]]), now: () => clock }));
  const url = `http://127.0.0.1:${port}/Who/am`;
  const body = '{"n":7}';
  const post = (headers: Record<string, string>, b = body) => fetch(url, { method: "POST", headers, body: b });
  const headers = signHttp("k1", secret1, "Who/am", body, { tenant: "blue" }, clock, 3_000);
  assert.equal((await post(headers)).status, 200);
  const replay = await post(headers);
  assert.equal(replay.status, 401);
  assert.match(await replay.text(), /replayed nonce/);
  const fresh = () => signHttp("k1", secret1, "Who/am", body, { tenant: "blue" }, clock, 3_000);
  assert.match(await (await post(fresh(), '{"n":8}')).text(), /bad signature/, "body changed");
  assert.match(await (await post({ ...fresh(), "farcall-md-tenant": "red" })).text(), /bad signature/);
  assert.match(await (await post({ ...fresh(), "farcall-timeout-ms": "60000" })).text(), /bad signature/);
  assert.match(await (await post({ ...fresh(), "farcall-md-extra": "x" })).text(), /extra.{0,2} is not signed/);
  const other = signHttp("k1", secret1, "Arith/add", body, { tenant: "blue" }, clock, 3_000);
  assert.match(await (await post(other)).text(), /bad signature/, "signed for another method");
  const old = signHttp("k1", secret1, "Who/am", body, {}, clock - 31_000);
  assert.match(await (await post(old)).text(), /outside the 30000 ms window/);
  const future = signHttp("k1", secret1, "Who/am", body, {}, clock + 31_000);
  assert.match(await (await post(future)).text(), /outside the 30000 ms window/);
  clock += 40_000;
  assert.match(await (await post(headers)).text(), /outside the/, "a replay after the window is refused by the clock");
  assert.deepEqual(ran, [7]);
});

test("key rotation: several keys work at once, a removed key stops working at once", async () => {
  const keys = new Map([
    ["old", secret1],
    ["new", secret2],
  ]);
  const { port } = await start(hmacVerifier({ keys }));
  const viaOld = client(`tcp://127.0.0.1:${port}`, { hmac: { keyId: "old", secret: secret1 } });
  const viaNew = client(`tcp://127.0.0.1:${port}`, { hmac: { keyId: "new", secret: secret2 } });
  assert.deepEqual(await viaOld.am({ n: 1 }), { principal: { keyId: "old" }, tenant: null });
  assert.deepEqual(await viaNew.am({ n: 2 }), { principal: { keyId: "new" }, tenant: null });
  keys.delete("old");
  assert.match((await rejectsWith(viaOld.am({ n: 3 }), Code.Unauthenticated)).message, /unknown key/);
  assert.deepEqual(await viaNew.am({ n: 4 }), { principal: { keyId: "new" }, tenant: null });
});

test("the nonce cache holds at most maxNonces per key; past that, calls are refused until nonces expire", async () => {
  let clock = Date.now();
  const verifier = hmacVerifier({ keys: new Map([["k1", secret1]]), maxNonces: 3, now: () => clock });
  const { port, ran } = await start(verifier);
  const c = client(`http://127.0.0.1:${port}`, { hmac: { keyId: "k1", secret: secret1 } });
  for (let n = 1; n <= 3; n++) await c.am({ n });
  const full = await rejectsWith(c.am({ n: 4 }), Code.ResourceExhausted);
  assert.match(full.message, /replay cache of key k1 is full \(maxNonces 3\)/);
  assert.equal(verifier.nonces("k1"), 3);
  clock += 31_000;
  // The client signs with the real clock; the server's has moved on past the old nonces' window.
  const late = signHttp("k1", secret1, "Who/am", '{"n":5}', {}, clock);
  assert.equal(
    (await fetch(`http://127.0.0.1:${port}/Who/am`, { method: "POST", headers: late, body: '{"n":5}' })).status,
    200,
  );
  assert.equal(verifier.nonces("k1"), 1, "expired nonces were dropped");
  assert.deepEqual(ran, [1, 2, 3, 5]);
});

test("a client that signs refuses protocols that cannot carry a signature; short secrets are refused", async () => {
  for (const address of ["gorpc+tcp://127.0.0.1:1", "oncrpc+tcp://127.0.0.1:1"]) {
    assert.throws(
      () => createClient(address, { hmac: { keyId: "k", secret: secret1 } }),
      /cannot carry HMAC-signed calls/,
    );
  }
  assert.throws(() => createClient("tcp://127.0.0.1:1", { hmac: { keyId: "k", secret: "short" } }), /32 bytes/);
  assert.throws(() => hmacVerifier({ keys: new Map([["k", new Uint8Array(16)]]) }), /32 bytes/);
});

test("Python's hmac module signs HTTP JSON and JSON-RPC calls the server accepts, from the doc alone", async () => {
  const { port } = await start(hmacVerifier({ keys: new Map([["py", secret1]]) }));
  const script = fileURLToPath(new URL("../../interop/python/hmac_client.py", import.meta.url));
  const out = await run("python3", [script, String(port), "py", secret1.toString("hex")], { timeoutMs: 20_000 });
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(out.stdout.trim().split("\n"), ["http 5 verified", "jsonrpc 9 verified", "replay 401"]);
});

test("replies are signed: the client checks the server's signature, and refuses a reply unsigned or forged", async () => {
  // A server that runs every call but signs replies wrongly, or not at all.
  const forging = Object.assign(() => ({ keyId: "k1" }), {
    signReply: () => ({ "farcall-hmac-reply-sig": "AAAA" }),
  });
  for (const [authenticate, why] of [
    [forging, /the reply's signature does not hold/],
    [() => ({ keyId: "k1" }), /the reply is not signed/],
  ] as const) {
    const server = createServer({ authenticate }).add(Who, { am: (input) => ({ n: input.n }) });
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 100 }));
    for (const scheme of ["tcp", "http", "jsonrpc+http"]) {
      const c = client(address.replace("tcp", scheme), { hmac: { keyId: "k1", secret: secret1 } });
      const e = await rejectsWith(c.am({ n: 1 }), Code.Unauthenticated);
      assert.match(e.message, why, scheme);
    }
  }
});
