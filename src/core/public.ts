// What every entry point (Node's `farcall`, the browser's `farcall/web`) exports from core/.

export { Code, codeFromString, codeToString } from "./code.js";
export {
  type Credentials,
  compose,
  type Handler,
  type HandlerContext,
  type Interceptor,
  type Peer,
  type PeerCertificate,
  type PeerTls,
  type RpcRequest,
  type RpcResponse,
} from "./interceptor.js";
export { defaultLimits, type Limits } from "./limits.js";
export { createMetadata, idempotencyKeyHeader, type Metadata } from "./metadata.js";
export { RpcError, type RpcErrorOptions } from "./rpc-error.js";
export type { StandardSchemaV1 } from "./schema.js";
export {
  type AnySpec,
  type BalancerPolicy,
  bidiStream,
  type CallOptions,
  clientStream,
  defineService,
  type HedgingOptions,
  type MethodDescriptor,
  type MethodIdentity,
  type MethodKind,
  type MethodSpec,
  type OutlierOptions,
  oneway,
  type ServiceDescriptor,
  serverStream,
  unary,
  type WireJson,
  type WireTypes,
} from "./service.js";
