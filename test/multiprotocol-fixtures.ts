// The server, services and helpers of the address-scheme tests (multiprotocol.test.ts,
// multiprotocol-jsonrpc.test.ts).
import assert from "node:assert/strict";
import { Arith } from "../examples/demo/services.js";
import {
  type Client,
  Code,
  codeToString,
  createClient,
  defineService,
  type HandlerContext,
  RpcError,
  type ServiceImpl,
  unary,
} from "../src/index.js";
import { type Harness, rejectsWith, startDemo } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
/** Cleanups of the current test, run in reverse order before the leak check. */
export const cleanups = trackCleanups();

/** A service whose methods show what reached the handler, and fail on request. */
export const Probe = defineService("Probe", {
  fail: unary<{ code: number; message: string; details?: unknown[] }, null>(),
  echo: unary<unknown, unknown>(),
  whoami: unary<undefined, { authorization: string | null; trace: string | null }>(),
  /** A Go-shaped result: capitalised keys at several depths. */
  goShaped: unary<undefined, Record<string, unknown>>(),
  /** Waits `ms`, then answers `value` and the port of the connection the call came on. */
  delay: unary<{ value: number; ms: number }, { value: number; port: number | undefined }>(),
});

export const probeImpl: ServiceImpl<typeof Probe.specs> = {
  fail({ code, message, details }) {
    throw new RpcError(code as Code, message, details === undefined ? {} : { details });
  },
  echo: (input) => input,
  whoami(_input, ctx: HandlerContext) {
    ctx.responseMetadata["x-served-by"] = "probe";
    return { authorization: ctx.metadata.authorization ?? null, trace: ctx.metadata["x-trace"] ?? null };
  },
  goShaped: () => ({ Quo: 3, Rem: 1, ID: 7, URLPath: "/x", Nested: { HTTPCode: 200, Items: [{ Name: "a" }] } }),
  delay: ({ value, ms }, ctx) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ value, port: ctx.peer.port }), ms);
      ctx.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    }),
};

/** The net/rpc-style object registered as `Greeter`, called through `client.proxy()`. */
export class Greeter {
  hello(name: string): string {
    return `hello, ${name}`;
  }
  shout({ text }: { text: string }): string {
    return `${text.toUpperCase()}!`;
  }
}

/** The demo server (Arith, Time) plus Probe and Greeter; the harness's own client speaks tcp://. */
export async function demo(options: Parameters<typeof startDemo>[0] = {}): Promise<Harness & { port: number }> {
  const h = await startDemo(options);
  h.server.add(Probe, probeImpl).register("Greeter", new Greeter());
  cleanups.push(() => h.close());
  return { ...h, port: Number(new URL(h.address).port) };
}

/**
 * A deadline ends a call with deadline_exceeded, on time, and an aborted signal with canceled;
 * the connection still serves afterwards.
 */
export async function assertDeadlineAndAbort(address: string): Promise<void> {
  const arith = clientFor(address).service(Arith);
  assert.equal(await arith.add({ a: 0, b: 1 }), 1);
  const started = Date.now();
  await rejectsWith(arith.sleep({ ms: 5_000 }, { timeoutMs: 50 }), Code.DeadlineExceeded);
  assert.ok(Date.now() - started < 2_000, "the deadline was not kept");
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  await rejectsWith(arith.sleep({ ms: 5_000 }, { signal: controller.signal }), Code.Canceled);
  assert.equal(await arith.add({ a: 1, b: 1 }), 2, "the connection still works");
}

/** A client for `address`, closed after the test (before the server). */
export function clientFor(address: string): Client {
  const client = createClient(address);
  cleanups.push(() => client.close());
  return client;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Every farcall code travels with its message through `client`'s protocol. */
export async function assertCodesPreserved(client: Client): Promise<void> {
  const probe = client.service(Probe);
  for (let code: Code = Code.Canceled; code <= Code.Unauthenticated; code++) {
    const err: RpcError = await rejectsWith(probe.fail({ code, message: `failed with ${codeToString(code)}` }), code);
    assert.equal(err.rawMessage, `failed with ${codeToString(code)}`);
  }
}
