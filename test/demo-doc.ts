// The examples of docs/demo.md, read from the document and checked against a demo server on a
// loopback port: the farcall framing blocks byte for byte, every curl command (status and body),
// and every JSON-RPC request again over TCP. test/demo-doc.test.ts runs them against an in-process
// demo; they can as well be pointed at `npm run server`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sleep } from "./fixtures.js";
import { LinePeer } from "./line-peer.js";
import { curl } from "./peers.js";
import { RawPeer } from "./raw-farcall.js";

const docUrl = new URL("../../docs/demo.md", import.meta.url);

/** A farcall block: what the client sends, and a pattern for exactly what the server answers (hex). */
export interface FarcallExample {
  name: string;
  send: Buffer;
  answer: RegExp;
  /** Bytes the server answers with, `..` included. */
  answerBytes: number;
}

/** A curl command and what it must print: the status, then the body's lines. */
export interface CurlExample {
  command: string;
  status: number;
  body: string[];
}

export interface DemoDoc {
  farcall: FarcallExample[];
  curl: CurlExample[];
}

/** An ISO 8601 UTC time with milliseconds, which `<time>` stands for. */
const isoTime = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z";

/** The body line as a pattern: `<time>` matches a time, everything else itself. */
function linePattern(line: string): RegExp {
  const parts = line.split("<time>").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(isoTime)}$`);
}

function parseFarcall(name: string, body: string): FarcallExample {
  const send: string[] = [];
  const answer: string[] = [];
  for (const raw of body.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const dir = line[0];
    assert.ok(dir === ">" || dir === "<", `block ${name}: a line must start with > or <: ${raw}`);
    const bytes = line.slice(1).trim().split(/\s+/);
    for (const b of bytes) assert.match(b, /^([0-9a-f]{2}|\.\.)$/, `block ${name}: ${b} is not a byte`);
    if (dir === ">") {
      assert.ok(!bytes.includes(".."), `block ${name}: what the client sends cannot vary`);
      send.push(...bytes);
    } else answer.push(...bytes);
  }
  return {
    name,
    send: Buffer.from(send.join(""), "hex"),
    answer: new RegExp(`^${answer.map((b) => (b === ".." ? "[0-9a-f]{2}" : b)).join("")}$`),
    answerBytes: answer.length,
  };
}

/** Splits a command line into arguments, honouring single quotes (all the document uses). */
function argv(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string);
}

export function readDemoDoc(): DemoDoc {
  const text = readFileSync(docUrl, "utf8");
  const farcall = [...text.matchAll(/<!-- demo-farcall: ([A-Za-z-]+) -->\s*```hex\n([\s\S]*?)```/g)].map((m) =>
    parseFarcall(m[1] as string, m[2] as string),
  );
  const examples: CurlExample[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let current: { command: string; expected: string[] } | undefined;
    const done = () => {
      if (current === undefined) return;
      const [status, ...body] = current.expected;
      assert.match(status ?? "", /^\d{3}$/, `the first line under ${current.command} is its status`);
      examples.push({ command: current.command, status: Number(status), body });
    };
    for (const line of (block[1] as string).split("\n")) {
      if (line.startsWith("curl ")) {
        done();
        current = { command: line, expected: [] };
      } else if (line.startsWith("# ") && current !== undefined) current.expected.push(line.slice(2));
      else if (line.trim() !== "" && current !== undefined)
        assert.fail(`unexpected line under ${current.command}: ${line}`);
    }
    done();
  }
  return { farcall, curl: examples };
}

/**
 * Opens a connection as the `opening` block says, checks the server's answer to it, sends the
 * example's bytes and checks that the server answers exactly so (nothing more within 100 ms).
 */
export async function checkFarcall(
  port: number,
  opening: FarcallExample,
  example: FarcallExample,
  cleanups: (() => unknown)[],
): Promise<void> {
  const peer = await RawPeer.open(port, cleanups);
  await peer.send(opening.send);
  await peer.waitFor(() => peer.bytes.length >= opening.answerBytes, 2_000, "the answer to the opening");
  assert.match(peer.bytes.toString("hex"), opening.answer, "the server's preface and SETTINGS");
  await peer.send(example.send);
  const want = opening.answerBytes + example.answerBytes;
  if (example.answerBytes === 0) await sleep(150);
  else await peer.waitFor(() => peer.bytes.length >= want, 2_000, `the answer of ${example.name}`);
  await sleep(100);
  assert.match(peer.bytes.subarray(opening.answerBytes).toString("hex"), example.answer, example.name);
  peer.socket.destroy();
}

/** Runs the curl command against `port` and checks status and body. */
export async function checkCurl(port: number, example: CurlExample): Promise<void> {
  const [file, ...args] = argv(example.command.replaceAll("127.0.0.1:4000", `127.0.0.1:${port}`));
  assert.equal(file, "curl");
  const out = await curl(...args, "-w", "\n%{http_code}");
  const cut = out.lastIndexOf("\n");
  const body = out.slice(0, cut).replace(/\n$/, "");
  const lines = body === "" ? [] : body.split("\n");
  assert.equal(Number(out.slice(cut + 1)), example.status, `status of ${example.command}`);
  assert.equal(lines.length, example.body.length, `${example.command} printed ${JSON.stringify(body)}`);
  for (const [i, line] of example.body.entries()) assert.match(lines[i] as string, linePattern(line), example.command);
}

/** The JSON text a curl command POSTs to `/` (a JSON-RPC request), if it is one. */
export function jsonRpcText(example: CurlExample): string | undefined {
  const args = argv(example.command);
  if (!args.at(-1)?.endsWith(":4000/")) return undefined;
  const at = args.indexOf("-d");
  return at < 0 ? undefined : args[at + 1];
}

/** Sends a JSON-RPC example's text over TCP: the answer is its HTTP body as one line, or nothing for 204. */
export async function checkJsonRpcTcp(port: number, example: CurlExample, cleanups: (() => unknown)[]): Promise<void> {
  const text = jsonRpcText(example);
  assert.ok(text !== undefined, example.command);
  const peer = await LinePeer.open(port, cleanups);
  await peer.send(text);
  if (example.status === 204) await peer.silentFor(150);
  else {
    assert.equal(example.body.length, 1);
    assert.match(await peer.line(), linePattern(example.body[0] as string), `over TCP: ${text}`);
  }
  peer.socket.destroy();
}
