import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { Arith, arithImpl, Time, timeImpl } from "../examples/demo/services.js";
import {
  type Client,
  type ClientOptions,
  createClient,
  createServer,
  type Server,
  type ServerOptions,
} from "../src/index.js";

/** A demo server on a free loopback port and a client for it; `close()` closes both. */
export interface Harness {
  server: Server;
  client: Client;
  address: string;
  logged: string[];
  close(): Promise<void>;
}

export async function startDemo(
  serverOptions: ServerOptions = {},
  clientOptions: ClientOptions = {},
  address = "tcp://127.0.0.1:0",
): Promise<Harness> {
  const logged: string[] = [];
  const server = createServer(serverOptions)
    .add(
      Arith,
      arithImpl((line) => logged.push(line)),
    )
    .add(Time, timeImpl);
  const bound = await server.listen(address);
  const client = createClient(bound, clientOptions);
  return {
    server,
    client,
    address: bound,
    logged,
    async close() {
      await client.close();
      await server.close({ graceMs: 1_000 });
    },
  };
}

/** Waits until `predicate` holds, polling every few ms; throws after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Rejects unless `p` rejects with an RpcError of `code`; returns the error. */
export async function rejectsWith<T>(p: Promise<T>, code: number): Promise<import("../src/index.js").RpcError> {
  try {
    await p;
  } catch (err) {
    const { RpcError } = await import("../src/index.js");
    if (err instanceof RpcError && err.code === code) return err;
    throw new Error(`expected code ${code}, got ${String(err)}`);
  }
  throw new Error(`expected code ${code}, but the call succeeded`);
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves or rejects with `p`, or rejects after `ms`; its timer never outlives it. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request on its own connection; `body` as an array is sent chunked, one write each. */
export function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | string[],
): Promise<HttpReply> {
  return within(
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on("error", reject);
      });
      req.on("error", reject);
      if (Array.isArray(body)) {
        for (const part of body) req.write(part);
        req.end();
      } else req.end(body);
    }),
    5_000,
    `${method} ${path}`,
  );
}

/** A well-behaved farcall client on a fresh connection still gets an answer from the server at `address`. */
export async function stillServes(address: string): Promise<void> {
  const client = createClient(address, { codec: "json" });
  try {
    assert.equal(await client.service(Arith).add({ a: 20, b: 22 }, { timeoutMs: 2_000 }), 42);
  } finally {
    await client.close();
  }
}
