// The programs that call a farcall server from outside, and what each must get back: Go's net/rpc
// client (interop/go), the Python scripts (interop/python), jayson's clients, curl running the
// README's examples (chromium loading test/browser/index.html is browser-peer.ts). A test starts a
// server and hands its port here; the interop tests use a fresh in-process server per check, and
// test/one-port.test.ts points every peer at one demo server process.
//
// Nothing is skipped: a missing go, python3 or curl makes the check fail.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import jayson, { type JSONRPCRequest } from "jayson";
import { until, within } from "./fixtures.js";

/** This file compiles to <build>/test/peers.js, the build dir being one level below the repository. */
const _buildRoot = new URL("../", import.meta.url);
const repoRoot = new URL("../../", import.meta.url);
const root = fileURLToPath(repoRoot);

/** What a server logged through `Arith.log` while the current check ran, oldest first. */
export type Logged = () => readonly string[];

// -----------------------------------------------------------------------------------------------
// Running programs.

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a program to its end and collects its output. A program still running after `timeoutMs`
 * is killed (by its own handle) and reported as `timedOut`. Rejects only when it cannot start.
 */
export function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Ran> {
  return new Promise<Ran>((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${err.message}`, { cause: err }));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function describeRun(what: string, result: Ran): string {
  const ended = result.timedOut ? "timed out" : `exit ${result.code ?? result.signal}`;
  return `${what}: ${ended}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** Runs a program that must finish in time with status 0; resolves with what it printed. */
async function runOk(file: string, args: string[], timeoutMs: number): Promise<Ran> {
  const result = await run(file, args, { timeoutMs });
  const detail = describeRun([file, ...args].join(" "), result);
  assert.equal(result.timedOut, false, `did not finish within ${timeoutMs} ms\n${detail}`);
  assert.equal(result.code, 0, detail);
  return result;
}

/** The output's lines, which must end with a newline. */
function linesOf(stdout: string): string[] {
  assert.ok(stdout.endsWith("\n"), `output ends with a newline: ${JSON.stringify(stdout)}`);
  return stdout.slice(0, -1).split("\n");
}

// -----------------------------------------------------------------------------------------------
// Go: interop/go/client and interop/go/server, built once per test file.

function writable(dir: string | undefined): boolean {
  if (!dir) return false;
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The environment for `go build`: offline, no cgo, and caches under the temp dir when HOME is read-only. */
function goEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GOPROXY: "off", GOTOOLCHAIN: "local", CGO_ENABLED: "0" };
  if (!writable(process.env.HOME)) {
    env.GOCACHE ??= join(tmpdir(), "farcall-go-cache");
    env.GOPATH ??= join(tmpdir(), "farcall-go-path");
  }
  return env;
}

let goOutDir: string | undefined;
let goBuilt: Promise<{ client: string; server: string }> | undefined;

/** Builds interop/go/client and interop/go/server once; a missing `go` or a failed build rejects. */
export function buildGo(): Promise<{ client: string; server: string }> {
  goBuilt ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), "farcall-interop-go-"));
    goOutDir = outDir;
    const result = await run("go", ["build", "-o", `${outDir}/`, "./client", "./server"], {
      cwd: join(root, "interop", "go"),
      env: goEnv(),
      timeoutMs: 180_000,
    });
    if (result.code !== 0) throw new Error(describeRun("go build failed", result));
    return { client: join(outDir, "client"), server: join(outDir, "server") };
  })();
  return goBuilt;
}

/** Removes what {@link buildGo} built; for an `after` hook. */
export function removeGoBuild(): void {
  if (goOutDir !== undefined) rmSync(goOutDir, { recursive: true, force: true });
  goOutDir = undefined;
  goBuilt = undefined;
}

/**
 * Runs Go's net/rpc/jsonrpc client against `hostPort` (plain TCP, then CONNECT /_goRPC_): it must
 * exit 0, write nothing to stderr and print every step's expected line.
 */
export async function checkGoClient(hostPort: string): Promise<void> {
  const { client } = await buildGo();
  const result = await runOk(client, [hostPort], 30_000);
  const detail = describeRun("the Go client", result);
  assert.equal(result.stderr, "", detail);

  const lines = linesOf(result.stdout);
  // The error text for an unknown method is the server's own; it must name the method.
  const unknown = lines.findIndex((line) => line.startsWith("unknown-method error: "));
  assert.notEqual(unknown, -1, detail);
  assert.match(lines[unknown] ?? "", /^unknown-method error: .*nosuchmethod/i);
  lines[unknown] = "unknown-method error: …";
  assert.deepEqual(lines, [
    "multiply 56",
    "add-concurrent 20/20",
    "divide 2.125",
    "divide-by-zero error: divide by zero",
    "unknown-method error: …",
    "multiply-after-errors 30",
    "http-connect 200 Connected to Go RPC",
    "http-multiply 42",
    "http-add-concurrent 20/20",
    "http-divide-by-zero error: divide by zero",
    "done",
  ]);
}

// -----------------------------------------------------------------------------------------------
// Python: interop/python/*.py, standard library only.

/** Runs interop/python/<script> against the port; resolves with its stdout lines. */
async function python(port: number, script: string, ...args: string[]): Promise<string[]> {
  const scriptPath = join(root, "interop", "python", script);
  const result = await runOk("python3", [scriptPath, "--host", "127.0.0.1", "--port", String(port), ...args], 20_000);
  return linesOf(result.stdout);
}

/** Go's JSON-RPC 1.0 dialect from a raw socket: Arith.Add, then Arith.Divide by zero. */
export async function checkPythonGoDialect(port: number): Promise<void> {
  const lines = await python(port, "gorpc_client.py");
  assert.equal(lines.length, 2, lines.join("\n"));
  // Go's client needs all three members, `error` included (null on success).
  assert.deepEqual(JSON.parse(lines[0] as string), { id: 0, result: 60, error: null });
  assert.deepEqual(JSON.parse(lines[1] as string), { id: 1, result: null, error: "divide by zero" });
}

/** The JSON-RPC error object, with the farcall code the doc promises in `data.code`. */
function rpcError(code: number, dataCode: string) {
  return { code, data: { code: dataCode } };
}

/** The reply with each error reduced to its code and `data.code` (messages are free text). */
function shape(reply: unknown): unknown {
  if (Array.isArray(reply)) return reply.map(shape);
  assert.ok(typeof reply === "object" && reply !== null, `a reply object: ${JSON.stringify(reply)}`);
  const { error, ...rest } = reply as { error?: { code: unknown; message: unknown; data?: { code?: unknown } } };
  if (error === undefined) return rest;
  assert.equal(typeof error.message, "string", `error.message is a string: ${JSON.stringify(error)}`);
  return { ...rest, error: { code: error.code, data: { code: error.data?.code } } };
}

// Replies in the batch's request order, without the notification (docs/protocols.md).
const batchReply = [
  { jsonrpc: "2.0", id: "m", result: 42 },
  { jsonrpc: "2.0", id: 2, result: 9 },
  { jsonrpc: "2.0", id: 3, error: rpcError(-32601, "unimplemented") },
  { jsonrpc: "2.0", id: 4, error: rpcError(-32602, "invalid_argument") },
  { jsonrpc: "2.0", id: null, error: rpcError(-32600, "invalid_argument") },
];

/**
 * jsonrpc_client.py over TCP or HTTP: a request, a notification and a mixed batch; both
 * notifications (the one alone and the one in the batch) must run on the server.
 */
export async function checkPythonJsonRpc(port: number, transport: "tcp" | "http", logged: Logged): Promise<void> {
  const lines = (await python(port, "jsonrpc_client.py", "--transport", transport)).map((l) => JSON.parse(l));
  assert.equal(lines.length, 3, JSON.stringify(lines));
  const [request, notification, batch] = lines;
  if (transport === "tcp") {
    assert.deepEqual(request, { transport: "tcp", step: "request", reply: { jsonrpc: "2.0", id: 1, result: 5 } });
    // The first reply after the notification is the probe's: the notification got none.
    assert.deepEqual(notification, {
      transport: "tcp",
      step: "notification",
      reply: { jsonrpc: "2.0", id: "after-notification", result: 9 },
    });
    assert.equal(batch.step, "batch");
  } else {
    assert.equal(request.status, 200);
    assert.match(request.contentType, /^application\/json\b/);
    assert.deepEqual(request.reply, { jsonrpc: "2.0", id: 1, result: 5 });
    // A notification is answered 204 with no body.
    assert.deepEqual(
      { status: notification.status, body: notification.body, reply: notification.reply },
      { status: 204, body: "", reply: undefined },
    );
    assert.equal(batch.status, 200);
    assert.match(batch.contentType, /^application\/json\b/);
  }
  assert.deepEqual(shape(batch.reply), batchReply);
  await until(() => logged().length >= 2);
  assert.deepEqual([...logged()].sort(), [`python ${transport} batch note`, `python ${transport} notification`]);
}

// -----------------------------------------------------------------------------------------------
// jayson's JSON-RPC 2.0 clients.

interface Reply {
  jsonrpc?: string;
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { code?: string } };
}

type JaysonClient = ReturnType<typeof jayson.client.tcp>;
type JaysonTransport = "tcp" | "http";

/** jayson's TCP client, and its HTTP client on one connection per request (nothing kept alive). */
export const jaysonClients: Record<JaysonTransport, (port: number) => JaysonClient> = {
  tcp: (port) => jayson.client.tcp({ host: "127.0.0.1", port }),
  http: (port) => jayson.client.http({ host: "127.0.0.1", port, path: "/", agent: false }),
};

/** Sends one request (or a batch) with jayson's callback API; resolves with the whole JSON-RPC answer. */
function send(client: JaysonClient, method: string | JSONRPCRequest[], params?: object): Promise<unknown> {
  return within(
    new Promise((resolve, reject) => {
      // A two-argument callback gets the answer as it came, not split into error and result.
      const done = (err?: unknown, answer?: unknown) => (err ? reject(err) : resolve(answer));
      if (typeof method === "string") client.request(method, params, done);
      else client.request(method, done);
    }),
    5_000,
    `jayson call ${JSON.stringify(method)}`,
  );
}

type JaysonCheck = (client: JaysonClient, transport: JaysonTransport, logged: Logged) => Promise<void>;

/** What jayson's clients must get from the demo Arith service, by the name of each check. */
export const jaysonChecks: Record<string, JaysonCheck> = {
  "Arith.add with params by name returns the sum": async (client) => {
    const answer = (await send(client, "Arith.add", { a: 2, b: 3 })) as Reply;
    assert.equal(answer.jsonrpc, "2.0");
    assert.equal(answer.result, 5);
    assert.equal(answer.error, undefined);
  },

  "Arith.divide by zero is -32602 with data.code invalid_argument": async (client) => {
    const answer = (await send(client, "Arith.divide", { a: 1, b: 0 })) as Reply;
    assert.equal(answer.result, undefined);
    assert.equal(answer.error?.code, -32602);
    assert.equal(answer.error?.data?.code, "invalid_argument");
    assert.match(answer.error?.message ?? "", /divide by zero/);
  },

  "an unknown method is -32601": async (client) => {
    const answer = (await send(client, "Arith.nosuch", { a: 1 })) as Reply;
    assert.equal(answer.error?.code, -32601);
    assert.equal(answer.error?.data?.code, "unimplemented");
  },

  "a batch is answered in request order, without its notification, which runs": async (client, transport, logged) => {
    // Without a callback, request() only builds the request object.
    const batch = [
      client.request("Arith.add", { a: 1, b: 2 }, "first"),
      client.request("Arith.log", [`jayson ${transport} batch note`], null),
      client.request("Arith.multiply", { a: 6, b: 7 }, "second"),
      client.request("Arith.nosuch", {}, "third"),
      client.request("Arith.divide", { a: 1, b: 0 }, "fourth"),
    ];
    assert.equal("id" in (batch[1] as object), false, "jayson sends a notification without an id");
    const answer = (await send(client, batch)) as Reply[];
    assert.ok(Array.isArray(answer), JSON.stringify(answer));
    assert.deepEqual(
      answer.map((r) => [r.id, r.result ?? null, r.error?.code ?? null]),
      [
        ["first", 3, null],
        ["second", 42, null],
        ["third", null, -32601],
        ["fourth", null, -32602],
      ],
    );
    await until(() => logged().length > 0);
    assert.deepEqual(logged(), [`jayson ${transport} batch note`]);
  },

  "a notification runs and gets no answer": async (client, transport, logged) => {
    const answer = await within(
      new Promise((resolve, reject) =>
        client.request("Arith.log", [`jayson ${transport} notification`], null, (err?: unknown, a?: unknown) =>
          err ? reject(err) : resolve(a),
        ),
      ),
      5_000,
      "notification",
    );
    assert.equal(answer, undefined, "no answer");
    await until(() => logged().length > 0);
    assert.deepEqual(logged(), [`jayson ${transport} notification`]);
  },
};

// -----------------------------------------------------------------------------------------------
// curl, running the README's examples.

/** `[command, expected output]` pairs from the README's sh block that runs curl. */
function curlExamples(): [string, string][] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = /```sh\n(curl[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README has a sh block of curl examples");
  const lines = block.replace(/\\\n\s*/g, "").split("\n");
  const pairs: [string, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.startsWith("curl ")) continue;
    const comment = lines[i + 1] ?? "";
    assert.match(comment, /^# /, `a comment with the expected output follows: ${line}`);
    pairs.push([line, comment.slice(2).replace(/\s+\(one per line\)$/, "")]);
  }
  return pairs;
}

/** Splits a command line into arguments, honouring single quotes (all the README uses). */
function argv(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string);
}

/** Runs curl with `args`; it must exit 0. Resolves with what it printed. */
export async function curl(...args: string[]): Promise<string> {
  return (await runOk("curl", args, 10_000)).stdout;
}

/**
 * Runs every curl command of the README (POST /Arith/add, a server stream, JSON-RPC POST /,
 * GET /healthz) against the port instead of 4000; each must print what the comment under it says.
 */
export async function checkReadmeCurl(port: number): Promise<void> {
  const examples = curlExamples();
  assert.ok(examples.length >= 4, `found ${examples.length} examples`);
  for (const [command, expected] of examples) {
    const [file, ...args] = argv(command.replaceAll("127.0.0.1:4000", `127.0.0.1:${port}`));
    assert.equal(file, "curl", command);
    const out = await curl(...args);
    assert.equal(out.trim().split("\n").join(" "), expected, command);
  }
}

// -----------------------------------------------------------------------------------------------
// The same peers over TLS (test/interop-tls.test.ts): each trusts the test CA from a file and may
// present a client certificate.

/** PEM files a peer reads: the CA, and a client certificate with its key for mTLS. */
export interface TlsFiles {
  ca: string;
  cert?: string;
  key?: string;
}

/** What the TLS tests' `Tls.whoami` tells of the connection it came on. */
export interface WhoamiReply {
  commonName: string | null;
  authorized: boolean;
  protocol: string;
  alpn: string | null;
  subjectAltNames: string[];
}

/** What a peer must be told by `Tls.whoami`: the client certificate's name and whether it verified. */
export interface TlsExpect {
  commonName: string | null;
  authorized: boolean;
}

/** Runs a program that must fail (non-zero status, in time); resolves with what it printed. */
export async function runFails(file: string, args: string[], timeoutMs: number): Promise<Ran> {
  const result = await run(file, args, { timeoutMs });
  const detail = describeRun([file, ...args].join(" "), result);
  assert.equal(result.timedOut, false, `did not finish within ${timeoutMs} ms\n${detail}`);
  assert.notEqual(result.code, 0, `expected a failure\n${detail}`);
  return result;
}

/** curl's arguments for trusting the CA and presenting the client certificate, if any. */
function curlTlsArgs(files: TlsFiles): string[] {
  const args = ["--cacert", files.ca];
  if (files.cert !== undefined) args.push("--cert", files.cert);
  if (files.key !== undefined) args.push("--key", files.key);
  return args;
}

/**
 * The README's curl examples over `https://localhost:<port>` instead of `http://127.0.0.1:4000`,
 * curl trusting the CA (and presenting the client certificate): each must print what the README says.
 */
export async function checkReadmeCurlTls(port: number, files: TlsFiles): Promise<void> {
  const examples = curlExamples();
  assert.ok(examples.length >= 4, `found ${examples.length} examples`);
  for (const [command, expected] of examples) {
    assert.ok(command.includes("http://127.0.0.1:4000"), command);
    const [file, ...args] = argv(command.replaceAll("http://127.0.0.1:4000", `https://localhost:${port}`));
    assert.equal(file, "curl", command);
    const out = await curl(...curlTlsArgs(files), ...args);
    assert.equal(out.trim().split("\n").join(" "), expected, `over TLS: ${command}`);
  }
}

/**
 * curl over HTTPS: `POST /Arith/add`, JSON-RPC 2.0 on `POST /jsonrpc`, an error's status and
 * body, and `POST /Tls/whoami`, which must tell of TLS 1.3 with ALPN http/1.1 (curl offers h2
 * too) and of the client certificate as `expect` says. curl's `-d` alone sends a form content
 * type, which the server refuses (415), so the calls name JSON.
 */
export async function checkCurlTls(port: number, files: TlsFiles, expect: TlsExpect): Promise<void> {
  const base = `https://localhost:${port}`;
  const tlsArgs = curlTlsArgs(files);
  const json = ["-H", "content-type: application/json"];
  assert.equal(await curl("-sS", ...tlsArgs, ...json, `${base}/Arith/add`, "-d", '{"a":1,"b":2}'), "3");
  const form = await curl("-sS", ...tlsArgs, "-o", "/dev/null", "-w", "%{http_code}", `${base}/Arith/add`, "-d", "{}");
  assert.equal(form, "415", "a body sent as application/x-www-form-urlencoded");

  const rpc = await curl(
    "-sS",
    ...tlsArgs,
    ...json,
    `${base}/jsonrpc`,
    "-d",
    '{"jsonrpc":"2.0","id":7,"method":"Arith.multiply","params":{"a":6,"b":7}}',
  );
  assert.deepEqual(JSON.parse(rpc), { jsonrpc: "2.0", id: 7, result: 42 });

  // The status after the body, on a line of its own.
  const failed = await curl(
    "-sS",
    ...tlsArgs,
    ...json,
    "-w",
    "\n%{http_code}",
    `${base}/Arith/divide`,
    "-d",
    '{"a":1,"b":0}',
  );
  const [body, status] = failed.split("\n");
  assert.equal(status, "400", failed);
  assert.deepEqual(JSON.parse(body as string), { code: "invalid_argument", message: "divide by zero" });

  const who = JSON.parse(await curl("-sS", ...tlsArgs, "-X", "POST", `${base}/Tls/whoami`)) as WhoamiReply;
  assert.deepEqual(
    { commonName: who.commonName, authorized: who.authorized, protocol: who.protocol, alpn: who.alpn },
    { ...expect, protocol: "TLSv1.3", alpn: "http/1.1" },
  );
}

/** curl over HTTPS that must fail; resolves with its exit status and what it said. */
export async function curlTlsFails(port: number, files: Partial<TlsFiles>): Promise<{ code: number; stderr: string }> {
  const args: string[] = [];
  if (files.ca !== undefined) args.push("--cacert", files.ca);
  if (files.cert !== undefined) args.push("--cert", files.cert);
  if (files.key !== undefined) args.push("--key", files.key);
  const result = await runFails(
    "curl",
    ["-sS", ...args, "-H", "content-type: application/json", `https://localhost:${port}/Arith/add`, "-d", "{}"],
    10_000,
  );
  return { code: result.code ?? -1, stderr: result.stderr };
}

/** jsonrpc_tls_client.py's arguments for `files`. */
function pythonTlsArgs(port: number, files: TlsFiles): string[] {
  const script = join(root, "interop", "python", "jsonrpc_tls_client.py");
  const args = [script, "--host", "localhost", "--port", String(port), "--cafile", files.ca];
  if (files.cert !== undefined) args.push("--certfile", files.cert);
  if (files.key !== undefined) args.push("--keyfile", files.key);
  return args;
}

/**
 * interop/python/jsonrpc_tls_client.py (socket + ssl) against the port: JSON-RPC 2.0 over a TLS
 * stream, from a request to a pipelined burst and a message spanning many TLS records; the
 * notification must run on the server, and `Tls.whoami` tell of the client certificate.
 */
export async function checkPythonJsonRpcTls(
  port: number,
  files: TlsFiles,
  expect: TlsExpect,
  logged: Logged,
): Promise<void> {
  const result = await runOk("python3", pythonTlsArgs(port, files), 20_000);
  const detail = describeRun("jsonrpc_tls_client.py", result);
  assert.equal(result.stderr, "", detail);
  const steps = linesOf(result.stdout).map((line) => JSON.parse(line) as { step: string; reply?: Reply });
  assert.deepEqual(
    steps.map((s) => s.step),
    ["tls", "request", "positional", "error", "notification", "batch", "pipelined", "big", "whoami"],
    detail,
  );
  const [tls, request, positional, error, notification, batch, pipelined, big, whoami] = steps;
  assert.deepEqual(tls, { step: "tls", version: "TLSv1.3", alpn: "jsonrpc" });
  assert.deepEqual(request?.reply, { jsonrpc: "2.0", id: 1, result: 5 });
  assert.deepEqual(positional?.reply, { jsonrpc: "2.0", id: "m", result: 42 });
  assert.deepEqual(shape(error?.reply), { jsonrpc: "2.0", id: 3, error: rpcError(-32602, "invalid_argument") });
  assert.match(error?.reply?.error?.message ?? "", /divide by zero/);
  // The first reply after the notification is the probe's: the notification got none.
  assert.deepEqual(notification?.reply, { jsonrpc: "2.0", id: "after-notification", result: 9 });
  assert.deepEqual(batch?.reply, [
    { jsonrpc: "2.0", id: "b1", result: 3 },
    { jsonrpc: "2.0", id: "b2", result: 20 },
  ]);
  assert.deepEqual(pipelined, { step: "pipelined", count: 20, correct: 20 });
  assert.deepEqual(big, { step: "big", length: 300_001, correct: true });
  const who = whoami?.reply?.result as WhoamiReply | undefined;
  assert.deepEqual(
    { commonName: who?.commonName, authorized: who?.authorized, protocol: who?.protocol, alpn: who?.alpn },
    { ...expect, protocol: "TLSv1.3", alpn: "jsonrpc" },
    detail,
  );
  await until(() => logged().length > 0);
  assert.deepEqual(logged(), ["python tls notification"]);
}

/** jsonrpc_tls_client.py that must fail (exit 1); resolves with what it wrote to stderr. */
export async function pythonJsonRpcTlsFails(port: number, files: TlsFiles): Promise<string> {
  const result = await runFails("python3", pythonTlsArgs(port, files), 20_000);
  assert.equal(result.code, 1, describeRun("jsonrpc_tls_client.py", result));
  return result.stderr;
}

let goTlsOutDir: string | undefined;
let goTlsBuilt: Promise<string> | undefined;

/** Builds interop/go/tlsclient once; a missing `go` or a failed build rejects. */
export function buildGoTlsClient(): Promise<string> {
  goTlsBuilt ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), "farcall-interop-go-tls-"));
    goTlsOutDir = outDir;
    const result = await run("go", ["build", "-o", `${outDir}/`, "./tlsclient"], {
      cwd: join(root, "interop", "go"),
      env: goEnv(),
      timeoutMs: 180_000,
    });
    if (result.code !== 0) throw new Error(describeRun("go build ./tlsclient failed", result));
    return join(outDir, "tlsclient");
  })();
  return goTlsBuilt;
}

/** Removes what {@link buildGoTlsClient} built; for an `after` hook. */
export function removeGoTlsBuild(): void {
  if (goTlsOutDir !== undefined) rmSync(goTlsOutDir, { recursive: true, force: true });
  goTlsOutDir = undefined;
  goTlsBuilt = undefined;
}

/** interop/go/tlsclient's arguments for `files`. */
function goTlsArgs(hostPort: string, files: TlsFiles): string[] {
  const args = ["-ca", files.ca];
  if (files.cert !== undefined) args.push("-cert", files.cert);
  if (files.key !== undefined) args.push("-key", files.key);
  return [...args, hostPort];
}

/**
 * Go's crypto/tls with net/rpc/jsonrpc against `hostPort` (`localhost:<port>`): the JSON stream
 * straight over TLS (ALPN jsonrpc), then `CONNECT /_goRPC_` inside TLS (no ALPN); it must exit 0,
 * write nothing to stderr and print every step's expected line.
 */
export async function checkGoTlsClient(hostPort: string, files: TlsFiles, expect: TlsExpect): Promise<void> {
  const client = await buildGoTlsClient();
  const result = await runOk(client, goTlsArgs(hostPort, files), 30_000);
  const detail = describeRun("the Go TLS client", result);
  assert.equal(result.stderr, "", detail);
  const who = `cn=${expect.commonName ?? "-"} authorized=${expect.authorized}`;
  assert.deepEqual(
    linesOf(result.stdout),
    [
      "tls TLSv1.3 alpn=jsonrpc",
      "add 60",
      "multiply 56",
      "add-concurrent 20/20",
      "divide-by-zero error: divide by zero",
      "multiply-after-error 30",
      `whoami ${who} protocol=TLSv1.3 alpn=jsonrpc`,
      "http-tls TLSv1.3 alpn=-",
      "http-connect 200 Connected to Go RPC",
      "http-multiply 42",
      `http-whoami ${who} protocol=TLSv1.3 alpn=-`,
      "done",
    ],
    detail,
  );
}

/** interop/go/tlsclient that must fail; resolves with what it wrote to stderr. */
export async function goTlsClientFails(hostPort: string, files: TlsFiles): Promise<string> {
  const client = await buildGoTlsClient();
  const result = await runFails(client, goTlsArgs(hostPort, files), 30_000);
  assert.equal(result.code, 1, describeRun("the Go TLS client", result));
  return result.stderr;
}
