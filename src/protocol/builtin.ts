import { type FarcallProtocolOptions, farcallProtocol } from "./farcall/protocol.js";
import { type HttpProtocolOptions, httpProtocol } from "./http/protocol.js";
import { goConnectProtocol, type JsonRpcProtocolOptions, jsonRpcProtocol } from "./jsonrpc/protocol.js";
import { type OncRpcProtocolOptions, oncRpcProtocol } from "./oncrpc/protocol.js";
import type { Protocol } from "./protocol.js";

/** Options of the built-in protocols, each under its name. */
export interface BuiltinProtocolOptions {
  readonly farcall?: FarcallProtocolOptions;
  readonly http?: HttpProtocolOptions;
  readonly jsonRpc?: JsonRpcProtocolOptions;
  /** ONC RPC: AUTH_SYS `credentials` for the client's calls. */
  readonly oncrpc?: OncRpcProtocolOptions;
}

/**
 * The protocols every farcall server speaks and every client dials by default, in sniffing order:
 * farcall framing, Go's `CONNECT` (before HTTP, which would take its capital letter), JSON-RPC, HTTP,
 * ONC RPC.
 */
export function builtinProtocols(options: BuiltinProtocolOptions = {}): Protocol[] {
  return [
    farcallProtocol(options.farcall),
    goConnectProtocol(options.jsonRpc),
    jsonRpcProtocol(options.jsonRpc),
    httpProtocol(options.http),
    oncRpcProtocol(options.oncrpc),
  ];
}
