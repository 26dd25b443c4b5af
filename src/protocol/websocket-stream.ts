import { concatBytes } from "../core/bytes.js";
import type { Peer } from "../core/interceptor.js";
import { type ByteStream, type ByteStreamHandler, maxBufferedBytes } from "./byte-stream.js";
import { messageBytes, type WebSocketLike, WsState } from "./websocket-like.js";

/**
 * WebSockets have no drain event, so a waiting writer looks again this often: short enough not to
 * stall a stream at loopback speed, long enough not to spin.
 */
const drainPollMs = 5;
/**
 * Largest binary message sent. A receiver buffers a whole message before handing it on, so a tick's
 * worth of frames (possibly many MiB) goes out in pieces, and the receiver's message limit stays
 * small whatever `maxMessageBytes` is; frames may span messages anyway.
 */
export const webSocketPieceBytes = 64 * 1024;

/**
 * A WebSocket carrying a byte stream: every batch written goes out as binary messages of at most
 * {@link webSocketPieceBytes}, and messages
 * are delivered as chunks, so farcall framing runs over it unchanged (frames may span messages).
 * A text message is a protocol error: the socket is closed with 1003.
 */
export class WebSocketByteStream implements ByteStream {
  private handler: ByteStreamHandler | undefined;
  private closed = false;

  constructor(
    private readonly ws: WebSocketLike,
    readonly peer: Peer,
  ) {
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (event) => {
      const data = messageBytes(event.data);
      if (typeof data === "string") ws.close(1003, "farcall framing travels in binary messages");
      else if (data.length > 0) this.handler?.onData(data);
    });
    ws.addEventListener("close", () => this.close());
    ws.addEventListener("error", () => this.close());
  }

  attach(handler: ByteStreamHandler): void {
    this.handler = handler;
    if (this.closed) handler.onClose();
  }

  write(chunks: Uint8Array[]): void {
    if (this.ws.readyState !== WsState.Open) return;
    const bytes = concatBytes(chunks);
    for (let at = 0; at < bytes.length; at += webSocketPieceBytes) {
      this.ws.send(bytes.subarray(at, at + webSocketPieceBytes));
    }
  }

  get needDrain(): boolean {
    return this.ws.bufferedAmount > maxBufferedBytes;
  }

  onDrain(cb: () => void): void {
    if (!this.needDrain || this.closed) cb();
    else setTimeout(() => this.onDrain(cb), drainPollMs);
  }

  schedule(cb: () => void): void {
    queueMicrotask(cb);
  }

  pause(): void {
    (this.ws as { pause?: () => void }).pause?.();
  }

  resume(): void {
    (this.ws as { resume?: () => void }).resume?.();
  }

  end(): void {
    if (this.ws.readyState < WsState.Closing) this.ws.close(1000);
  }

  destroy(): void {
    const terminate = (this.ws as { terminate?: () => void }).terminate;
    if (terminate !== undefined) terminate.call(this.ws);
    else this.end();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler?.onClose();
  }
}
