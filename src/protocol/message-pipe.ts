import type { Peer } from "../core/interceptor.js";
import { messageBytes, type WebSocketLike, WsState } from "./websocket-like.js";

const encoder = new TextEncoder();

/** What a session gets from a message carrier, one call per message and one at the end. */
export interface MessageHandler {
  /** One whole message; a text message arrives as its UTF-8 bytes. */
  onMessage(message: Uint8Array): void;
  /** The carrier is closed (by either side, or it failed); called once. */
  onClose(): void;
}

/**
 * A carrier of whole messages, the counterpart of `ByteStream` for protocols whose unit is a
 * message: a WebSocket message now, a datagram or an HTTP body next. The carrier owns the
 * transport; the session owns what a message means.
 */
export interface MessagePipe {
  readonly peer: Peer;
  /** False once closing or closed: `send` then drops the message. */
  readonly open: boolean;
  /** Starts delivery to `handler` (once). */
  attach(handler: MessageHandler): void;
  /** Sends one message: text as a text message where the carrier tells them apart. */
  send(message: Uint8Array | string): void;
  /** Closes gracefully; `code` and `reason` where the carrier has them (WebSocket close codes). */
  close(code?: number, reason?: string): void;
  /** Drops the transport at once. */
  terminate(): void;
}

/** A WebSocket as a message pipe; its binary messages arrive as bytes (`binaryType` "arraybuffer"). */
export function webSocketMessages(ws: WebSocketLike, peer: Peer): MessagePipe {
  ws.binaryType = "arraybuffer";
  let handler: MessageHandler | undefined;
  let closed = false;
  const isOpen = () => !closed && ws.readyState === WsState.Open;
  const close = () => {
    if (closed) return;
    closed = true;
    handler?.onClose();
  };
  return {
    peer,
    get open() {
      return isOpen();
    },
    attach(h) {
      handler = h;
      ws.addEventListener("message", (event) => {
        const data = messageBytes(event.data);
        h.onMessage(typeof data === "string" ? encoder.encode(data) : data);
      });
      ws.addEventListener("close", close);
      ws.addEventListener("error", close);
    },
    send(message) {
      if (isOpen()) ws.send(message);
    },
    close(code, reason) {
      ws.close(code, reason);
    },
    terminate() {
      const terminate = (ws as { terminate?: () => void }).terminate;
      if (terminate !== undefined) terminate.call(ws);
      else ws.close();
      close();
    },
  };
}

/**
 * Two message pipes joined in memory, for tests of message sessions without sockets. A message is
 * delivered on a later microtask, as a copy; closing either end closes both.
 */
export function memoryMessagePair(peer: Peer = { transport: "memory", address: "memory" }): [MessagePipe, MessagePipe] {
  const ends: { handler?: MessageHandler; closed: boolean; pending: Uint8Array[] }[] = [
    { closed: false, pending: [] },
    { closed: false, pending: [] },
  ];
  const closeBoth = () => {
    for (const end of ends) {
      if (end.closed) continue;
      end.closed = true;
      const h = end.handler;
      if (h !== undefined) queueMicrotask(() => h.onClose());
    }
  };
  const pipe = (self: number): MessagePipe => {
    const me = ends[self] as (typeof ends)[number];
    const other = ends[1 - self] as (typeof ends)[number];
    return {
      peer,
      get open() {
        return !me.closed;
      },
      attach(h) {
        me.handler = h;
        for (const m of me.pending.splice(0)) queueMicrotask(() => h.onMessage(m));
        if (me.closed) queueMicrotask(() => h.onClose());
      },
      send(message) {
        if (me.closed) return;
        const copy = typeof message === "string" ? encoder.encode(message) : message.slice();
        queueMicrotask(() => {
          if (other.closed) return;
          if (other.handler === undefined) other.pending.push(copy);
          else other.handler.onMessage(copy);
        });
      },
      close: closeBoth,
      terminate: closeBoth,
    };
  };
  return [pipe(0), pipe(1)];
}
