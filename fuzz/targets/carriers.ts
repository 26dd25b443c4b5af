/**
 * Targets for what meets a connection first: the server's protocol sniffer, the HTTP routes (every
 * built-in protocol's, behind the HTTP carrier's own handler) and WebSocket messages (farcall
 * framing and JSON-RPC sessions). The carriers are fakes that record what the server sends.
 */
import { Code } from "../../src/core/code.js";
import type { Peer } from "../../src/core/interceptor.js";
import { resolveLimits } from "../../src/core/limits.js";
import { RpcError } from "../../src/core/rpc-error.js";
import { builtinProtocols } from "../../src/protocol/builtin.js";
import { FrameReader } from "../../src/protocol/farcall/frame-reader.js";
import type { HttpRequest, HttpResponse } from "../../src/protocol/http/exchange.js";
import {
  type AttachableStream,
  type HttpHandlers,
  maxSniffBytes,
  type ServeContext,
  sniffProtocols,
} from "../../src/protocol/protocol.js";
import type { WebSocketLike } from "../../src/protocol/websocket-like.js";
import type { FuzzTarget } from "../engine.js";
import { framingVectors, jsonRpcRequests, jsonVectors } from "../vectors.js";
import { CheckFailed, check, utf8 } from "./check.js";
import { fuzzRouter } from "./fixtures.js";

// ---------------------------------------------------------------------------------------------
// Sniffer

const sniffing = builtinProtocols();
const blanks = (n: number) => new Uint8Array(n).fill(0x20);

/** The verdict as a comparable word: a protocol's name, "wait", or "refused". */
function verdictOf(bytes: Uint8Array): string {
  const r = sniffProtocols(sniffing, bytes);
  if (r === undefined) return "wait";
  if (typeof r === "string") return "refused";
  check(r.sniff?.(bytes) === "yes", `${r.name} was chosen but its sniffer does not say yes`);
  return r.name;
}

export const snifferTarget: FuzzTarget = {
  name: "sniffer",
  description:
    "sniffProtocols (src/protocol/protocol.ts) with builtinProtocols() on every prefix: decided once, for good",
  seeds: () => [
    ...jsonRpcRequests(),
    framingVectors().stream,
    utf8.encode("CONNECT /_goRPC_ HTTP/1.0\n\n"),
    utf8.encode("POST /Echo/echo HTTP/1.1\r\nhost: x\r\n\r\n{}"),
    utf8.encode("GET /healthz HTTP/1.1\r\n\r\n"),
    Uint8Array.of(0x80, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2),
    Uint8Array.of(0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0, 1),
    Uint8Array.of(...blanks(64), 0x7b),
    blanks(65),
    Uint8Array.of(0x01),
  ],
  tokens: ["CONNECT ", "CONNEC", "\x7fFAR", "{", "[", "POST ", " \t\r\n"].map((s) => utf8.encode(s)),
  maxLength: maxSniffBytes + 128,
  allocLimit: () => 1024,
  run(bytes) {
    let decided: string | undefined;
    let at = 0;
    for (let k = 1; k <= bytes.length; k += k < 96 ? 1 : 97) {
      at = k;
      const v = verdictOf(bytes.subarray(0, k));
      if (v === "wait") {
        check(decided === undefined, () => `decided ${decided} at fewer bytes, waits at ${k}`);
        check(k <= maxSniffBytes, `still waiting after ${k} bytes`);
      } else if (decided === undefined) decided = v;
      else check(v === decided, () => `${decided} at fewer bytes, ${v} at ${k}`);
    }
    if (at !== bytes.length && bytes.length > 0) {
      const v = verdictOf(bytes);
      check(
        decided === undefined ? v === "wait" || bytes.length > at : v === decided,
        `${decided} then ${v} at the end`,
      );
    }
  },
};

// ---------------------------------------------------------------------------------------------
// A server context with fake carriers

const peer: Peer = { transport: "tcp", address: "fuzz" };
const limits = resolveLimits({ maxMessageBytes: 8 * 1024, maxMetadataBytes: 1024, maxInflight: 64 });
const protocols = builtinProtocols({ http: { corsOrigins: "*" } });
let handlers: HttpHandlers | undefined;
const serve: ServeContext = {
  dispatcher: fuzzRouter(),
  limits,
  handshakeTimeoutMs: 10_000,
  draining: false,
  // No timers of the server's own: a leaked one is then the code's under test.
  idleTimeoutMs: 0,
  writeStallTimeoutMs: 0,
  messageTimeoutMs: 0,
  keepalive: undefined,
  protocols,
  platform: {
    httpCarrier(h) {
      handlers = h;
      return { take() {}, drain: async () => {}, destroy() {} };
    },
  },
  track: () => () => {},
};
// The HTTP protocol builds its carrier (and so the handlers of every request) on its first connection.
protocols
  .find((p) => p.name === "http")
  ?.serve?.({ stream: {} as AttachableStream, first: new Uint8Array(0), handshakeDone() {} }, serve);
const http = handlers as HttpHandlers | undefined;
if (http === undefined) throw new Error("the HTTP protocol made no carrier");

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

/** Lets queued work run: `n` turns of the event loop. */
async function turns(n: number, until?: () => boolean): Promise<void> {
  for (let i = 0; i < n && !(until?.() ?? false); i++) await new Promise<void>((r) => setImmediate(r));
}

// ---------------------------------------------------------------------------------------------
// HTTP routes

const latin1 = new TextDecoder("latin1");
const strict = new TextDecoder("utf-8", { fatal: true });

/** `METHOD URL` on the first line, `name: value` lines, a blank line, then the body. */
function parseRequest(bytes: Uint8Array): {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
} {
  let end = -1;
  let skip = 0;
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      end = i;
      skip = 2;
      break;
    }
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) {
      end = i;
      skip = 3;
      break;
    }
  }
  const head = latin1.decode(end < 0 ? bytes : bytes.subarray(0, end)).split(/\r?\n/);
  const [method = "", url = "/"] = (head[0] ?? "").split(" ");
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return {
    method,
    url: url.startsWith("/") ? url : `/${url}`,
    headers,
    body: end < 0 ? new Uint8Array(0) : bytes.subarray(end + skip),
  };
}

function checkJsonBody(status: number, type: string | undefined, body: string): void {
  if (status === 204 || status === 202 || body === "") return;
  if (type === "application/json") {
    try {
      JSON.parse(body);
    } catch {
      throw new CheckFailed(`status ${status}: body is not JSON: ${body.slice(0, 120)}`);
    }
  } else if (type === "application/x-ndjson") {
    for (const line of body.split("\n").filter((l) => l !== "")) {
      try {
        JSON.parse(line);
      } catch {
        throw new CheckFailed(`NDJSON line is not JSON: ${line.slice(0, 120)}`);
      }
    }
  }
}

export const httpTarget: FuzzTarget = {
  name: "http",
  description:
    "the HTTP carrier's handler and every protocol's route (src/protocol/http/, JSON-RPC over HTTP): one answer, JSON bodies",
  seeds: () => {
    const post = (path: string, body: Uint8Array, extra = "") =>
      Uint8Array.of(...utf8.encode(`POST ${path}\ncontent-type: application/json\n${extra}\n`), ...body);
    const text = (s: string) => utf8.encode(s);
    return [
      ...jsonRpcRequests().map((r) => post("/", r)),
      ...jsonRpcRequests().map((r) => post("/jsonrpc", r, "farcall-timeout-ms: 1000\n")),
      ...jsonVectors().map((v) => post("/Echo/echo", v)),
      post("/Echo/add", text('{"a":1,"b":2}'), "farcall-md-trace: abc\nauthorization: Bearer x\n"),
      post("/Echo/count", text('{"to":3}')),
      post("/Echo/note", text("{}")),
      post("/Echo/fail", text("{}")),
      post("/Echo/crash", text("{}")),
      post("/Echo/later", text("[1,2]"), "farcall-timeout-ms: 5\n"),
      post("/Echo%2Fecho", text("1")),
      text("GET /healthz\n\n"),
      text("OPTIONS /Echo/echo\norigin: http://example\naccess-control-request-headers: x\n\n"),
      text("PUT /Echo/echo\n\n"),
      text("POST /Echo/echo\ncontent-type: text/plain\n\nx"),
      text("POST /nowhere\n\n{}"),
    ];
  },
  tokens: [
    "POST /",
    "/jsonrpc",
    "/Echo/echo",
    "/Echo/count",
    "content-type: application/json\n",
    "farcall-timeout-ms: 0\n",
    "farcall-timeout-ms: 99999999999\n",
    "farcall-md-x: y\n",
    "origin: http://a\n",
    "\n\n",
    '{"jsonrpc":"2.0","method":"Echo.echo","params":[1],"id":1}',
  ].map((s) => utf8.encode(s)),
  maxLength: 16 * 1024,
  allocLimit: (n) => 8 * n + 64 * 1024,
  async run(bytes) {
    const before = timers();
    const { method, url, headers, body } = parseRequest(bytes);
    let status = 0;
    let type: string | undefined;
    let text = "";
    let ended = false;
    const aborts: (() => void)[] = [];
    // Checks inside the fakes are recorded, not thrown: the code under test could catch them.
    const problems: string[] = [];
    const expect = (ok: boolean, why: string) => {
      if (!ok) problems.push(why);
    };
    const req: HttpRequest = {
      method,
      url,
      headers,
      peer,
      body: (max) =>
        body.length > max
          ? Promise.reject(new RpcError(Code.ResourceExhausted, `body over ${max} bytes`))
          : Promise.resolve(body),
      async *chunks() {
        yield body;
      },
      trailers: () => ({}),
    };
    const res: HttpResponse = {
      head(s, h) {
        expect(status === 0, `head sent twice (${status}, then ${s})`);
        expect(Number.isInteger(s) && s >= 100 && s <= 599, `status ${s}`);
        for (const [k, v] of Object.entries(h)) {
          expect(!/[\r\n]/.test(k) && !/[\r\n]/.test(v), `header ${JSON.stringify(k)} holds a line break`);
        }
        status = s;
        type = h["content-type"];
      },
      async write(data) {
        expect(status !== 0 && !ended, "body written before head or after end");
        text += typeof data === "string" ? data : strict.decode(data);
      },
      end(data, _trailers) {
        expect(!ended, "response ended twice");
        expect(status !== 0, "response ended without a head");
        ended = true;
        if (data !== undefined) text += typeof data === "string" ? data : strict.decode(data);
      },
      get done() {
        return ended;
      },
      onAbort(cb) {
        aborts.push(cb);
      },
    };
    http.request(req, res);
    await turns(50, () => ended);
    check(problems.length === 0, () => problems.join("; "));
    check(ended, `no answer to ${method} ${url.slice(0, 60)}`);
    checkJsonBody(status, type, text);
    await turns(2);
    check(timers() <= before, `${timers() - before} timers left running`);
  },
};

// ---------------------------------------------------------------------------------------------
// WebSocket messages

const subprotocols = ["farcall", "jsonrpc", "", "nope"];

class FakeWebSocket implements WebSocketLike {
  binaryType = "nodebuffer";
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: (string | Uint8Array)[] = [];
  closedWith: number | undefined;
  /** What the server did wrong, recorded rather than thrown (the code under test could catch it). */
  readonly problems: string[] = [];
  private readonly listeners = new Map<string, ((event: never) => void)[]>();

  constructor(readonly protocol: string) {}

  private expect(ok: boolean, why: string): void {
    if (!ok) this.problems.push(why);
  }

  send(data: string | Uint8Array): void {
    this.expect(this.readyState === 1, "sent on a closed WebSocket");
    this.sent.push(typeof data === "string" ? data : data.slice());
  }

  close(code?: number, reason?: string): void {
    // As the ws package checks them: it throws on a bad code or a reason over 123 bytes.
    if (code !== undefined) {
      this.expect(
        (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
          (code >= 3000 && code <= 4999),
        `close code ${code}`,
      );
    }
    if (reason !== undefined)
      this.expect(utf8.encode(reason).length <= 123, `close reason of ${utf8.encode(reason).length} bytes`);
    if (this.readyState >= 2) return;
    this.closedWith = code ?? 1005;
    this.readyState = 2;
    queueMicrotask(() => this.finish());
  }

  terminate(): void {
    if (this.readyState === 3) return;
    this.closedWith ??= 1006;
    this.finish();
  }

  finish(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    for (const cb of this.listeners.get("close") ?? []) cb({ code: this.closedWith ?? 1005, reason: "" } as never);
  }

  addEventListener(type: string, cb: (event: never) => void): void {
    const list = this.listeners.get(type) ?? [];
    list.push(cb);
    this.listeners.set(type, list);
  }

  deliver(data: unknown): void {
    for (const cb of this.listeners.get("message") ?? []) cb({ data } as never);
  }
}

/** Messages of the input: `[u8 kind][u16 length][bytes]`, kind's low bit set for text. */
function messagesOf(bytes: Uint8Array): { text: boolean; data: Uint8Array }[] {
  const out: { text: boolean; data: Uint8Array }[] = [];
  let at = 1;
  while (at < bytes.length && out.length < 64) {
    const kind = bytes[at] as number;
    const n = ((bytes[at + 1] ?? 0) << 8) | (bytes[at + 2] ?? 0);
    out.push({ text: (kind & 1) === 1, data: bytes.subarray(at + 3, at + 3 + n) });
    at += 3 + n;
  }
  return out;
}

function wsInput(protocol: number, messages: { text: boolean; data: Uint8Array }[]): Uint8Array {
  const parts: number[] = [protocol];
  for (const m of messages) parts.push(m.text ? 1 : 0, m.data.length >> 8, m.data.length & 255, ...m.data);
  return Uint8Array.from(parts);
}

/** Everything a farcall server sent must be its preface, then whole frames of known types. */
function checkFarcallOutput(sent: (string | Uint8Array)[]): void {
  let prefaced = false;
  const reader = new FrameReader(
    {
      onPreface(p) {
        check(p[0] === 0x7f && p[1] === 0x46 && p[2] === 0x41 && p[3] === 0x52, "server preface without the magic");
        prefaced = true;
      },
      onFrame(type) {
        check(type >= 1 && type <= 11, `server sent frame type ${type}`);
      },
    },
    0xffff_ffff,
  );
  for (const m of sent) {
    check(typeof m !== "string", "farcall server sent a text message");
    reader.push(m as Uint8Array);
  }
  check(sent.length === 0 || prefaced, "server sent less than a preface");
  check(sent.length === 0 || reader.idle, "server output ends inside a frame");
}

export const webSocketTarget: FuzzTarget = {
  name: "websocket",
  description:
    "WebSocket messages to the farcall and JSON-RPC services (HTTP carrier's upgrade handler): answers well formed, closes valid",
  seeds: () => {
    const { stream } = framingVectors();
    const requests = jsonRpcRequests();
    return [
      wsInput(0, [{ text: false, data: stream }]),
      wsInput(0, [
        { text: false, data: stream.subarray(0, 11) },
        { text: false, data: stream.subarray(11) },
      ]),
      wsInput(0, [{ text: true, data: stream }]),
      ...requests.map((r) => wsInput(1, [{ text: true, data: r }])),
      wsInput(
        1,
        requests.map((r) => ({ text: false, data: r })),
      ),
      wsInput(2, [{ text: true, data: utf8.encode('{"jsonrpc":"2.0","method":"Echo.later","params":[1],"id":7}') }]),
      wsInput(3, [{ text: true, data: utf8.encode("{}") }]),
    ];
  },
  tokens: [
    [0x7f, 0x46, 0x41, 0x52, 0x01, 0x02, 0x00, 0x00],
    [0x7f, 0x46, 0x41, 0x52, 0x01, 0x01, 0x00, 0x00],
    [0x00, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00],
    [0x00, 0x00, 0x00, 0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01],
    [...utf8.encode('{"jsonrpc":"2.0","method":"Echo.count","params":{"to":3},"id":1}')],
  ].map((b) => Uint8Array.from(b)),
  maxLength: 16 * 1024,
  allocLimit: (n) => Math.max(128 * 1024, 8 * n) + 64 * 1024,
  async run(bytes) {
    const before = timers();
    const protocol = subprotocols[(bytes[0] ?? 0) % subprotocols.length] as string;
    const ws = new FakeWebSocket(protocol);
    http.websocket(ws, peer);
    for (const m of messagesOf(bytes)) {
      if (ws.readyState !== 1) break;
      if (m.text) ws.deliver(new TextDecoder().decode(m.data));
      else ws.deliver(m.data.slice().buffer);
      await turns(1);
    }
    await turns(20);
    // The client goes away; the session must let go of everything.
    ws.close(1000);
    await turns(5);
    check(ws.problems.length === 0, () => ws.problems.join("; "));
    check(ws.readyState === 3, "WebSocket never closed");
    if (protocol === "farcall") checkFarcallOutput(ws.sent);
    else {
      for (const m of ws.sent) {
        check(typeof m === "string", "JSON-RPC answer sent as binary");
        try {
          JSON.parse(m as string);
        } catch {
          throw new CheckFailed(`JSON-RPC answer is not JSON: ${String(m).slice(0, 120)}`);
        }
      }
    }
    check(timers() <= before, `${timers() - before} timers left running`);
  },
};
