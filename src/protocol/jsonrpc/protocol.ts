import { concatBytes } from "../../core/bytes.js";
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { refuseSigner } from "../hmac.js";
import { webSocketMessages } from "../message-pipe.js";
import type { AttachableStream, DialContext, Dialer, Protocol, ServeContext } from "../protocol.js";
import { firstNonBlank, maxLeadingBlanks } from "../protocol.js";
import { JsonRpcClientSession, type JsonRpcDialect } from "./client-session.js";
import { connectPrefix, parseConnect } from "./go-connect.js";
import { JsonRpcHttpTransport } from "./http-client.js";
import { jsonRpcRoute } from "./http-server.js";
import { serveMessages } from "./message-session.js";
import { defaultMaxBatchLength, JsonRpcResponder, type JsonRpcServerOptions, type JsonRpcSettings } from "./server.js";
import { clientOverMessages, clientOverStream } from "./stream-client.js";
import { JsonStreamSession } from "./stream-session.js";

/** Options of the JSON-RPC protocol (both dialects). */
export interface JsonRpcProtocolOptions {
  /** Whether keys in Go net/rpc params are converted to lowerCamel (docs/protocols.md). Default "lowerCamel". */
  readonly goFieldNames?: JsonRpcServerOptions["goFieldNames"] | undefined;
  /** Entries in one batch; beyond it the batch is one `invalid request` error. Default 1,000. */
  readonly maxBatchLength?: number | undefined;
}

const encoder = new TextEncoder();

/** The protocol's settings with their defaults. @throws RangeError for a bad maxBatchLength */
function settingsOf(options: JsonRpcProtocolOptions): JsonRpcSettings {
  const maxBatchLength = options.maxBatchLength ?? defaultMaxBatchLength;
  if (!Number.isInteger(maxBatchLength) || maxBatchLength < 1) {
    throw new RangeError(`maxBatchLength must be a whole number >= 1, got ${String(maxBatchLength)}`);
  }
  return { goFieldNames: options.goFieldNames ?? "lowerCamel", maxBatchLength };
}
const closed = () => new RpcError(Code.Unavailable, "connection closed", { safeToRetry: true });

/** Serves a JSON stream (JSON-RPC 2.0 and Go's dialect, told apart per message) on a byte stream. */
function serveJsonStream(
  stream: AttachableStream,
  first: Uint8Array,
  ctx: ServeContext,
  options: JsonRpcServerOptions,
) {
  let untrack = () => {};
  const responder = new JsonRpcResponder(ctx.dispatcher, options, stream.peer);
  const session = new JsonStreamSession(stream, responder, ctx.limits, {
    onClose: () => untrack(),
    idleTimeoutMs: ctx.idleTimeoutMs,
    messageTimeoutMs: ctx.messageTimeoutMs,
  });
  untrack = ctx.track(session);
  stream.attach(session);
  if (first.length > 0) session.onData(first);
}

function session(ctx: DialContext, dialect: JsonRpcDialect, onClose: () => void) {
  return (pipe: ConstructorParameters<typeof JsonRpcClientSession>[0]) =>
    new JsonRpcClientSession(pipe, {
      dialect,
      limits: ctx.limits,
      methodName: ctx.methodName,
      onClose,
      envelopes: dialect === "2.0" ? { signer: ctx.signer } : undefined,
    });
}

/** JSON-RPC's ALPN name over TLS (not registered with IANA; Go's net/rpc has none). */
const alpn = ["jsonrpc"];

const overTcp =
  (dialect: JsonRpcDialect, tls: boolean): Dialer =>
  (ctx) => {
    if (dialect === "go") refuseSigner(ctx.signer, ctx.address);
    const open = ctx.dialStream(`tcp://${ctx.rest}`, tls ? { tls: { alpn: dialect === "go" ? [] : alpn } } : {});
    return ctx.channel((hooks) =>
      open().then((s) =>
        clientOverStream(
          s,
          ctx.limits,
          session(ctx, dialect, () => hooks.onClose(closed())),
        ),
      ),
    );
  };

const overWebSocket: Dialer = (ctx) => {
  const url = ctx.address.slice("jsonrpc+".length);
  const open = ctx.dialWebSocket(url, "jsonrpc");
  return ctx.channel((hooks) =>
    open().then((ws) =>
      clientOverMessages(
        webSocketMessages(ws, { transport: "websocket", address: url }),
        session(ctx, "2.0", () => hooks.onClose(closed())),
      ),
    ),
  );
};

const overHttp: Dialer = (ctx) =>
  new JsonRpcHttpTransport(ctx.address.slice("jsonrpc+".length), ctx.limits, ctx.fetch(), ctx.methodName, ctx.signer);

/**
 * JSON-RPC 2.0 and Go's net/rpc JSON dialect (docs/protocols.md): recognised by a JSON value's
 * first byte (`{` or `[`, after up to 64 blanks); served on byte streams, on WebSockets
 * (subprotocol `jsonrpc`, or none) and at HTTP `POST /` and `POST /jsonrpc`; dialled at
 * `jsonrpc+tcp://`, `jsonrpc+tls://`, `jsonrpc+http(s)://`, `jsonrpc+ws(s)://`, `gorpc+tcp://`
 * and `gorpc+tls://`.
 */
export function jsonRpcProtocol(options: JsonRpcProtocolOptions = {}): Protocol {
  const settings = settingsOf(options);
  const endpointOptions = (ctx: ServeContext): JsonRpcServerOptions => ({ ...settings, limits: ctx.limits });
  return {
    name: "jsonrpc",
    alpn,
    sniff(bytes) {
      const at = firstNonBlank(bytes);
      if (at > maxLeadingBlanks) return "no";
      if (at === bytes.length) return "more";
      const b = bytes[at];
      return b === 0x7b || b === 0x5b ? "yes" : "no";
    },
    serve(conn, ctx) {
      conn.handshakeDone();
      serveJsonStream(conn.stream, conn.first, ctx, endpointOptions(ctx));
    },
    webSocket: {
      subprotocols: ["jsonrpc", ""],
      serve(ws, peer, ctx) {
        const responder = new JsonRpcResponder(ctx.dispatcher, endpointOptions(ctx), peer);
        let untrack = () => {};
        const pipe = webSocketMessages(ws, peer);
        untrack = ctx.track(serveMessages(pipe, responder, ctx.limits.maxMessageBytes, () => untrack()));
      },
    },
    http: jsonRpcRoute(settings),
    schemes: {
      "jsonrpc+tcp": overTcp("2.0", false),
      "jsonrpc+tls": overTcp("2.0", true),
      "gorpc+tcp": overTcp("go", false),
      "gorpc+tls": overTcp("go", true),
      "jsonrpc+ws": overWebSocket,
      "jsonrpc+wss": overWebSocket,
      "jsonrpc+http": overHttp,
      "jsonrpc+https": overHttp,
    },
  };
}

/**
 * Go net/rpc's HTTP handshake, `CONNECT /_goRPC_ HTTP/1.0` (docs/protocols.md), after which the
 * connection carries Go's JSON dialect. Read here, since node's HTTP parser does not take its
 * origin-form target nor Go's bare-LF line ends; needs the first 8 bytes to tell it from HTTP.
 */
export function goConnectProtocol(options: JsonRpcProtocolOptions = {}): Protocol {
  const settings = settingsOf(options);
  return {
    name: "gorpc-connect",
    sniff(bytes) {
      const n = Math.min(bytes.length, connectPrefix.length);
      for (let k = 0; k < n; k++) if (bytes[k] !== connectPrefix[k]) return "no";
      return n === connectPrefix.length ? "yes" : "more";
    },
    serve({ stream, first, handshakeDone }, ctx) {
      let seen = first;
      let done = false;
      const step = (): void => {
        const head = parseConnect(seen);
        if (head === undefined || done) return;
        done = true;
        handshakeDone();
        if (typeof head === "string" || head.target !== "/_goRPC_" || ctx.draining) {
          const why = typeof head === "string" ? head : `no CONNECT target ${head.target}`;
          stream.write([encoder.encode(`HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\n${why}\n`)]);
          return stream.end();
        }
        stream.write([encoder.encode("HTTP/1.0 200 Connected to Go RPC\n\n")]);
        serveJsonStream(stream, head.rest, ctx, { ...settings, limits: ctx.limits });
      };
      stream.attach({
        onData: (chunk) => {
          seen = concatBytes([seen, chunk]);
          step();
        },
        onClose: () => handshakeDone(),
      });
      step();
    },
  };
}
