/**
 * farcall in the browser: typed stubs over HTTP and WebSocket with the browser's own `fetch` and
 * `WebSocket`; no `node:` imports. Addresses: `http(s)://host:port` (HTTP JSON: unary, oneway,
 * server streams), `ws(s)://host:port/` (farcall framing: every call kind), `jsonrpc+http(s)://…`
 * and `jsonrpc+ws(s)://…` (JSON-RPC 2.0).
 * @packageDocumentation
 */

import { Client, type ClientOptions } from "../client/client.js";
import { transportFor } from "../client/transports.js";
import type { CallTransport } from "../protocol/protocol.js";
import type { WebSocketCtor } from "../protocol/websocket-like.js";

export type { ClientOptions } from "../client/client.js";
export { Client } from "../client/client.js";
export type { ClientMethod, ProxyClient, ServiceClient } from "../client/stub.js";
export { type Codec, jsonCodec, msgpackCodec } from "../codec/index.js";
export * from "../core/public.js";
export type { CallTransport } from "../protocol/protocol.js";

/** Creates a client for an `http(s)://`, `ws(s)://`, `jsonrpc+http(s)://` or `jsonrpc+ws(s)://` address. */
export function createClient(address: string, options: ClientOptions = {}): Client {
  const g = globalThis as { WebSocket?: WebSocketCtor; fetch?: typeof fetch };
  const ws = g.WebSocket;
  const transport: CallTransport = transportFor(address, options, {
    loadWebSocket: ws && (() => Promise.resolve(ws)),
    fetch: g.fetch?.bind(globalThis),
  });
  return new Client(address, options, transport);
}
