// TLS on every byte-stream protocol of one port (docs/security.md §1): the server decrypts a
// connection that opens with a TLS handshake and sniffs the protocol inside; clients dial the TLS
// schemes with the test CA; mTLS identity reaches handlers; a failed step says which and why.

import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import { test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import {
  type ClientOptions,
  Code,
  createClient,
  createServer,
  defineService,
  type Peer,
  type RpcError,
  type Server,
  type ServerOptions,
  unary,
} from "../src/index.js";
import { testCerts } from "./certs.js";
import { rejectsWith, until } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const certs = testCerts();

const Who = defineService("Who", {
  am: unary<string, { echo: string; peer: Peer }>(),
});

interface Started {
  server: Server;
  port: number;
  refused: { error: RpcError; peer: Peer }[];
}

async function start(options: ServerOptions = {}): Promise<Started> {
  const refused: Started["refused"] = [];
  const server = createServer({
    tls: { ...certs.server },
    onConnectionError: (error, peer) => refused.push({ error, peer }),
    ...options,
  }).add(Who, { am: (echo, ctx) => ({ echo, peer: ctx.peer }) });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 100 }));
  return { server, port: Number(address.split(":").pop()), refused };
}

function client(address: string, options: ClientOptions = {}) {
  const c = createClient(address, { connectTimeoutMs: 5_000, ...options });
  cleanups.push(() => c.close());
  return c.service(Who);
}

const trusting: ClientOptions = { tls: { ca: certs.ca } };

test("one port serves tls://, jsonrpc+tls://, gorpc+tls://, https://, wss://, jsonrpc+https:// and plaintext", async () => {
  const { port } = await start();
  const schemes = ["tls", "jsonrpc+tls", "gorpc+tls", "https", "wss", "jsonrpc+https", "jsonrpc+wss"];
  for (const scheme of schemes) {
    const who = client(`${scheme}://localhost:${port}`, trusting);
    const out = await who.am(scheme);
    assert.equal(out.echo, scheme);
    assert.equal(out.peer.tls?.protocol, "TLSv1.3", scheme);
    assert.equal(out.peer.tls?.authorized, false, `${scheme}: no client certificate was asked for`);
    assert.equal(out.peer.tls?.certificate, undefined);
  }
  for (const scheme of ["tcp", "jsonrpc+tcp", "http", "ws"]) {
    const out = await client(`${scheme}://127.0.0.1:${port}`).am(scheme);
    assert.equal(out.echo, scheme);
    assert.equal(out.peer.tls, undefined, `${scheme} is plaintext`);
  }
});

test("ALPN: each protocol's name is agreed", async () => {
  const { port } = await start();
  assert.equal((await client(`tls://localhost:${port}`, trusting).am("")).peer.tls?.alpn, "farcall");
  assert.equal((await client(`jsonrpc+tls://localhost:${port}`, trusting).am("")).peer.tls?.alpn, "jsonrpc");
  assert.equal((await client(`gorpc+tls://localhost:${port}`, trusting).am("")).peer.tls?.alpn, undefined);
});

test("an IP address is checked against the certificate's IP SANs", async () => {
  const { port } = await start();
  assert.equal((await client(`tls://127.0.0.1:${port}`, trusting).am("ip")).echo, "ip");
});

test("plaintext: false turns plaintext clients away and says why", async () => {
  const { port, refused } = await start({ tls: { ...certs.server, plaintext: false } });
  const err = await rejectsWith(client(`tcp://127.0.0.1:${port}`).am("x"), Code.Unavailable);
  assert.match(err.message, /closed|TLS/);
  await until(() => refused.length === 1);
  assert.match(refused[0]?.error.message ?? "", /TLS connections only/);
  assert.equal((await client(`tls://localhost:${port}`, trusting).am("ok")).echo, "ok");
});

test("listen({ tls: false }) serves that address in plaintext only", async () => {
  const server = createServer({ tls: { ...certs.server } }).add(Who, { am: (echo, ctx) => ({ echo, peer: ctx.peer }) });
  const address = await server.listen("tcp://127.0.0.1:0", { tls: false });
  cleanups.push(() => server.close({ graceMs: 100 }));
  const port = address.split(":").pop();
  await rejectsWith(client(`tls://localhost:${port}`, trusting).am("x"), Code.Unavailable);
  assert.equal((await client(address).am("plain")).echo, "plain");
});

test("mTLS: the client certificate's identity reaches the handler", async () => {
  const { port } = await start({ tls: { ...certs.server, ca: certs.ca, clientCertificates: "require" } });
  for (const scheme of ["tls", "https", "wss", "jsonrpc+tls"]) {
    const who = client(`${scheme}://localhost:${port}`, { tls: { ca: certs.ca, ...certs.client } });
    const { peer } = await who.am("me");
    assert.equal(peer.tls?.authorized, true, scheme);
    const cert = peer.tls?.certificate;
    assert.equal(cert?.commonName, "client");
    assert.equal(cert?.subject, "CN=client, O=farcall test");
    assert.deepEqual(cert?.subjectAltNames, ["URI:spiffe://farcall.test/client"]);
    assert.equal(cert?.issuer, "CN=farcall test CA");
    assert.match(cert?.fingerprint256 ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok((cert?.validTo ?? 0) > Date.now());
  }
});

test("mTLS: no client certificate, or one of another CA, fails with the reason on both sides", async () => {
  const { port, refused } = await start({ tls: { ...certs.server, ca: certs.ca, clientCertificates: "require" } });
  const none = await rejectsWith(client(`tls://localhost:${port}`, trusting).am("x"), Code.Unavailable);
  assert.match(none.message, /rejects the client certificate|requires a client certificate/);
  const rogue = await rejectsWith(
    client(`tls://localhost:${port}`, { tls: { ca: certs.ca, ...certs.rogueClient } }).am("x"),
    Code.Unavailable,
  );
  assert.match(rogue.message, /TLS/);
  await until(() => refused.length >= 2);
  assert.match(refused[0]?.error.message ?? "", /TLS handshake failed: no client certificate was sent/);
  assert.match(refused[1]?.error.message ?? "", /TLS handshake failed: .*(unknown CA|self-signed|certificate)/i);
  assert.equal(refused[0]?.error.code, Code.Unauthenticated);
});

test("request mode: a verified certificate is authorized, none is let in unauthorized", async () => {
  const { port } = await start({ tls: { ...certs.server, ca: certs.ca, clientCertificates: "request" } });
  const withCert = await client(`tls://localhost:${port}`, { tls: { ca: certs.ca, ...certs.client } }).am("");
  assert.equal(withCert.peer.tls?.authorized, true);
  const without = await client(`tls://localhost:${port}`, trusting).am("");
  assert.equal(without.peer.tls?.authorized, false);
  assert.equal(without.peer.tls?.certificate, undefined);
  const rogue = await client(`tls://localhost:${port}`, { tls: { ca: certs.ca, ...certs.rogueClient } }).am("");
  assert.equal(rogue.peer.tls?.authorized, false);
  assert.equal(rogue.peer.tls?.certificate?.commonName, "rogue");
});

test("client errors say which TLS step failed: unknown CA, another name, expired", async () => {
  const { port, server } = await start();
  const unknown = await rejectsWith(client(`tls://localhost:${port}`).am("x"), Code.Unavailable);
  assert.match(unknown.message, /TLS handshake failed: the certificate .*(unknown|self-signed)/);
  const https = await rejectsWith(client(`https://localhost:${port}`).am("x"), Code.Unavailable);
  assert.match(https.message, /unknown|self-signed|certificate/i);
  server.setTls({ ...certs.otherName });
  const name = await rejectsWith(client(`tls://localhost:${port}`, trusting).am("x"), Code.Unavailable);
  assert.match(name.message, /the certificate is for another name/);
  server.setTls({ ...certs.expired });
  const expired = await rejectsWith(client(`tls://localhost:${port}`, trusting).am("x"), Code.Unavailable);
  assert.match(expired.message, /the certificate has expired/);
  const other = await client(`tls://localhost:${port}`, { tls: { ca: certs.ca, servername: "elsewhere.test" } });
  server.setTls({ ...certs.otherName });
  assert.equal((await other.am("named")).echo, "named", "servername picks the name checked");
});

test("setTls: new connections get the new certificate, open ones keep working", async () => {
  const { port, server } = await start();
  const before = client(`tls://localhost:${port}`, trusting);
  assert.equal((await before.am("1")).echo, "1");
  server.setTls({ ...certs.otherName });
  assert.equal((await before.am("2")).echo, "2", "the open connection is untouched");
  const after = await rejectsWith(client(`tls://localhost:${port}`, trusting).am("x"), Code.Unavailable);
  assert.match(after.message, /another name/);
  assert.throws(() => server.setTls({ cert: "not a certificate", key: certs.server.key }), /tls: cannot use/);
  server.setTls({ ...certs.server });
  assert.equal((await client(`tls://localhost:${port}`, trusting).am("3")).echo, "3");
  assert.throws(
    () => createServer({ tls: { ...certs.server, clientCertificates: "require" } }),
    /needs ca/,
    "mTLS without a CA to check against is refused",
  );
});

test("a silent or broken TLS client is cut off after the handshake timeout, and the server goes on", async () => {
  const { port, refused } = await start({ handshakeTimeoutMs: 300 });
  const silent = netConnect(port, "127.0.0.1");
  cleanups.push(() => silent.destroy());
  await new Promise((r) => silent.once("connect", r));
  silent.write(Buffer.from([0x16, 0x03, 0x01]));
  await new Promise((r) => silent.once("close", r));
  const garbage = netConnect(port, "127.0.0.1");
  cleanups.push(() => garbage.destroy());
  garbage.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]), Buffer.alloc(5, 0xff)]));
  garbage.resume();
  await new Promise((r) => garbage.once("close", r));
  await until(() => refused.length === 2);
  assert.match(refused[0]?.error.message ?? "", /not done within 300 ms/);
  assert.match(refused[1]?.error.message ?? "", /TLS handshake failed/);
  assert.equal((await client(`tls://localhost:${port}`, trusting).am("alive")).echo, "alive");
});

test("TLS below 1.2 is refused", async () => {
  const { port, refused } = await start();
  const old = tlsConnect({
    host: "127.0.0.1",
    port,
    ca: certs.ca,
    maxVersion: "TLSv1.1",
    minVersion: "TLSv1",
    ciphers: "DEFAULT@SECLEVEL=0",
  });
  cleanups.push(() => old.destroy());
  const err = await new Promise<Error>((resolve) => old.once("error", resolve));
  assert.match(String((err as NodeJS.ErrnoException).code), /ERR_SSL/);
  await until(() => refused.length === 1);
  assert.match(refused[0]?.error.message ?? "", /TLS handshake failed/);
});

test("the sniffed bytes are not lost: a ClientHello split into single bytes still connects", async () => {
  const { port } = await start();
  const raw = netConnect(port, "127.0.0.1");
  cleanups.push(() => raw.destroy());
  await new Promise((r) => raw.once("connect", r));
  // A TLS client over a socket that sends the ClientHello one byte at a time.
  const { Duplex } = await import("node:stream");
  const slow = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      let i = 0;
      const next = () => {
        if (i >= chunk.length) return done();
        raw.write(chunk.subarray(i, ++i), next);
      };
      next();
    },
  });
  raw.on("data", (d) => slow.push(d));
  raw.on("close", () => slow.destroy());
  const tls = tlsConnect({ socket: slow, servername: "localhost", ca: certs.ca, ALPNProtocols: ["farcall"] });
  cleanups.push(() => tls.destroy());
  await new Promise<void>((resolve, reject) => {
    tls.once("secureConnect", resolve);
    tls.once("error", reject);
  });
  assert.equal(tls.alpnProtocol, "farcall");
});

test("a listener narrowed to farcall offers only farcall's ALPN name", async () => {
  const server = createServer({ tls: { ...certs.server } }).add(Who, { am: (echo, ctx) => ({ echo, peer: ctx.peer }) });
  const address = await server.listen("tcp://127.0.0.1:0", { protocols: ["farcall"] });
  cleanups.push(() => server.close({ graceMs: 100 }));
  const port = Number(address.split(":").pop());
  const offer = (names: string[]) =>
    new Promise<string | false | Error>((resolve) => {
      const t = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca: certs.ca, ALPNProtocols: names });
      cleanups.push(() => t.destroy());
      t.once("secureConnect", () => {
        resolve(t.alpnProtocol ?? false);
        t.destroy();
      });
      t.once("error", resolve);
    });
  assert.equal(await offer(["http/1.1", "farcall"]), "farcall");
  const refused = await offer(["http/1.1"]);
  assert.ok(refused instanceof Error, "no protocol in common: the handshake fails");
});

test("a TLS client that says nothing after the handshake is closed when the handshake timeout passes again", async () => {
  const { port } = await start({ handshakeTimeoutMs: 300 });
  const t = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca: certs.ca });
  cleanups.push(() => t.destroy());
  await new Promise<void>((resolve, reject) => {
    t.once("secureConnect", resolve);
    t.once("error", reject);
  });
  const started = Date.now();
  t.resume();
  await new Promise((r) => t.once("close", r));
  assert.ok(Date.now() - started >= 250, "closed by the timer, not at once");
});

test("close() ends connections still in their TLS handshake and waits for nothing else", async () => {
  const { server, port } = await start();
  const stuck = [];
  for (let i = 0; i < 5; i++) {
    const s = netConnect(port, "127.0.0.1");
    cleanups.push(() => s.destroy());
    await new Promise((r) => s.once("connect", r));
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50]));
    s.resume();
    stuck.push(new Promise((r) => s.once("close", r)));
  }
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  await server.close({ graceMs: 5_000 });
  await Promise.all(stuck);
  assert.ok(
    Date.now() - started < 4_000,
    "the handshaking connections (10 s handshake timeout) did not hold close() up",
  );
});
