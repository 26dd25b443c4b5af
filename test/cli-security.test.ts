// TLS, tokens and HMAC from the command line: the demo server with --tls-cert, --tls-key,
// --tls-client-ca and --no-plaintext serves every protocol over TLS only, and `farcall call` with
// --cacert, --cert/--key, --token and --hmac-key calls it (and fails with the reason without them).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Arith, arithImpl } from "../examples/demo/services.js";
import { bearerTokens, createServer, hmacVerifier } from "../src/index.js";
import { testCerts } from "./certs.js";
import { farcall } from "./cli-run.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const serverProgram = fileURLToPath(new URL("../examples/demo/server.js", import.meta.url));

function certFiles(): Record<"ca" | "cert" | "key" | "clientCert" | "clientKey", string> {
  const certs = testCerts();
  const dir = mkdtempSync(join(tmpdir(), "farcall-cli-certs-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const files = {
    ca: [join(dir, "ca.pem"), certs.ca],
    cert: [join(dir, "server.pem"), certs.server.cert],
    key: [join(dir, "server-key.pem"), certs.server.key],
    clientCert: [join(dir, "client.pem"), certs.client.cert],
    clientKey: [join(dir, "client-key.pem"), certs.client.key],
  } as const;
  for (const [path, pem] of Object.values(files)) writeFileSync(path, pem);
  return Object.fromEntries(Object.entries(files).map(([k, [path]]) => [k, path])) as ReturnType<typeof certFiles>;
}

/** Starts the demo server program and resolves with its port once it says where it listens. */
function demoServer(args: string[]): Promise<{ port: number; line: string }> {
  const child: ChildProcess = spawn(process.execPath, [serverProgram, "--port", "0", "--no-udp", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      out += text;
      const m = /listening on tcp:\/\/127\.0\.0\.1:(\d+)(.*)/.exec(out);
      if (m !== null) resolve({ port: Number(m[1]), line: m[0] });
    });
    child.once("exit", (code) => reject(new Error(`demo server exited ${code}: ${out}`)));
  });
}

test("the demo server over TLS only with mTLS, called by farcall call with --cacert, --cert and --key", async () => {
  const f = certFiles();
  const { port, line } = await demoServer([
    "--tls-cert",
    f.cert,
    "--tls-key",
    f.key,
    "--tls-client-ca",
    f.ca,
    "--no-plaintext",
  ]);
  assert.match(line, /\(TLS only\)/);
  const mtls = ["--cacert", f.ca, "--cert", f.clientCert, "--key", f.clientKey];
  for (const scheme of ["tls", "https", "jsonrpc+tls", "wss"]) {
    const r = await farcall("call", `${scheme}://localhost:${port}`, "Arith/add", '{"a":1,"b":2}', ...mtls);
    assert.equal(r.code, 0, `${scheme}: ${r.stderr}`);
    assert.equal(r.stdout, "3\n");
  }
  const noCert = await farcall("call", `tls://localhost:${port}`, "Arith/add", '{"a":1,"b":2}', "--cacert", f.ca);
  assert.equal(noCert.code, 1);
  assert.match(noCert.stderr, /unavailable.*TLS/);
  const noCa = await farcall("call", `tls://localhost:${port}`, "Arith/add", '{"a":1,"b":2}');
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /TLS handshake failed: the certificate .*(unknown|self-signed)/);
  const plain = await farcall("call", `tcp://127.0.0.1:${port}`, "Arith/add", '{"a":1,"b":2}');
  assert.equal(plain.code, 1);
  const half = await farcall("call", `tls://localhost:${port}`, "Arith/add", "--cert", f.clientCert);
  assert.equal(half.code, 1);
  assert.match(half.stderr, /--cert and --key go together/);
});

test("farcall call --token and --hmac-key authenticate; without them the call is unauthenticated", async () => {
  const tokenServer = createServer({
    authenticate: bearerTokens((t) => {
      if (t !== "let-me-in") throw new Error("no");
      return { user: "cli" };
    }),
  }).add(Arith, arithImpl());
  const secret = "a secret of at least thirty-two bytes";
  const hmacServer = createServer({
    authenticate: hmacVerifier({ keys: new Map([["cli", new TextEncoder().encode(secret)]]) }),
  }).add(Arith, arithImpl());
  const tokenAddress = await tokenServer.listen("tcp://127.0.0.1:0");
  const hmacAddress = await hmacServer.listen("tcp://127.0.0.1:0");
  cleanups.push(
    () => tokenServer.close({ graceMs: 100 }),
    () => hmacServer.close({ graceMs: 100 }),
  );
  const ok = await farcall("call", tokenAddress, "Arith/add", '{"a":2,"b":2}', "--token", "let-me-in");
  assert.equal(ok.stdout, "4\n", ok.stderr);
  const anon = await farcall("call", tokenAddress, "Arith/add", '{"a":2,"b":2}');
  assert.equal(anon.code, 1);
  assert.match(anon.stderr, /unauthenticated.*missing bearer token/);
  const http = await farcall(
    "call",
    tokenAddress.replace("tcp://", "http://"),
    "Arith/add",
    '{"a":2,"b":3}',
    "--token",
    "let-me-in",
  );
  assert.equal(http.stdout, "5\n", http.stderr);
  for (const address of [hmacAddress, hmacAddress.replace("tcp://", "http://")]) {
    const signed = await farcall("call", address, "Arith/add", '{"a":3,"b":3}', "--hmac-key", `cli:${secret}`);
    assert.equal(signed.stdout, "6\n", signed.stderr);
  }
  const unsigned = await farcall("call", hmacAddress, "Arith/add", '{"a":3,"b":3}');
  assert.match(unsigned.stderr, /unauthenticated.*not signed/);
  const badKey = await farcall("call", hmacAddress, "Arith/add", "--hmac-key", "nocolon");
  assert.match(badKey.stderr, /--hmac-key takes id:secret/);
});
