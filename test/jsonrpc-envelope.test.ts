// The envelope that carries metadata on JSON-RPC streams (docs/protocols.md, "Metadata over
// JSON-RPC streams"), written by hand on a raw TCP socket: its metadata reaches the handler and
// the guard, the answer comes back in an envelope, and a malformed one is refused without running.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { bearerTokens, createServer, defineService, unary } from "../src/index.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const Echo = defineService("Echo", { md: unary<{ key: string }, unknown>() });

async function start(withToken: boolean) {
  const ran: string[] = [];
  const server = createServer(
    withToken
      ? { authenticate: bearerTokens((t) => (t === "tok" ? { user: "u" } : Promise.reject(new Error("no")))) }
      : {},
  ).add(Echo, {
    md: (input, ctx) => {
      ran.push(input.key);
      return { value: ctx.metadata[input.key] ?? null, principal: ctx.principal ?? null };
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 100 }));
  return { port: Number(address.split(":").pop()), ran };
}

/** Sends lines on one connection and collects one answer line per line sent. */
async function exchange(port: number, lines: string[]): Promise<unknown[]> {
  const socket = connect(port, "127.0.0.1");
  cleanups.push(() => socket.destroy());
  const answers: unknown[] = [];
  let buffered = "";
  return new Promise((resolve, reject) => {
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      buffered += text;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        answers.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
      }
      if (answers.length === lines.length) {
        socket.end();
        resolve(answers);
      }
    });
    socket.on("error", reject);
    for (const line of lines) socket.write(`${line}\n`);
  });
}

const request = (id: number, key: string) => JSON.stringify({ jsonrpc: "2.0", id, method: "Echo.md", params: { key } });
const envelope = (metadata: unknown, message: unknown) => JSON.stringify({ farcall: { metadata }, message });

test("an envelope's metadata reaches the handler, and the answer comes back in an envelope", async () => {
  const { port } = await start(false);
  const [answer, plain] = await exchange(port, [
    envelope({ tenant: "blue" }, request(1, "tenant")),
    request(2, "tenant"),
  ]);
  const a = answer as { farcall: { metadata: object }; message: string };
  assert.deepEqual(Object.keys(a), ["farcall", "message"]);
  assert.deepEqual(JSON.parse(a.message), { jsonrpc: "2.0", id: 1, result: { value: "blue", principal: null } });
  assert.deepEqual(
    plain,
    { jsonrpc: "2.0", id: 2, result: { value: null, principal: null } },
    "a plain request stays plain",
  );
});

test("a token in an envelope authenticates the call; without one it is refused unrun", async () => {
  const { port, ran } = await start(true);
  const answers = await exchange(port, [
    envelope({ authorization: "Bearer tok" }, request(1, "authorization")),
    request(2, "x"),
  ]);
  // Answers come as calls finish, not in order.
  const ok = answers.find((a) => (a as object) !== null && "farcall" in (a as object));
  const anon = answers.find((a) => (a as object) !== null && "error" in (a as object));
  const inner = JSON.parse((ok as { message: string }).message);
  assert.deepEqual(inner.result, { value: "Bearer tok", principal: { user: "u" } });
  assert.match((anon as { error: { message: string } }).error.message, /missing bearer token/);
  assert.deepEqual(ran, ["authorization"]);
});

test("malformed envelopes are refused with -32600 and nothing runs", async () => {
  const { port, ran } = await start(false);
  const bad = [
    envelope({ tenant: 7 }, request(1, "tenant")),
    envelope({ Tenant: "x" }, request(2, "tenant")),
    envelope({}, { jsonrpc: "2.0", id: 3, method: "Echo.md", params: { key: "k" } }),
    JSON.stringify({ farcall: { metadata: {} }, message: request(4, "k"), extra: 1 }),
    envelope({ big: "x".repeat(9_000) }, request(5, "big")),
  ];
  const answers = (await exchange(port, bad)) as { id: unknown; error: { code: number; message: string } }[];
  for (const a of answers) {
    assert.equal(a.id, null);
    assert.equal(a.error.code, -32600, a.error.message);
  }
  assert.match(answers[4]?.error.message ?? "", /exceeds maxMetadataBytes 8192/);
  assert.deepEqual(ran, []);
});
