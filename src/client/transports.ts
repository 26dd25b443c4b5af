import { Code } from "../core/code.js";
import { resolveLimits } from "../core/limits.js";
import { RpcError } from "../core/rpc-error.js";
import { builtinProtocols } from "../protocol/builtin.js";
import {
  type CallTransport,
  type ClientPlatform,
  type DialContext,
  keepaliveOf,
  type Protocol,
} from "../protocol/protocol.js";
import { openWebSocket } from "../protocol/websocket-like.js";
import { Channel, defaultBackoff } from "./channel.js";
import type { ClientOptions } from "./client.js";

/** `scheme://` at the start of an address (RFC 3986 §3.1: a letter, then letters, digits, `+`, `-`, `.`). */
const schemePattern = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** The client protocols by default: the built-in ones. */
const defaultProtocols = builtinProtocols();

/**
 * The transport for an address: the protocol that owns its scheme (docs/protocols.md) builds it.
 * An address without a scheme is `tcp://`. Nothing connects yet.
 * @throws RpcError `invalid_argument` for an unknown scheme, or one this platform cannot serve
 */
export function transportFor(address: string, options: ClientOptions, platform: ClientPlatform): CallTransport {
  const match = schemePattern.exec(address);
  const scheme = (match?.[1] ?? "tcp").toLowerCase();
  const rest = match === null ? address : address.slice(scheme.length + 3);
  const protocols: readonly Protocol[] = options.protocols ?? defaultProtocols;
  const dialer = protocols.find((p) => p.schemes !== undefined && Object.hasOwn(p.schemes, scheme))?.schemes?.[scheme];
  if (dialer === undefined) {
    throw new RpcError(Code.InvalidArgument, `unknown address scheme ${scheme}:// in ${JSON.stringify(address)}`);
  }
  const unsupported = () =>
    new RpcError(
      Code.InvalidArgument,
      `cannot use ${JSON.stringify(address)} here: no ${scheme} transport on this platform`,
    );
  const limits = resolveLimits(options.limits);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const backoff = { ...defaultBackoff, ...options.backoff };
  let signer: DialContext["signer"];
  if (options.hmac !== undefined) {
    if (platform.hmacSigner === undefined) throw unsupported();
    signer = platform.hmacSigner(options.hmac);
  }
  const ctx: DialContext = {
    signer,
    address,
    scheme,
    rest,
    limits,
    connectTimeoutMs,
    keepalive: keepaliveOf(options.keepalive),
    codec: options.codec,
    methodName: options.methodName,
    dialStream(target, dialOptions) {
      const dial = platform.dialStream;
      if (dial === undefined) throw unsupported();
      return () => dial(target, connectTimeoutMs, dialOptions);
    },
    dialWebSocket(url, subprotocol) {
      const load = platform.loadWebSocket;
      if (load === undefined) throw unsupported();
      return () => load().then((ctor) => openWebSocket(ctor, url, subprotocol, connectTimeoutMs));
    },
    fetch() {
      const f = platform.fetch;
      if (f === undefined) throw unsupported();
      return f;
    },
    dialDatagram(host, port) {
      const dial = platform.dialDatagram;
      if (dial === undefined) throw unsupported();
      return () => dial(host, port);
    },
    channel: (dial) => new Channel(dial, { backoff, retryPolicy: options.retryPolicy }),
  };
  return dialer(ctx);
}
