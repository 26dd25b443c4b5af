import type { ByteStream, ByteStreamHandler } from "../byte-stream.js";
import type { AttachableStream, DialContext, Dialer, Protocol, ServeContext } from "../protocol.js";
import { WebSocketByteStream } from "../websocket-stream.js";
import { ClientSession } from "./client-session.js";
import { builtinFramedCodecs, type FramedCodec, framedCodec } from "./codecs.js";
import { magic } from "./constants.js";
import { livenessOf } from "./liveness.js";
import { ServerSession } from "./server-session.js";

/** Serves farcall framing on a byte stream; `onPreface` runs once the client's preface is in. */
function serveStream(
  stream: ByteStream & { attach(h: ByteStreamHandler): void },
  first: Uint8Array,
  ctx: ServeContext,
  codecs: readonly FramedCodec[],
  onPreface?: () => void,
): void {
  let untrack = () => {};
  const session = new ServerSession(
    stream,
    ctx.limits,
    codecs,
    ctx.dispatcher,
    {
      onPreface,
      onClose: () => {
        onPreface?.();
        untrack();
      },
    },
    { liveness: livenessOf(ctx.keepalive, ctx.idleTimeoutMs), frameTimeoutMs: ctx.messageTimeoutMs },
  );
  untrack = ctx.track(session);
  stream.attach(session);
  if (first.length > 0) session.onData(first);
}

/** A channel of farcall sessions over streams that `open` makes. */
function channelOver(ctx: DialContext, open: () => Promise<AttachableStream>) {
  const codec = framedCodec(ctx.codec);
  return ctx.channel((hooks) =>
    open().then((s) => {
      const session = new ClientSession(s, codec, ctx.limits, hooks, { liveness: livenessOf(ctx.keepalive, 0) });
      s.attach(session);
      return session;
    }),
  );
}

// The farcall reader copies what it keeps, so a socket can read into one reused buffer.
const dialSocket: Dialer = (ctx) => channelOver(ctx, ctx.dialStream(`${ctx.scheme}://${ctx.rest}`, true));

const dialWebSocket: Dialer = (ctx) => {
  const open = ctx.dialWebSocket(ctx.address, "farcall");
  return channelOver(ctx, () =>
    open().then((ws) => new WebSocketByteStream(ws, { transport: "websocket", address: ctx.address })),
  );
};

/**
 * farcall's own framing (docs/protocol.md): recognised by its first byte `7F`; served on byte
 * streams and inside WebSocket binary messages (subprotocol `farcall`); dialled at `tcp://`,
 * `unix://`, `ws://` and `wss://`.
 */
/** Options of farcall framing. */
export interface FarcallProtocolOptions {
  /** Codecs clients may pick, by their preface id; default JSON (1) and MessagePack (2). */
  readonly codecs?: readonly FramedCodec[] | undefined;
}

export function farcallProtocol(options: FarcallProtocolOptions = {}): Protocol {
  const codecs = options.codecs ?? builtinFramedCodecs;
  for (const c of codecs) framedCodec(c);
  return {
    name: "farcall",
    // One byte decides: the session checks the rest of the magic and fails the connection with a reason.
    sniff: (bytes) => (bytes[0] === magic[0] ? "yes" : "no"),
    serve: (conn, ctx) => serveStream(conn.stream, conn.first, ctx, codecs, () => conn.handshakeDone()),
    webSocket: {
      subprotocols: ["farcall"],
      serve: (ws, peer, ctx) => serveStream(new WebSocketByteStream(ws, peer), new Uint8Array(0), ctx, codecs),
    },
    schemes: { tcp: dialSocket, unix: dialSocket, ws: dialWebSocket, wss: dialWebSocket },
  };
}
