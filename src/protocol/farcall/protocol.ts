import type { ByteStream, ByteStreamHandler } from "../byte-stream.js";
import type { AttachableStream, DialContext, Dialer, Protocol, ServeContext } from "../protocol.js";
import { WebSocketByteStream } from "../websocket-stream.js";
import { ClientSession } from "./client-session.js";
import { builtinFramedCodecs, type FramedCodec, framedCodec } from "./codecs.js";
import { defaultStreamWindowBytes, magic } from "./constants.js";
import { livenessOf } from "./liveness.js";
import { ServerSession } from "./server-session.js";

/** Serves farcall framing on a byte stream; `onPreface` runs once the client's preface is in. */
function serveStream(
  stream: ByteStream & { attach(h: ByteStreamHandler): void },
  first: Uint8Array,
  ctx: ServeContext,
  options: ResolvedOptions,
  onPreface?: () => void,
): void {
  let untrack = () => {};
  const session = new ServerSession(
    stream,
    { ...ctx.limits, streamWindowBytes: options.streamWindowBytes },
    options.codecs,
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
function channelOver(ctx: DialContext, options: ResolvedOptions, open: () => Promise<AttachableStream>) {
  const codec = framedCodec(ctx.codec);
  const limits = { ...ctx.limits, streamWindowBytes: options.streamWindowBytes };
  return ctx.channel((hooks) =>
    open().then((s) => {
      const session = new ClientSession(
        s,
        codec,
        limits,
        hooks,
        { liveness: livenessOf(ctx.keepalive, 0) },
        ctx.signer,
      );
      s.attach(session);
      return session;
    }),
  );
}

/** The farcall reader copies what it keeps, so a socket can read into one reused buffer. */
function dialSocket(options: ResolvedOptions): Dialer {
  return (ctx) =>
    channelOver(
      ctx,
      options,
      ctx.scheme === "tls"
        ? ctx.dialStream(`tcp://${ctx.rest}`, { tls: { alpn } })
        : ctx.dialStream(`${ctx.scheme}://${ctx.rest}`, { reuseReadBuffer: true }),
    );
}

/** farcall's ALPN name over TLS. */
const alpn = ["farcall"];

function dialWebSocket(options: ResolvedOptions): Dialer {
  return (ctx) => {
    const open = ctx.dialWebSocket(ctx.address, "farcall");
    return channelOver(ctx, options, () =>
      open().then((ws) => new WebSocketByteStream(ws, { transport: "websocket", address: ctx.address })),
    );
  };
}

/** Options of farcall framing, on a server (`ServerOptions.protocols`) or a client (`ClientOptions.protocols`). */
export interface FarcallProtocolOptions {
  /** Server: codecs clients may pick, by their preface id; default JSON (1) and MessagePack (2). */
  readonly codecs?: readonly FramedCodec[] | undefined;
  /**
   * Bytes of stream messages this side lets a sender have in flight per stream at most: the window
   * of a stream of large messages; each stream starts at 32 KiB (or this, if smaller), which is what
   * SETTINGS announces (docs/protocol.md §5); default {@link defaultStreamWindowBytes} (4 MiB).
   */
  readonly streamWindowBytes?: number | undefined;
}

type ResolvedOptions = Required<{ [K in keyof FarcallProtocolOptions]: NonNullable<FarcallProtocolOptions[K]> }>;

/**
 * farcall's own framing (docs/protocol.md): recognised by its first byte `7F`; served on byte
 * streams and inside WebSocket binary messages (subprotocol `farcall`); dialled at `tcp://`,
 * `unix://`, `tls://`, `ws://` and `wss://`.
 * @throws RangeError for a codec farcall cannot name or a window outside 1 to 2^32 - 1 bytes
 */
export function farcallProtocol(options: FarcallProtocolOptions = {}): Protocol {
  const resolved: ResolvedOptions = {
    codecs: options.codecs ?? builtinFramedCodecs,
    streamWindowBytes: options.streamWindowBytes ?? defaultStreamWindowBytes,
  };
  for (const c of resolved.codecs) framedCodec(c);
  // A SETTINGS value is 32 bits, and a window of 0 would stop every stream for good.
  const window = resolved.streamWindowBytes;
  if (!Number.isInteger(window) || window < 1 || window > 0xffff_ffff)
    throw new RangeError(`streamWindowBytes must be an integer from 1 to 4294967295, got ${String(window)}`);
  const socket = dialSocket(resolved);
  const webSocket = dialWebSocket(resolved);
  return {
    name: "farcall",
    // One byte decides: the session checks the rest of the magic and fails the connection with a reason.
    alpn,
    sniff: (bytes) => (bytes[0] === magic[0] ? "yes" : "no"),
    serve: (conn, ctx) => serveStream(conn.stream, conn.first, ctx, resolved, () => conn.handshakeDone()),
    webSocket: {
      subprotocols: ["farcall"],
      serve: (ws, peer, ctx) => serveStream(new WebSocketByteStream(ws, peer), new Uint8Array(0), ctx, resolved),
    },
    schemes: { tcp: socket, unix: socket, tls: socket, ws: webSocket, wss: webSocket },
  };
}
