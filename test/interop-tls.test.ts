// Real peers over TLS on loopback, each trusting the test CA (test/certs.ts): curl over HTTPS
// (HTTP JSON and JSON-RPC, with and without mTLS), Python's ssl module with JSON-RPC 2.0 on a TLS
// stream, Go's crypto/tls with net/rpc/jsonrpc, and chromium over https:// and wss:// trusting the
// server's key by its SPKI hash. Nothing is skipped: a missing curl, python3, go or chromium fails.

import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { Arith, arithImpl } from "../examples/demo/services.js";
import {
  builtinProtocols,
  createServer,
  defineService,
  type HandlerContext,
  type Protocol,
  type RpcError,
  type ServerTlsOptions,
  unary,
} from "../src/index.js";
import { testCerts } from "./certs.js";
import { until } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import {
  buildGoTlsClient,
  checkCurlTls,
  checkGoTlsClient,
  checkPythonJsonRpcTls,
  checkReadmeCurlTls,
  curlTlsFails,
  goTlsClientFails,
  pythonJsonRpcTlsFails,
  removeGoTlsBuild,
  type TlsFiles,
  type WhoamiReply,
} from "./peers.js";

const cleanups = trackCleanups();
const certs = testCerts();

// The PEM files the peers read, for the whole file.
const certDir = mkdtempSync(join(tmpdir(), "farcall-interop-tls-"));
after(() => {
  rmSync(certDir, { recursive: true, force: true });
  removeGoTlsBuild();
});
function pemFile(name: string, text: string): string {
  const path = join(certDir, name);
  writeFileSync(path, text);
  return path;
}
const caOnly: TlsFiles = { ca: pemFile("ca.pem", certs.ca) };
const withClient: TlsFiles = {
  ...caOnly,
  cert: pemFile("client.pem", certs.client.cert),
  key: pemFile("client-key.pem", certs.client.key),
};
const withRogue: TlsFiles = {
  ...caOnly,
  cert: pemFile("rogue-client.pem", certs.rogueClient.cert),
  key: pemFile("rogue-client-key.pem", certs.rogueClient.key),
};

/** Tells a peer of the connection its call came on: TLS version, ALPN, the client certificate. */
const Tls = defineService("Tls", { whoami: unary<unknown, WhoamiReply>() });
const tlsImpl = {
  whoami: (_input: unknown, ctx: HandlerContext): WhoamiReply => {
    const tls = ctx.peer.tls;
    return {
      commonName: tls?.certificate?.commonName ?? null,
      authorized: tls?.authorized ?? false,
      protocol: tls?.protocol ?? "plaintext",
      alpn: tls?.alpn ?? null,
      subjectAltNames: [...(tls?.certificate?.subjectAltNames ?? [])],
    };
  },
};

interface Started {
  port: number;
  logged: string[];
  refused: string[];
}

/** A server with the demo's Arith and `Tls.whoami` on a free loopback port, over TLS and plaintext. */
async function start(tls: ServerTlsOptions, protocols?: readonly Protocol[]): Promise<Started> {
  const logged: string[] = [];
  const refused: string[] = [];
  const server = createServer({
    tls,
    protocols,
    onConnectionError: (error: RpcError) => refused.push(error.message),
  })
    .add(
      Arith,
      arithImpl((line) => logged.push(line)),
    )
    .add(Tls, tlsImpl);
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  return { port: Number(new URL(address).port), logged, refused };
}

const mtls: ServerTlsOptions = { ...certs.server, ca: certs.ca, clientCertificates: "require" };
const anonymous = { commonName: null, authorized: false };
const client = { commonName: "client", authorized: true };

// -----------------------------------------------------------------------------------------------
// curl

test("curl over HTTPS: the README's examples, POST /Arith/add, JSON-RPC on POST /jsonrpc; without the CA it fails", async () => {
  const { port } = await start({ ...certs.server });
  await checkReadmeCurlTls(port, caOnly);
  await checkCurlTls(port, caOnly, anonymous);
  const untrusting = await curlTlsFails(port, {});
  assert.equal(untrusting.code, 60, `curl: the server's certificate cannot be verified\n${untrusting.stderr}`);
  assert.match(untrusting.stderr, /certificate/i);
});

test("curl with mTLS: the handler sees CN=client; no client certificate, or another CA's, fails", async () => {
  const { port, refused } = await start(mtls);
  await checkReadmeCurlTls(port, withClient);
  await checkCurlTls(port, withClient, client);

  const none = await curlTlsFails(port, caOnly);
  const rogue = await curlTlsFails(port, withRogue);
  await until(() => refused.length === 2);
  assert.match(refused[0] ?? "", /no client certificate was sent/);
  assert.match(refused[1] ?? "", /client certificate is not accepted|TLS handshake failed/);
  // curl's own words for a connection the server ends: what they are is curl's business, but
  // it must not have got an answer.
  for (const { code, stderr } of [none, rogue]) assert.notEqual(code, 0, stderr);
});

// -----------------------------------------------------------------------------------------------
// Python's ssl module

test("Python's ssl: JSON-RPC 2.0 over a TLS stream, from one request to a burst and a 300 KB message", async () => {
  const h = await start({ ...certs.server });
  await checkPythonJsonRpcTls(h.port, caOnly, anonymous, () => h.logged);
});

test("Python's ssl with mTLS: the handler sees CN=client; without a client certificate it is turned away", async () => {
  const h = await start(mtls);
  await checkPythonJsonRpcTls(h.port, withClient, client, () => h.logged);
  const stderr = await pythonJsonRpcTlsFails(h.port, caOnly);
  assert.match(stderr, /^jsonrpc_tls_client: /);
  await until(() => h.refused.length === 1);
  assert.match(h.refused[0] ?? "", /no client certificate was sent/);
});

// -----------------------------------------------------------------------------------------------
// Go's crypto/tls with net/rpc/jsonrpc

test("Go's crypto/tls with net/rpc/jsonrpc: Arith over TLS, straight and through CONNECT /_goRPC_", async () => {
  await buildGoTlsClient();
  const { port } = await start({ ...certs.server });
  await checkGoTlsClient(`localhost:${port}`, caOnly, anonymous);
});

test("Go's crypto/tls with mTLS: the handler sees CN=client; another CA's certificate is turned away", async () => {
  await buildGoTlsClient();
  const { port, refused } = await start(mtls);
  await checkGoTlsClient(`localhost:${port}`, withClient, client);
  const stderr = await goTlsClientFails(`localhost:${port}`, withRogue);
  assert.match(stderr, /^FAIL: /);
  await until(() => refused.length === 1);
  assert.match(refused[0] ?? "", /TLS handshake failed|not accepted/);
});

// -----------------------------------------------------------------------------------------------
// chromium

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const repoRoot = new URL("../../", import.meta.url);
const buildRoot = new URL("../", import.meta.url);

/** The base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as chromium's SPKI list takes it. */
function spkiHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/**
 * The page: it imports the compiled web entry and calls the farcall server named by `?server=`
 * over https:// and wss://, and tries `?untrusted=`, a server whose key chromium was not told
 * to trust. `window.results` holds each step's outcome, and the title becomes "done".
 */
const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>running</title>
<link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "msgpackr/pack": "/node_modules/msgpackr/pack.js" } }</script>
<script type="module">
const results = {};
try {
  const { createClient, defineService, unary, serverStream, bidiStream, RpcError, Code } = await import("/build/src/web/index.js");
  const query = new URLSearchParams(location.search);
  const server = query.get("server");
  const untrusted = query.get("untrusted");
  const Arith = defineService("Arith", { add: unary(), multiply: unary(), divide: unary(), count: serverStream(), chat: bidiStream() });
  const Tls = defineService("Tls", { whoami: unary() });
  const describe = (err) => err instanceof RpcError ? Code[err.code] + ": " + err.rawMessage : "not an RpcError: " + err;
  const step = async (id, body) => {
    try { results[id] = await body(); } catch (err) { results[id] = describe(err); }
  };
  const collect = async (stream) => { const got = []; for await (const x of stream) got.push(x); return got.join(","); };
  const clients = [];
  const open = (address) => { const c = createClient(address); clients.push(c); return c; };

  const https = open("https://" + server);
  await step("https-add", () => https.service(Arith).add({ a: 1, b: 2 }));
  await step("https-divide", () => https.service(Arith).divide({ a: 1, b: 0 }));
  await step("https-count", () => collect(https.service(Arith).count({ to: 3 })));
  await step("https-whoami", () => https.service(Tls).whoami(undefined));
  await step("fetch-multiply", async () => {
    const res = await fetch("https://" + server + "/Arith/multiply", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ a: 6, b: 7 }),
    });
    return res.status + " " + (await res.text());
  });

  const wss = open("wss://" + server + "/");
  await step("wss-add", () => wss.service(Arith).add({ a: 2, b: 3 }));
  await step("wss-divide", () => wss.service(Arith).divide({ a: 1, b: 0 }));
  await step("wss-count", () => collect(wss.service(Arith).count({ to: 3 })));
  await step("wss-chat", () => collect(wss.service(Arith).chat(["ping", "pong"])));
  await step("wss-whoami", () => wss.service(Tls).whoami(undefined));
  await step("jsonrpc-https-add", () => open("jsonrpc+https://" + server + "/").service(Arith).add({ a: 3, b: 4 }));
  await step("jsonrpc-wss-add", () => open("jsonrpc+wss://" + server + "/").service(Arith).add({ a: 4, b: 5 }));

  await step("untrusted-fetch", () =>
    fetch("https://" + untrusted + "/healthz").then((res) => "answered " + res.status, (err) => err.name));
  await step("untrusted-websocket", () => new Promise((resolve) => {
    const ws = new WebSocket("wss://" + untrusted + "/", "farcall");
    ws.onopen = () => { ws.close(); resolve("open"); };
    ws.onerror = () => resolve("error");
  }));

  await step("closed", async () => { await Promise.all(clients.map((c) => c.close())); return "yes"; });
  window.results = results;
  document.title = "done";
} catch (err) {
  window.results = { ...results, fatal: String(err && err.stack || err) };
  document.title = "error";
}
</script>
</head>
<body></body>
</html>
`;

const contentTypes: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".map": "application/json" };

/** An HTTPS server with the test server certificate for the page, the compiled modules and msgpackr. */
async function startPageServer(): Promise<{ server: HttpsServer; port: number; missing: string[] }> {
  const missing: string[] = [];
  const mounts: [string, URL][] = [
    ["/build/", buildRoot],
    ["/node_modules/", new URL("node_modules/", repoRoot)],
  ];
  const server = createHttpsServer({ ...certs.server }, async (req, res) => {
    const path = new URL(req.url ?? "/", "https://x").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(pageHtml);
      return;
    }
    const mount = mounts.find(([prefix]) => path.startsWith(prefix));
    const type = contentTypes[path.slice(path.lastIndexOf("."))];
    if (mount !== undefined && type !== undefined) {
      const file = new URL(`./${path.slice(mount[0].length)}`, mount[1]);
      if (file.href.startsWith(mount[1].href)) {
        try {
          const body = await readFile(fileURLToPath(file));
          res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
          res.end(body);
          return;
        } catch {
          // 404 below
        }
      }
    }
    missing.push(path);
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { server, port: (server.address() as AddressInfo).port, missing };
}

test("chromium over https:// and wss://, trusting the server's key by its SPKI hash", { timeout: 60_000 }, async () => {
  const page = await startPageServer();
  const origin = `https://localhost:${page.port}`;
  const farcall = await start({ ...certs.server }, builtinProtocols({ http: { corsOrigins: [origin] } }));
  // A server whose certificate (from the same CA, for localhost, but expired and with another key)
  // chromium was not told to trust.
  const untrusted = await start({ ...certs.expired });

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      `--ignore-certificate-errors-spki-list=${spkiHash(certs.server.cert)}`,
    ],
    timeout: 30_000,
  });
  cleanups.push(() => browser.close());
  const tab = await browser.newPage();
  const pageErrors: string[] = [];
  tab.on("pageerror", (err) => pageErrors.push(err.stack ?? err.message));

  const query = `server=localhost:${farcall.port}&untrusted=localhost:${untrusted.port}`;
  await tab.goto(`${origin}/?${query}`, { timeout: 10_000 });
  await tab.waitForFunction("document.title !== 'running'", null, { timeout: 20_000, polling: 50 });
  const shown = (await tab.evaluate("({ title: document.title, results: window.results })")) as {
    title: string;
    results: Record<string, unknown>;
  };
  const report = JSON.stringify({ ...shown, pageErrors, missing: page.missing }, null, 2);
  assert.equal(shown.title, "done", report);

  const viaHttp = { commonName: null, authorized: false, protocol: "TLSv1.3", alpn: "http/1.1", subjectAltNames: [] };
  assert.deepEqual(
    shown.results,
    {
      "https-add": 3,
      "https-divide": "InvalidArgument: divide by zero",
      "https-count": "1,2,3",
      "https-whoami": viaHttp,
      "fetch-multiply": "200 42",
      "wss-add": 5,
      "wss-divide": "InvalidArgument: divide by zero",
      "wss-count": "1,2,3",
      "wss-chat": "PING,PONG",
      "wss-whoami": viaHttp,
      "jsonrpc-https-add": 7,
      "jsonrpc-wss-add": 9,
      "untrusted-fetch": "TypeError",
      "untrusted-websocket": "error",
      closed: "yes",
    },
    report,
  );
  assert.deepEqual(pageErrors, [], report);
  assert.deepEqual(page.missing, [], report);
  // chromium gave up on the untrusted server's certificate itself: that server saw handshakes fail.
  await until(() => untrusted.refused.length > 0);
  assert.match(untrusted.refused.join("\n"), /TLS handshake failed/);
});
