// The servers, peers and assertions of the multi-protocol hostile-input tests
// (multiprotocol-hostile.test.ts, multiprotocol-hostile-http.test.ts, json-limits.test.ts).
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { Arith, arithImpl } from "../examples/demo/services.js";
import { createServer, defineService, type Limits, type ServerOptions, unary } from "../src/index.js";
import { within } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { LinePeer, type RpcErr } from "./line-peer.js";

/** Cleanups of the current test, run in reverse order before the leak check. */
export const cleanups = trackCleanups();

/** Echoes its input and records that it ran: a handler that must not run for refused input. */
export const Probe = defineService("Probe", { echo: unary<unknown, unknown>() });

export interface Served {
  port: number;
  address: string;
  /** Inputs Probe/echo was called with. */
  runs: unknown[];
}

export async function start(options: ServerOptions = {}): Promise<Served> {
  const runs: unknown[] = [];
  const server = createServer(options)
    .add(Arith, arithImpl())
    .add(Probe, {
      echo: (input) => {
        runs.push(input);
        return input;
      },
    });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 100 }));
  return { port: Number(new URL(address).port), address, runs };
}

export const limited = (limits: Partial<Limits>, more: ServerOptions = {}) => start({ limits, ...more });

/** Asserts a JSON-RPC 2.0 error answer with `code`, `data.code` and `id`. */
export function assertRpcError(
  reply: Record<string, unknown>,
  code: number,
  dataCode: string,
  id: unknown = null,
): void {
  assert.equal(reply.jsonrpc, "2.0", JSON.stringify(reply));
  assert.deepEqual(reply.id, id, JSON.stringify(reply));
  const error = reply.error as RpcErr | undefined;
  assert.ok(error !== undefined, `an error answer: ${JSON.stringify(reply)}`);
  assert.equal(error.code, code, JSON.stringify(reply));
  assert.equal(error.data.code, dataCode, JSON.stringify(reply));
  assert.equal(typeof error.message, "string");
}

export const addRequest = (id: number | string) =>
  `{"jsonrpc":"2.0","method":"Arith.add","params":{"a":1,"b":2},"id":${JSON.stringify(id)}}`;

/** The connection answers an ordinary request. */
export async function assertAnswers(peer: LinePeer, id: number): Promise<void> {
  const reply = await peer.askJson(addRequest(id));
  assert.deepEqual(reply, { jsonrpc: "2.0", id, result: 3 });
}

export function rawExchange(port: number, text: string, timeoutMs?: number): Promise<string> {
  return LinePeer.exchange(port, text, cleanups, timeoutMs);
}

export const json = { "content-type": "application/json" };

export interface WsPeer {
  ws: WebSocket;
  messages: string[];
  closed: Promise<{ code: number; reason: string }>;
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
}

export async function wsOpen(port: number, protocol?: string): Promise<WsPeer> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocol === undefined ? [] : [protocol]);
  cleanups.push(() => ws.terminate());
  const messages: string[] = [];
  let wake = () => {};
  ws.on("message", (data, isBinary) => {
    messages.push(isBinary ? `<binary ${(data as Buffer).length}>` : String(data));
    wake();
  });
  ws.on("error", () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await within(
    new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    }),
    2_000,
    "the WebSocket to open",
  );
  const next = async (timeoutMs = 2_000) => {
    if (messages.length === 0) {
      await within(
        new Promise<void>((resolve) => {
          wake = resolve;
        }),
        timeoutMs,
        "a WebSocket message",
      );
    }
    return JSON.parse(messages.shift() as string);
  };
  return { ws, messages, closed, next };
}
