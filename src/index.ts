/**
 * farcall: typed RPC for Node.js over its own framed protocol, and JSON-RPC 2.0, Go net/rpc,
 * HTTP JSON and WebSocket on the same port.
 * @packageDocumentation
 */

export { type CallTransport, Client, type ClientOptions } from "./client/client.js";
export { createClient } from "./client/connect.js";
export type { ClientMethod, ProxyClient, ServiceClient } from "./client/stub.js";
export { type Codec, jsonCodec, msgpackCodec } from "./codec/index.js";
export * from "./core/public.js";
export { createServer, Server, type ServerMethod, type ServerOptions, type ServiceImpl } from "./server/server.js";
