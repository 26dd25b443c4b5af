/**
 * farcall/protocol: what a third-party protocol needs to plug into farcall (docs/architecture.md,
 * "Adding a protocol"). A protocol is a {@link Protocol} object passed in `ServerOptions.protocols`
 * and `ClientOptions.protocols`; this entry has the seam's types, the carriers (byte streams,
 * WebSocket, HTTP exchanges), the call context handlers run with, an in-memory connection pair for
 * tests, and the built-in protocols to extend.
 * @packageDocumentation
 */

export { type BuiltinProtocolOptions, builtinProtocols } from "./builtin.js";
export { type ByteStream, type ByteStreamHandler, maxBufferedBytes } from "./byte-stream.js";
export { ServerCallContext, type ServerDispatcher } from "./call-context.js";
export { builtinFramedCodecs, type FramedCodec } from "./farcall/codecs.js";
export { defaultStreamWindowBytes } from "./farcall/constants.js";
export { type FarcallProtocolOptions, farcallProtocol } from "./farcall/protocol.js";
export type { HttpRequest, HttpResponse } from "./http/exchange.js";
export { type HttpProtocolOptions, httpProtocol } from "./http/protocol.js";
export { goConnectProtocol, type JsonRpcProtocolOptions, jsonRpcProtocol } from "./jsonrpc/protocol.js";
export { memoryPair } from "./memory.js";
export { type MessageHandler, type MessagePipe, memoryMessagePair, webSocketMessages } from "./message-pipe.js";
export {
  type AttachableStream,
  type CallTransport,
  type ChannelHooks,
  type ChannelSession,
  type ClientPlatform,
  type Connection,
  type Dial,
  type DialContext,
  type Dialer,
  type DrainableSession,
  type Fetch,
  firstNonBlank,
  type HttpCarrier,
  type HttpCarrierOptions,
  type HttpHandlers,
  type HttpRoute,
  type HttpRouteContext,
  maxLeadingBlanks,
  type Protocol,
  type ServeContext,
  type ServerPlatform,
  type SessionCallOptions,
  type SniffVerdict,
  type WebSocketService,
} from "./protocol.js";
export { UnaryCall } from "./unary-call.js";
export type { WebSocketCtor, WebSocketLike } from "./websocket-like.js";
