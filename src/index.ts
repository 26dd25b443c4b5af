/**
 * farcall: typed RPC for Node.js over its own framed protocol, and JSON-RPC 2.0, Go net/rpc,
 * HTTP JSON and WebSocket on the same port.
 * @packageDocumentation
 */

export { type BackoffOptions, retryRefusedWhileDraining } from "./client/channel.js";
export { Client, type ClientOptions } from "./client/client.js";
export type { ResolvedEndpoint, Resolver, ResolverListener } from "./client/resolver.js";
export type { ClientMethod, Invoke, ProxyClient, ServiceClient } from "./client/stub.js";
export { type Codec, jsonCodec, msgpackCodec } from "./codec/index.js";
export {
  decodeXdr,
  encodeXdr,
  type XdrArm,
  type XdrType,
  xdr,
  xdrCodec,
  xdrFromJson,
  xdrToJson,
  xdrWire,
} from "./codec/xdr/index.js";
export { createClient } from "./connect.js";
export * from "./core/public.js";
export { type Announcement, type AnnounceOptions, announce } from "./discovery/announce.js";
export { parseEtcdAddress } from "./discovery/etcd/etcd.js";
export { createRegistry, type Registry, type RegistryOptions } from "./discovery/registry/registry.js";
export { parseRegistryAddress } from "./discovery/registry/resolver.js";
export { type EndpointSet, type Entry, RegistryService } from "./discovery/registry/service.js";
export { defaultRegistryLimits, type RegistryLimits } from "./discovery/registry/store.js";
export { type BuiltinProtocolOptions, builtinProtocols } from "./protocol/builtin.js";
export type { IncomingCall } from "./protocol/call-context.js";
export type {
  CallTransport,
  ChannelState,
  EndpointStatus,
  Protocol,
  RetryDecision,
  RetryPolicy,
} from "./protocol/protocol.js";
export type { ClientTlsOptions, ServerTlsOptions, TlsMaterial } from "./protocol/tls.js";
export type { AttemptDetail } from "./resilience/balancer.js";
export type { Authenticate, Authorize } from "./server/guard.js";
export {
  defaultHmacWindowMs,
  defaultMaxNonces,
  type HmacPrincipal,
  type HmacVerifierOptions,
  hmacVerifier,
} from "./server/hmac.js";
export {
  type IdempotencyOptions,
  type IdempotencyStore,
  type IdempotentOutcome,
  MemoryIdempotencyStore,
} from "./server/idempotency.js";
export {
  type AddOptions,
  createServer,
  type ListenOptions,
  Server,
  type ServerMethod,
  type ServerOptions,
  type ServiceImpl,
} from "./server/server.js";
export { bearerToken, bearerTokens, type JwtVerifierOptions, jwtVerifier } from "./server/tokens.js";
