import { findCodec } from "../codec/index.js";
import { Code } from "../core/code.js";
import { type Limits, resolveLimits } from "../core/limits.js";
import { RpcError } from "../core/rpc-error.js";
import type { ByteStream, ByteStreamHandler } from "../protocol/byte-stream.js";
import { ClientSession } from "../protocol/farcall/client-session.js";
import { JsonSplitter } from "../protocol/json/json-splitter.js";
import { JsonRpcClientSession, type JsonRpcDialect } from "../protocol/jsonrpc/client-session.js";
import { messageBytes, openWebSocket, type WebSocketCtor } from "../protocol/websocket-like.js";
import { WebSocketByteStream } from "../protocol/websocket-stream.js";
import { Channel, type ChannelSession, type Dial, defaultBackoff } from "./channel.js";
import type { CallTransport, ClientOptions } from "./client.js";
import { type Fetch, HttpJsonTransport, JsonRpcHttpTransport } from "./http-transport.js";

/** A byte stream a session can be attached to. */
export type AttachableStream = ByteStream & { attach(handler: ByteStreamHandler): void };

/** What the runtime offers a client: Node has all three, a browser no raw sockets. */
export interface Platform {
  /**
   * Opens `tcp://` or `unix://` (Node only). With `reuseReadBuffer`, chunks are read into one
   * buffer and valid only during `onData` (`transientChunks`): for sessions that copy what they keep.
   */
  readonly dialStream?: (address: string, timeoutMs: number, reuseReadBuffer?: boolean) => Promise<AttachableStream>;
  /** The WebSocket class, loaded when a WebSocket address is first dialled. */
  readonly loadWebSocket?: (() => Promise<WebSocketCtor>) | undefined;
  readonly fetch?: Fetch | undefined;
}

const encoder = new TextEncoder();
const closed = () => new RpcError(Code.Unavailable, "connection closed", { safeToRetry: true });

/** JSON-RPC texts over a byte stream: replies cut out by a splitter, requests written once per tick. */
function jsonRpcOverStream(
  stream: AttachableStream,
  limits: Limits,
  session: (pipe: { send(t: string): void; end(): void }) => JsonRpcClientSession,
) {
  let out: string[] = [];
  const flush = () => {
    const text = out.join("");
    out = [];
    stream.write([encoder.encode(text)]);
  };
  const s = session({
    send(text) {
      if (out.length === 0) stream.schedule(flush);
      out.push(text, "\n");
    },
    end: () => stream.end(),
  });
  const splitter = new JsonSplitter(limits);
  stream.attach({
    onData(chunk) {
      let texts: Uint8Array[] = [];
      try {
        texts = splitter.push(chunk);
      } catch {
        // reported below, from splitter.error
      }
      for (const text of texts) s.onText(text);
      if (splitter.error !== undefined) {
        s.onClose(splitter.error);
        stream.destroy();
      }
    },
    onClose: (err) => s.onClose(err),
  });
  return s;
}

/** Feeds a WebSocket's messages (one JSON text each) to a client session. */
function feedFromWebSocket(ws: import("../protocol/websocket-like.js").WebSocketLike, session: JsonRpcClientSession) {
  ws.addEventListener("message", (event) => {
    const data = messageBytes(event.data);
    session.onText(typeof data === "string" ? encoder.encode(data) : data);
  });
  ws.addEventListener("close", () => session.onClose());
  ws.addEventListener("error", () => session.onClose());
}

/**
 * The transport for an address, by scheme (docs/protocols.md): farcall over `tcp://`, `unix://`,
 * `ws://`; farcall's HTTP JSON over `http://`; JSON-RPC 2.0 over `jsonrpc+tcp://`,
 * `jsonrpc+http://`, `jsonrpc+ws://`; Go net/rpc over `gorpc+tcp://`.
 * @throws RpcError `invalid_argument` for a scheme this platform cannot serve
 */
export function transportFor(address: string, options: ClientOptions, platform: Platform): CallTransport {
  const limits = resolveLimits(options.limits);
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const backoff = { ...defaultBackoff, ...options.backoff };
  const match = /^([a-z+]+):\/\//.exec(address);
  const scheme = match?.[1] ?? "tcp";
  const rest = match === null ? address : address.slice(scheme.length + 3);
  const unsupported = () =>
    new RpcError(
      Code.InvalidArgument,
      `cannot use ${JSON.stringify(address)} here: no ${scheme} transport on this platform`,
    );
  const channel = (dial: Dial) => new Channel(dial, backoff);
  const stream = (target: string, reuseReadBuffer = false) => {
    const dialStream = platform.dialStream;
    if (dialStream === undefined) throw unsupported();
    return () => dialStream(target, timeoutMs, reuseReadBuffer);
  };
  const webSocket = (url: string, protocol: string) => {
    const load = platform.loadWebSocket;
    if (load === undefined) throw unsupported();
    return () => load().then((ctor) => openWebSocket(ctor, url, protocol, timeoutMs));
  };
  const jsonRpc = (dialect: JsonRpcDialect, onClose: () => void) => (pipe: { send(t: string): void; end(): void }) =>
    new JsonRpcClientSession(pipe, { dialect, limits, methodName: options.methodName, onClose });
  const fetchFn = () => {
    const f = platform.fetch;
    if (f === undefined) throw unsupported();
    return f;
  };

  switch (scheme) {
    case "tcp":
    case "unix":
    case "ws":
    case "wss": {
      const codec = typeof options.codec === "object" ? options.codec : findCodec(options.codec ?? "msgpack");
      if (codec === undefined) throw new TypeError(`unknown codec ${String(options.codec)}`);
      const open =
        scheme === "ws" || scheme === "wss"
          ? (
              (ws) => () =>
                ws().then((s) => new WebSocketByteStream(s, { transport: "websocket", address }))
            )(webSocket(address, "farcall"))
          : // The farcall reader copies what it keeps, so it can read into one reused buffer.
            stream(match === null ? `tcp://${rest}` : address, true);
      return channel((hooks) =>
        open().then((s): ChannelSession => {
          const session = new ClientSession(s, codec, limits, hooks);
          s.attach(session);
          return session;
        }),
      );
    }
    case "http":
    case "https":
      return new HttpJsonTransport(address.replace(/\/+$/, ""), limits, fetchFn());
    case "jsonrpc+http":
    case "jsonrpc+https":
      return new JsonRpcHttpTransport(address.slice("jsonrpc+".length), limits, fetchFn(), options.methodName);
    case "jsonrpc+tcp":
    case "gorpc+tcp": {
      const open = stream(`tcp://${rest}`);
      const dialect: JsonRpcDialect = scheme === "gorpc+tcp" ? "go" : "2.0";
      return channel((hooks) =>
        open().then((s) =>
          jsonRpcOverStream(
            s,
            limits,
            jsonRpc(dialect, () => hooks.onClose(closed())),
          ),
        ),
      );
    }
    case "jsonrpc+ws":
    case "jsonrpc+wss": {
      const open = webSocket(address.slice("jsonrpc+".length), "jsonrpc");
      return channel((hooks) =>
        open().then((ws) => {
          const session = jsonRpc("2.0", () => hooks.onClose(closed()))({
            send: (t) => ws.send(t),
            end: () => ws.close(1000),
          });
          feedFromWebSocket(ws, session);
          return session;
        }),
      );
    }
    default:
      throw new RpcError(Code.InvalidArgument, `unknown address scheme ${scheme}:// in ${JSON.stringify(address)}`);
  }
}
