/**
 * farcall: typed RPC for Node.js over its own framed protocol.
 * @packageDocumentation
 */

export { type CallTransport, Client, type ClientOptions } from "./client/client.js";
export { createClient } from "./client/connect.js";
export type { ClientMethod, ProxyClient, ServiceClient } from "./client/stub.js";
export { type Codec, jsonCodec, msgpackCodec } from "./codec/index.js";
export { Code, codeFromString, codeToString } from "./core/code.js";
export {
  compose,
  type Handler,
  type HandlerContext,
  type Interceptor,
  type Peer,
  type RpcRequest,
  type RpcResponse,
} from "./core/interceptor.js";
export { defaultLimits, type Limits } from "./core/limits.js";
export { createMetadata, type Metadata } from "./core/metadata.js";
export { RpcError, type RpcErrorOptions } from "./core/rpc-error.js";
export type { StandardSchemaV1 } from "./core/schema.js";
export {
  bidiStream,
  type CallOptions,
  clientStream,
  defineService,
  type MethodDescriptor,
  type MethodKind,
  type MethodSpec,
  oneway,
  type ServiceDescriptor,
  serverStream,
  unary,
} from "./core/service.js";
export { createServer, Server, type ServerMethod, type ServerOptions, type ServiceImpl } from "./server/server.js";
