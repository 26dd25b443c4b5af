import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { Peer } from "../core/interceptor.js";
import {
  type ByteStream,
  type ByteStreamHandler,
  defaultWriteStallTimeoutMs,
  maxBufferedBytes,
} from "../protocol/byte-stream.js";
import { describeTlsError } from "../protocol/tls.js";
import { peerTlsOf } from "./tls-info.js";

/** How long an ended socket may wait for the peer's close before it is destroyed. */
const lingerMs = 5_000;
/** Silence before the kernel's first keepalive probe (the same as farcall's PING interval). */
const tcpKeepaliveMs = 30_000;

/**
 * Who is on the other end of a socket: its address (or a unix socket's path), and for a TLS socket
 * the session and the peer's certificate.
 */
export function peerOfSocket(socket: Socket, transport: string): Peer {
  const peer: Peer =
    socket.remoteAddress === undefined
      ? { transport, address: socket.localAddress ?? "unix" }
      : { transport, address: socket.remoteAddress, port: socket.remotePort };
  return socket instanceof TLSSocket ? { ...peer, tls: peerTlsOf(socket) } : peer;
}

/**
 * Adapts a `net.Socket` to a {@link ByteStream}. Batches go out corked, so several chunks become
 * one writev; drain waiters are released on 'drain' and on close, so nobody waits forever.
 *
 * Given `readBuffer` (the buffer of the socket's `onread` option, see `connect`), reads arrive
 * through {@link deliver} as views of that one buffer, so {@link transientChunks} is true. The
 * socket is paused until a handler is attached, so nothing is read before someone takes it.
 */
export class SocketStream implements ByteStream {
  readonly peer: Peer;
  readonly transientChunks: boolean;
  private handler: ByteStreamHandler | undefined;
  private drainWaiters: (() => void)[] = [];
  private error: Error | undefined;
  private stallTimer: ReturnType<typeof setTimeout> | undefined;
  /** Something was read (a TLS peer that closes before that may have refused our certificate). */
  private received = false;

  /**
   * @param writeStallTimeoutMs the peer must take our output below {@link maxBufferedBytes} within
   *   this long once it is above, or the socket is destroyed (0: never).
   */
  constructor(
    private readonly socket: Socket,
    private readonly readBuffer?: Uint8Array,
    private readonly writeStallTimeoutMs = defaultWriteStallTimeoutMs,
  ) {
    this.transientChunks = readBuffer !== undefined;
    if (readBuffer !== undefined) socket.pause();
    socket.setNoDelay(true);
    // TCP keepalive probes after 30 s of silence: a peer that vanished without a FIN is noticed by
    // the kernel even on protocols that cannot PING (JSON-RPC, HTTP), which then see the close.
    socket.setKeepAlive(true, tcpKeepaliveMs);
    this.peer = peerOfSocket(socket, socket.remoteAddress !== undefined ? "tcp" : "unix");
    socket.on("error", this.onError);
    socket.on("drain", this.onDrainEvent);
    socket.on("close", this.onCloseEvent);
    socket.on("end", this.onEndEvent);
  }

  private readonly onError = (err: Error) => {
    const code = (err as NodeJS.ErrnoException).code;
    // A TLS alert after the handshake (TLS 1.3 servers check client certificates then) says why.
    this.error = code?.startsWith("ERR_SSL") ? new Error(`TLS: ${describeTlsError(err)}`, { cause: err }) : err;
  };
  private readonly onDrainEvent = () => {
    this.clearStall();
    this.releaseDrain();
  };
  private readonly onCloseEvent = () => {
    if (this.error === undefined && !this.received && this.socket instanceof TLSSocket) {
      this.error = new Error(
        "TLS: the peer closed the connection before sending anything (a TLS 1.3 server does so when it rejects the client certificate)",
      );
    }
    this.clearStall();
    this.releaseDrain();
    this.handler?.onClose(this.error);
  };
  /** The peer finished sending: a session that handles this ends its side itself; else it ends now. */
  private readonly onEndEvent = () => {
    if (this.handler?.onEnd !== undefined) this.handler.onEnd();
    else this.end();
  };
  private readonly onSocketData = (chunk: Buffer) => {
    this.received = true;
    this.handler?.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };

  /** The `onread` callback: `n` bytes were read into the read buffer. */
  deliver(n: number): void {
    const buffer = this.readBuffer as Uint8Array;
    this.handler?.onData(new Uint8Array(buffer.buffer, buffer.byteOffset, n));
  }

  /** Delivers data to `handler` from now on (replacing an earlier handler). */
  attach(handler: ByteStreamHandler): void {
    const first = this.handler === undefined;
    this.handler = handler;
    // Sessions get plain Uint8Array views: their subarrays are cheaper than Buffer's.
    if (first) {
      if (this.readBuffer === undefined) this.socket.on("data", this.onSocketData);
      else this.socket.resume();
    }
    if (this.socket.destroyed) handler.onClose(this.error);
  }

  /**
   * Gives the socket up to another owner (node:http): this stream stops listening to it, and
   * `unread` is put back so the new owner reads it first.
   */
  release(unread: Uint8Array): Socket {
    const socket = this.socket;
    this.clearStall();
    socket.pause();
    socket.off("data", this.onSocketData);
    socket.off("error", this.onError);
    socket.off("drain", this.onDrainEvent);
    socket.off("close", this.onCloseEvent);
    socket.off("end", this.onEndEvent);
    this.handler = undefined;
    if (unread.length > 0) socket.unshift(Buffer.from(unread.buffer, unread.byteOffset, unread.byteLength));
    return socket;
  }

  write(chunks: Uint8Array[]): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    if (chunks.length === 1) {
      socket.write(chunks[0] as Uint8Array);
      this.checkStall();
      return;
    }
    socket.cork();
    for (const chunk of chunks) socket.write(chunk);
    socket.uncork();
    this.checkStall();
  }

  /** Arms the write-stall timer once output is above the bound; 'drain' clears it. */
  private checkStall(): void {
    if (this.stallTimer !== undefined || this.writeStallTimeoutMs <= 0 || !this.needDrain) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (!this.needDrain) return;
      this.error = new Error(`peer read nothing for writeStallTimeoutMs ${this.writeStallTimeoutMs}`);
      this.socket.destroy();
    }, this.writeStallTimeoutMs);
  }

  private clearStall(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  get needDrain(): boolean {
    return this.socket.writableLength > maxBufferedBytes;
  }

  onDrain(cb: () => void): void {
    // Past maxBufferedBytes a write has returned false, so 'drain' is sure to come.
    if (!this.needDrain || this.socket.destroyed) cb();
    else this.drainWaiters.push(cb);
  }

  schedule(cb: () => void): void {
    process.nextTick(cb);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.end();
    this.socket.setTimeout(lingerMs, () => this.socket.destroy());
  }

  destroy(): void {
    this.socket.destroy();
  }

  private releaseDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
