// Who is calling, and may they (docs/security.md §2): `authenticate` and `authorize` run before a
// call's body is decoded, on every protocol, and a call they refuse never runs; bearer tokens and
// JWTs (verified by jose) are ready verifiers; the codes are unauthenticated vs permission_denied
// as gRPC defines them, and HTTP answers 401 with WWW-Authenticate vs 403.

import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { test } from "node:test";
import { SignJWT } from "jose";
import {
  bearerTokens,
  type ClientOptions,
  Code,
  createClient,
  createServer,
  defineService,
  jwtVerifier,
  type ServerOptions,
  unary,
} from "../src/index.js";
import { rejectsWith } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

const Vault = defineService("Vault", {
  whoami: unary<{ n: number }, unknown>(),
  secret: unary<{ n: number }, string>(),
});
const Open = defineService("Open", { ping: unary<{ n: number }, string>() });

const tokens: Record<string, { user: string; roles: string[] }> = {
  "tok-alice": { user: "alice", roles: ["admin"] },
  "tok-bob": { user: "bob", roles: [] },
};

async function start(options: ServerOptions) {
  const ran: string[] = [];
  const server = createServer(options)
    .add(Vault, {
      whoami: (input, ctx) => {
        ran.push("whoami");
        return { principal: ctx.principal, n: input.n };
      },
      secret: () => {
        ran.push("secret");
        return "s3cret";
      },
    })
    .add(Open, { ping: () => "pong" }, { authorize: (p) => (p as { user?: string } | undefined)?.user !== "bob" });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 100 }));
  return { port: Number(address.split(":").pop()), ran };
}

const guarded: ServerOptions = {
  authenticate: bearerTokens((token) => {
    const who = tokens[token];
    if (who === undefined) throw new Error(`unknown token ${token}`);
    return who;
  }),
  authorize: (principal, method) =>
    method.name !== "secret" || (principal as { roles: string[] }).roles.includes("admin"),
};

function client(address: string, options: ClientOptions = {}) {
  const c = createClient(address, { connectTimeoutMs: 5_000, ...options });
  cleanups.push(() => c.close());
  return c;
}

const schemes = ["tcp", "ws", "http", "jsonrpc+http", "jsonrpc+tcp", "jsonrpc+ws"];

test("every protocol with metadata: no token is unauthenticated, a known one reaches ctx.principal, roles decide", async () => {
  const { port, ran } = await start(guarded);
  for (const scheme of schemes) {
    const address = `${scheme}://127.0.0.1:${port}`;
    const anon = client(address).service(Vault);
    const e1 = await rejectsWith(anon.whoami({ n: 1 }), Code.Unauthenticated);
    assert.match(e1.message, /missing bearer token/, scheme);
    const wrong = client(address, { token: "tok-mallory" }).service(Vault);
    const e2 = await rejectsWith(wrong.whoami({ n: 1 }), Code.Unauthenticated);
    assert.doesNotMatch(e2.message, /tok-mallory/, `${scheme}: the token is never echoed`);
    const bob = client(address, { token: "tok-bob" }).service(Vault);
    assert.deepEqual(await bob.whoami({ n: 2 }), { principal: { user: "bob", roles: [] }, n: 2 }, scheme);
    await rejectsWith(bob.secret({ n: 3 }), Code.PermissionDenied);
    const alice = client(address, { token: () => Promise.resolve("tok-alice") }).service(Vault);
    assert.equal(await alice.secret({ n: 4 }), "s3cret", scheme);
  }
  assert.deepEqual(ran, [...schemes.flatMap(() => ["whoami", "secret"])], "refused calls never ran");
});

test("a service's own authorize is checked besides the server's", async () => {
  const { port } = await start(guarded);
  const bob = client(`tcp://127.0.0.1:${port}`, { token: "tok-bob" }).service(Open);
  await rejectsWith(bob.ping({ n: 1 }), Code.PermissionDenied);
  const alice = client(`tcp://127.0.0.1:${port}`, { token: "tok-alice" }).service(Open);
  assert.equal(await alice.ping({ n: 1 }), "pong");
});

test("authentication runs before the body is decoded: a malformed body without a token is unauthenticated", async () => {
  const { port } = await start(guarded);
  const res = await fetch(`http://127.0.0.1:${port}/Vault/whoami`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{not json",
  });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="farcall"');
  const denied = await fetch(`http://127.0.0.1:${port}/Vault/secret`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer tok-bob" },
    body: '{"n":1}',
  });
  assert.equal(denied.status, 403);
  const rpc = await fetch(`http://127.0.0.1:${port}/jsonrpc`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"jsonrpc":"2.0","id":1,"method":"Vault.whoami","params":{"n":1}}',
  });
  assert.equal(rpc.status, 401);
  const reply = (await rpc.json()) as { id: unknown; error: { message: string } };
  assert.equal(reply.id, null);
  assert.match(reply.error.message, /missing bearer token/);
  const decoded = await fetch(`http://127.0.0.1:${port}/Vault/whoami`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer tok-alice" },
    body: "{not json",
  });
  assert.equal(decoded.status, 400, "once authenticated, the body is decoded (and refused)");
});

test("a protocol without metadata (Go's dialect) are unauthenticated unless authenticate accepts the peer", async () => {
  const { port, ran } = await start(guarded);
  for (const scheme of ["gorpc+tcp"]) {
    const c = client(`${scheme}://127.0.0.1:${port}`).service(Vault);
    const e = await rejectsWith(c.whoami({ n: 1 }), Code.Unauthenticated);
    assert.match(e.message, /missing bearer token/);
  }
  assert.deepEqual(ran, []);
  const byPeer = await start({ authenticate: (call) => ({ from: call.peer.address }) });
  const c = client(`gorpc+tcp://127.0.0.1:${byPeer.port}`).service(Vault);
  assert.deepEqual(await c.whoami({ n: 5 }), { principal: { from: "127.0.0.1" }, n: 5 });
});

test("a call canceled while authenticate runs never runs", async () => {
  let release: () => void = () => {};
  const { port, ran } = await start({
    authenticate: () => new Promise((resolve) => (release = () => resolve({ user: "x" }))),
  });
  const c = client(`tcp://127.0.0.1:${port}`).service(Vault);
  const controller = new AbortController();
  const pending = c.whoami({ n: 1 }, { signal: controller.signal });
  await new Promise((r) => setTimeout(r, 50));
  controller.abort();
  await rejectsWith(pending, Code.Canceled);
  await new Promise((r) => setTimeout(r, 20));
  release();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ran, []);
  const timed = c.whoami({ n: 2 }, { timeoutMs: 100 });
  await rejectsWith(timed, Code.DeadlineExceeded);
  release();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ran, [], "a call whose deadline passed while authenticating never runs");
});

test("jwtVerifier: issuer, audience, expiry and signature are checked by jose", async () => {
  const secret = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
  const { port, ran } = await start({
    authenticate: jwtVerifier({ issuer: "https://issuer.test", audience: "vault", keys: secret }),
  });
  const sign = (claims: { iss?: string; aud?: string; exp?: number | string }, key = secret) =>
    new SignJWT({ sub: "carol", scope: "read" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(claims.iss ?? "https://issuer.test")
      .setAudience(claims.aud ?? "vault")
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? "5m")
      .sign(key);
  const good = client(`tcp://127.0.0.1:${port}`, { token: await sign({}) }).service(Vault);
  const out = (await good.whoami({ n: 1 })) as { principal: { sub: string; iss: string } };
  assert.equal(out.principal.sub, "carol");
  const bad = [
    await sign({ aud: "other" }),
    await sign({ iss: "https://evil.test" }),
    await sign({ exp: Math.floor(Date.now() / 1000) - 120 }),
    await sign({}, new TextEncoder().encode("another secret of 32 bytes......")),
    "not.a.jwt",
  ];
  for (const token of bad) {
    const c = client(`http://127.0.0.1:${port}`, { token }).service(Vault);
    const e = await rejectsWith(c.whoami({ n: 1 }), Code.Unauthenticated);
    assert.equal(e.message.includes(token), false);
  }
  assert.deepEqual(ran, ["whoami"]);
  assert.throws(() => jwtVerifier({ issuer: "i", audience: "a", keys: new Uint8Array(8) }), /32 bytes/);
});

test("jwtVerifier with a JWK set, local or fetched from a URL: ES256 tokens of a listed key pass, others fail", async () => {
  const { generateKeyPair, exportJWK } = await import("jose");
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const other = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
  const jwks = createHttpServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => jwks.close(resolve)));
  const url = new URL(`http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`);
  const sign = (key: Parameters<SignJWT["sign"]>[0]) =>
    new SignJWT({ sub: "dave" })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("iss")
      .setAudience("aud")
      .setExpirationTime("5m")
      .sign(key);
  for (const keys of [{ keys: [jwk] }, url]) {
    const { port } = await start({ authenticate: jwtVerifier({ issuer: "iss", audience: "aud", keys }) });
    const good = client(`tcp://127.0.0.1:${port}`, { token: await sign(privateKey) }).service(Vault);
    assert.equal(((await good.whoami({ n: 1 })) as { principal: { sub: string } }).principal.sub, "dave");
    const bad = client(`tcp://127.0.0.1:${port}`, { token: await sign(other.privateKey) }).service(Vault);
    await rejectsWith(bad.whoami({ n: 1 }), Code.Unauthenticated);
  }
});
