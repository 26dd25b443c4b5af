import { utf8Bytes } from "../../codec/utf8.js";
import { Code } from "../../core/code.js";
import type { Limits } from "../../core/limits.js";
import { RpcError } from "../../core/rpc-error.js";
import type { ByteStream, ByteStreamHandler } from "../byte-stream.js";
import { JsonSplitter } from "../json/json-splitter.js";
import type { JsonRpcResponder } from "./server.js";

/** Hooks a server gives a session. */
export interface StreamSessionHooks {
  onClose(): void;
  /**
   * With no call running and nothing received for this long, the session ends; 0 or absent: never.
   * After the peer finished sending, calls still running this long are aborted.
   */
  readonly idleTimeoutMs?: number;
  /** A JSON value begun must be complete within this long, or the session answers an error and ends; 0 or absent: never. */
  readonly messageTimeoutMs?: number;
}

/**
 * JSON-RPC (2.0 or Go's dialect) over a byte stream: JSON texts in, one reply text plus `\n` out
 * per answered message, in the order calls finish. Replies made in one tick are written together.
 * Reading pauses while the transport's output is backed up. A value that cannot be cut out of the
 * stream (too large, too deep, stray bytes) gets one error reply and the connection is ended.
 */
export class JsonStreamSession implements ByteStreamHandler {
  private readonly splitter: JsonSplitter;
  private out: string[] = [];
  private scheduled = false;
  private paused = false;
  private draining = false;
  private ended = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private lastData = Date.now();
  /** When the value now half received began (0: none is). */
  private partialSince = 0;
  /** When the peer finished sending (0: it has not). */
  private peerEndedAt = 0;
  closed = false;

  constructor(
    private readonly stream: ByteStream,
    private readonly responder: JsonRpcResponder,
    limits: Limits,
    private readonly hooks: StreamSessionHooks,
  ) {
    this.splitter = new JsonSplitter(limits);
    const periods = [hooks.idleTimeoutMs ?? 0, hooks.messageTimeoutMs ?? 0].filter((ms) => ms > 0);
    if (periods.length > 0) this.armTimer(Math.max(1, Math.floor(Math.min(...periods) / 2)));
  }

  /**
   * One timer for both limits, checked every half of the shorter: the session ends between 1× and
   * 1.5× a limit after it was passed.
   */
  private armTimer(stepMs: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closed || this.ended) return;
      const now = Date.now();
      const { idleTimeoutMs = 0, messageTimeoutMs = 0 } = this.hooks;
      if (messageTimeoutMs > 0 && this.partialSince !== 0 && now - this.partialSince >= messageTimeoutMs) {
        const why = `JSON value incomplete for longer than messageTimeoutMs ${messageTimeoutMs}`;
        this.send(this.responder.malformed(new RpcError(Code.DeadlineExceeded, why), "parse"));
        return this.goAway();
      }
      // A peer that finished sending waits for answers, but not for ever: the calls of a client that
      // has gone would otherwise hold the connection until TCP keepalive finds the peer missing.
      if (idleTimeoutMs > 0 && this.peerEndedAt !== 0 && now - this.peerEndedAt >= idleTimeoutMs) {
        const why = `the client finished sending and its calls ran for longer than idleTimeoutMs ${idleTimeoutMs}`;
        this.responder.abortAll(new RpcError(Code.Canceled, why));
        return this.forceClose();
      }
      if (idleTimeoutMs > 0 && this.responder.inflight === 0 && this.partialSince === 0) {
        if (now - this.lastData >= idleTimeoutMs) return this.goAway();
      }
      this.armTimer(stepMs);
    }, stepMs);
  }

  onData(chunk: Uint8Array): void {
    this.lastData = Date.now();
    if (this.ended || this.draining) return;
    let texts: Uint8Array[] = [];
    try {
      texts = this.splitter.push(chunk);
    } catch {
      // reported below, from splitter.error
    }
    for (const text of texts) {
      const answer = this.responder.handle(text);
      if (answer === undefined) continue;
      if (typeof answer === "string") this.send(answer);
      else answer.then((reply) => this.reply(reply));
    }
    if (this.splitter.buffered === 0) this.partialSince = 0;
    else if (this.partialSince === 0 || texts.length > 0) this.partialSince = this.lastData;
    const err = this.splitter.error;
    if (err !== undefined) {
      this.send(this.responder.malformed(err, err.code === Code.ResourceExhausted ? "request" : "parse"));
      this.goAway();
    }
  }

  /**
   * The peer stopped sending: half a value left over can never complete, so it gets a parse
   * error; calls in flight are still answered, then this side ends.
   */
  onEnd(): void {
    this.peerEndedAt = Date.now();
    if (!this.ended && this.splitter.buffered > 0 && this.splitter.error === undefined) {
      this.send(
        this.responder.malformed(new RpcError(Code.InvalidArgument, "stream ended inside a JSON value"), "parse"),
      );
    }
    this.goAway();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.responder.abortAll(new RpcError(Code.Canceled, "connection closed"));
    this.hooks.onClose();
  }

  /** Stops reading; ends the connection once every call has answered. */
  goAway(): void {
    this.draining = true;
    this.stream.pause();
    this.checkDrained();
  }

  /** Ends the connection now, aborting calls in flight. */
  forceClose(): void {
    this.stream.destroy();
  }

  private reply(text: string | undefined): void {
    if (text !== undefined) this.send(text);
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.draining && this.responder.inflight === 0) this.end();
  }

  private send(text: string): void {
    if (this.closed) return;
    this.out.push(text, "\n");
    if (this.scheduled) return;
    this.scheduled = true;
    this.stream.schedule(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.out.length === 0 || this.closed) return;
    const text = this.out.join("");
    this.out = [];
    this.stream.write([utf8Bytes(text)]);
    if (this.ended) this.stream.end();
    else if (this.stream.needDrain && !this.paused) {
      this.paused = true;
      this.stream.pause();
      this.stream.onDrain(() => {
        this.paused = false;
        if (!this.draining) this.stream.resume();
      });
    }
  };

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idleTimer);
    this.stream.pause();
    if (this.scheduled) return; // flush ends the stream after writing what is queued
    this.stream.end();
  }
}
