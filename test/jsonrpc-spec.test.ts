// The examples of the JSON-RPC 2.0 specification (section 7), from testdata/vectors/jsonrpc/spec.json,
// sent to a farcall server over raw TCP, HTTP POST / and WebSocket (docs/protocols.md).
//
// Compared exactly: `jsonrpc`, `id`, `result` and `error.code`, plus the farcall code the doc puts
// in `error.data.code`; error messages are free text. A batch's answers are compared as a set by
// id first (the specification does not fix their order) and then in request order, which farcall
// promises. Every vector also checks which handlers ran: notifications run although nothing answers
// them, and nothing in a text that is not JSON runs.

import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import { createServer } from "../src/index.js";
import { loadVectors } from "./bytes.js";
import { http, sleep, until, within } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { LinePeer } from "./line-peer.js";

/** Cleanups of the current test, run in reverse order before the leak check. */
const cleanups = trackCleanups();

interface Reply {
  jsonrpc: string;
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

interface Vector {
  name: string;
  request: string;
  response: Reply | Reply[] | null;
  runs: { method: string; params?: unknown }[];
}

interface Run {
  method: string;
  input: unknown;
}

const vectors = loadVectors<Vector>("jsonrpc/spec.json");

/** A request after each vector: its answer shows that everything owed for the vector has arrived. */
const SENTINEL_ID = "sentinel";
const SENTINEL = `{"jsonrpc": "2.0", "method": "sentinel.probe", "id": "${SENTINEL_ID}"}`;
/** How long to keep listening, once everything expected is in, for answers that must not come. */
const GRACE_MS = 50;

/** The farcall code the doc promises in `error.data.code` for each JSON-RPC code the vectors use. */
const dataCodes: Record<number, string> = {
  [-32700]: "invalid_argument",
  [-32600]: "invalid_argument",
  [-32601]: "unimplemented",
};

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The input a handler gets for `params` (docs/protocols.md, "Params"). */
function inputOf(params: unknown): unknown {
  if (!Array.isArray(params)) return params;
  if (params.length === 0) return undefined;
  return params.length === 1 ? params[0] : params;
}

/** A server with the specification's methods, on a free loopback port. */
async function startSpecServer() {
  const runs: Run[] = [];
  const ran = (method: string, input: unknown) => runs.push({ method, input });
  const server = createServer().register("Spec", {
    subtract(input: unknown) {
      ran("subtract", input);
      if (Array.isArray(input)) return (input[0] as number) - (input[1] as number);
      const { minuend, subtrahend } = input as { minuend: number; subtrahend: number };
      return minuend - subtrahend;
    },
    sum(input: unknown) {
      ran("sum", input);
      return (input as number[]).reduce((total, n) => total + n, 0);
    },
    update: (input: unknown) => void ran("update", input),
    notify_hello: (input: unknown) => void ran("notify_hello", input),
    notify_sum: (input: unknown) => void ran("notify_sum", input),
    get_data(input: unknown) {
      ran("get_data", input);
      return ["hello", 5];
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  const port = Number(/:(\d+)$/.exec(address)?.[1]);
  assert.ok(port > 0, address);
  return { port, runs, close: () => server.close({ graceMs: 1_000 }) };
}

type SpecServer = Awaited<ReturnType<typeof startSpecServer>>;

async function withSpecServer(body: (s: SpecServer) => Promise<void>): Promise<void> {
  const s = await startSpecServer();
  try {
    await body(s);
  } finally {
    await s.close();
  }
}

/** What is compared of one answer; also checks the parts that are not compared are well formed. */
function project(reply: unknown): unknown {
  assert.ok(typeof reply === "object" && reply !== null && !Array.isArray(reply), `an answer object: ${show(reply)}`);
  const r = reply as Record<string, unknown>;
  assert.ok("id" in r, `an answer has an id: ${show(r)}`);
  if (!("error" in r)) {
    assert.ok("result" in r, `an answer has a result or an error: ${show(r)}`);
    return { jsonrpc: r.jsonrpc, id: r.id, result: r.result };
  }
  assert.ok(!("result" in r), `an error answer has no result: ${show(r)}`);
  const error = r.error as { code: unknown; message: unknown; data?: { code?: unknown } };
  assert.equal(typeof error.message, "string", `error.message is a string: ${show(r)}`);
  return { jsonrpc: r.jsonrpc, id: r.id, error: { code: error.code, dataCode: error.data?.code } };
}

function expected(reply: Reply): unknown {
  if (reply.error === undefined) return { jsonrpc: reply.jsonrpc, id: reply.id, result: reply.result };
  return {
    jsonrpc: reply.jsonrpc,
    id: reply.id,
    error: { code: reply.error.code, dataCode: dataCodes[reply.error.code] },
  };
}

const show = (v: unknown) => JSON.stringify(v);
const byJson = (a: unknown, b: unknown) => (show(a) < show(b) ? -1 : show(a) > show(b) ? 1 : 0);

/** Asserts that `answer` (parsed) is the vector's expected response. */
function checkAnswer(answer: unknown, v: Vector): void {
  assert.ok(v.response !== null);
  if (!Array.isArray(v.response)) {
    assert.deepEqual(project(answer), expected(v.response), `answer to ${show(v.request)}: ${show(answer)}`);
    return;
  }
  assert.ok(Array.isArray(answer), `a batch is answered with an array: ${show(answer)}`);
  const got = answer.map(project);
  const want = v.response.map(expected);
  assert.deepEqual([...got].sort(byJson), [...want].sort(byJson), `batch answers as a set: ${show(answer)}`);
  assert.deepEqual(got, want, `batch answers in request order: ${show(answer)}`);
}

/** Asserts that exactly the vector's handler calls ran (in any order), waiting a bounded time for them. */
async function checkRuns(runs: Run[], v: Vector): Promise<void> {
  const want = v.runs.map((r) => ({ method: r.method, input: inputOf(r.params) }));
  await until(() => runs.length >= want.length).catch(() => {}); // the assertion below says what is missing
  const key = (r: Run) => show([r.method, r.input ?? null]);
  const order = (a: Run, b: Run) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  assert.deepEqual([...runs].sort(order), [...want].sort(order), "handler calls");
}

/** Asserts that `answers` holds the sentinel's answer once, and returns the other answers. */
function withoutSentinel(answers: unknown[]): unknown[] {
  const isSentinel = (a: unknown) =>
    typeof a === "object" && a !== null && !Array.isArray(a) && (a as { id?: unknown }).id === SENTINEL_ID;
  const sentinels = answers.filter(isSentinel);
  assert.equal(sentinels.length, 1, `the sentinel is answered once: ${show(answers)}`);
  assert.equal((sentinels[0] as { error?: { code?: unknown } }).error?.code, -32601, show(sentinels[0]));
  return answers.filter((a) => !isSentinel(a));
}

function hasSentinelAnswer(texts: string[]): boolean {
  return texts.some((t) => isJson(t) && (JSON.parse(t) as { id?: unknown } | null)?.id === SENTINEL_ID);
}

/** Resolves true once `predicate` holds, false after `ms`. */
async function holdsWithin(predicate: () => boolean, ms: number): Promise<boolean> {
  return until(predicate, ms).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------------------------
// Raw TCP: a stream of JSON texts in, every answer one JSON text followed by "\n".

/** Half-closes and waits for the server to close its side too. */
async function closeTcp(peer: LinePeer): Promise<void> {
  peer.socket.end();
  await peer.whenClosed(5_000);
}

function parseLines(peer: LinePeer): unknown[] {
  return peer.lines.map((line) => {
    assert.ok(isJson(line), `each answer line is one JSON text: ${show(line)}`);
    return JSON.parse(line) as unknown;
  });
}

describe("JSON-RPC 2.0 specification examples over raw TCP", () => {
  for (const v of vectors) {
    test(v.name, async () => {
      await withSpecServer(async ({ port, runs }) => {
        const peer = await LinePeer.open(port, cleanups);
        try {
          if (isJson(v.request)) {
            // The vector, then the sentinel; answers come as calls finish, so the sentinel's may come
            // first: wait for everything expected, then a little longer for anything unexpected.
            peer.socket.write(`${v.request}\n${SENTINEL}\n`);
            const want = v.response === null ? 0 : 1;
            await until(() => peer.lines.length >= want + 1 && hasSentinelAnswer(peer.lines));
            await sleep(GRACE_MS);
            const answers = withoutSentinel(parseLines(peer));
            assert.equal(answers.length, want, `answers besides the sentinel's: ${show(answers)}`);
            if (v.response !== null) checkAnswer(answers[0], v);
          } else {
            // The two invalid-JSON examples cannot be followed by anything on a stream. "{… "baz]"
            // closes "{" with "]", and "[ {…}, {… "method" ]" likewise: both are unbalanced, which
            // the server may see at once, or (were it to count brackets only) not before the peer
            // half-closes, after which the value can never be completed. Either way the doc's rule
            // for an unbalanced value on a stream applies: one error answer with id null, then the
            // connection is closed. So: send the text, give the server a moment to answer, then
            // half-close and expect exactly that one answer and the end of the connection.
            peer.socket.write(v.request);
            await holdsWithin(() => peer.lines.length > 0, 1_000);
            peer.socket.end();
            await peer.whenClosed(5_000);
            const answers = parseLines(peer);
            assert.equal(answers.length, 1, `one answer: ${show(answers)}`);
            checkAnswer(answers[0], v);
          }
          assert.equal(peer.unfinished, "", "every answer ends with a newline");
          await checkRuns(runs, v);
        } finally {
          await closeTcp(peer);
        }
      });
    });
  }

  test("a balanced value that is not JSON is a parse error (id null), and the stream goes on", async () => {
    await withSpecServer(async ({ port, runs }) => {
      const peer = await LinePeer.open(port, cleanups);
      try {
        // The specification's invalid-JSON example made balanced: it can be cut off the stream.
        peer.socket.write(`{"jsonrpc": "2.0", "method": "foobar", "params": "bar", "baz"}\n${SENTINEL}\n`);
        await until(() => peer.lines.length >= 2);
        await sleep(GRACE_MS);
        const answers = withoutSentinel(parseLines(peer));
        assert.deepEqual(answers.map(project), [
          { jsonrpc: "2.0", id: null, error: { code: -32700, dataCode: "invalid_argument" } },
        ]);
        assert.equal(peer.closed, false, "the connection stays open");
        assert.deepEqual(runs, []);
      } finally {
        await closeTcp(peer);
      }
    });
  });

  test("requests written back to back with nothing between them are all answered", async () => {
    await withSpecServer(async ({ port }) => {
      const peer = await LinePeer.open(port, cleanups);
      try {
        const [first, second] = vectors;
        assert.ok(first && second && !Array.isArray(first.response) && !Array.isArray(second.response));
        peer.socket.write(`${first.request}${second.request}`);
        await until(() => peer.lines.length >= 2);
        await sleep(GRACE_MS);
        const answers = parseLines(peer).map(project).sort(byJson);
        const want = [first.response, second.response].map((r) => expected(r as Reply)).sort(byJson);
        assert.deepEqual(answers, want);
      } finally {
        await closeTcp(peer);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// HTTP: each vector is the body of its own POST.

interface HttpAnswer {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** One POST on its own connection (no keep-alive, so nothing lingers after the test). */
async function post(port: number, path: string, body: string): Promise<HttpAnswer> {
  const reply = await http(port, "POST", path, { "content-type": "application/json" }, body);
  // Node gives content-type as one string (IncomingHttpHeaders).
  return { status: reply.status, contentType: reply.headers["content-type"] as string | undefined, body: reply.body };
}

function checkHttpAnswer(answer: HttpAnswer, v: Vector): void {
  if (v.response === null) {
    assert.deepEqual({ status: answer.status, body: answer.body }, { status: 204, body: "" }, "nothing to answer: 204");
    return;
  }
  assert.equal(answer.status, 200, `status (body ${show(answer.body)})`);
  assert.match(answer.contentType ?? "", /^application\/json\b/);
  assert.ok(isJson(answer.body), `the body is JSON: ${show(answer.body)}`);
  checkAnswer(JSON.parse(answer.body), v);
}

describe("JSON-RPC 2.0 specification examples over HTTP POST /", () => {
  // Every vector applies as it is: the body delimits the text, so even the invalid-JSON examples
  // are whole messages, answered 200 with the parse error.
  for (const v of vectors) {
    test(v.name, async () => {
      await withSpecServer(async ({ port, runs }) => {
        checkHttpAnswer(await post(port, "/", v.request), v);
        await checkRuns(runs, v);
      });
    });
  }

  test("POST /jsonrpc answers like POST /", async () => {
    await withSpecServer(async ({ port }) => {
      const named = vectors.find((v) => v.name === "rpc call with named parameters (1)");
      const batch = vectors.find((v) => v.name === "rpc call Batch");
      assert.ok(named && batch);
      checkHttpAnswer(await post(port, "/jsonrpc", named.request), named);
      checkHttpAnswer(await post(port, "/jsonrpc", batch.request), batch);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// WebSocket, subprotocol "jsonrpc": one JSON text per message, each answer one text message.

describe("JSON-RPC 2.0 specification examples over WebSocket", () => {
  // Every vector applies as it is: a message delimits the text, so the invalid-JSON examples are
  // whole messages, answered with the parse error; the connection goes on (the sentinel after
  // each vector must still be answered).
  for (const v of vectors) {
    test(v.name, async () => {
      await withSpecServer(async ({ port, runs }) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, "jsonrpc");
        const closed = once(ws, "close");
        const texts: string[] = [];
        let binary = 0;
        ws.on("message", (data, isBinary) => {
          if (isBinary) binary++;
          texts.push(data.toString());
        });
        ws.on("error", () => {}); // shows up as a close and missing answers
        try {
          await within(once(ws, "open"), 5_000, "websocket open");
          assert.equal(ws.protocol, "jsonrpc", "the server picks the jsonrpc subprotocol");
          ws.send(v.request);
          ws.send(SENTINEL);
          const want = v.response === null ? 0 : 1;
          await until(() => texts.length >= want + 1 && hasSentinelAnswer(texts));
          await sleep(GRACE_MS);
          assert.equal(binary, 0, "answers are text messages");
          const answers = withoutSentinel(
            texts.map((t) => {
              assert.ok(isJson(t), `each message is one JSON text: ${show(t)}`);
              return JSON.parse(t) as unknown;
            }),
          );
          assert.equal(answers.length, want, `answers besides the sentinel's: ${show(answers)}`);
          if (v.response !== null) checkAnswer(answers[0], v);
          await checkRuns(runs, v);
        } finally {
          ws.close();
          await within(closed, 5_000, "websocket close");
        }
      });
    });
  }
});
