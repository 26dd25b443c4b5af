import { Code, codeFromNumber } from "../../core/code.js";
import type { Limits } from "../../core/limits.js";
import { RpcError } from "../../core/rpc-error.js";
import type { ByteStream, ByteStreamHandler } from "../byte-stream.js";
import { announcedWindow } from "../flow.js";
import {
  defaultFrameTimeoutMs,
  defaultStreamWindowBytes,
  FrameType,
  frameOverheadBytes,
  frameTypeNames,
  magic,
  protocolVersion,
  Setting,
} from "./constants.js";
import { FrameReader, type FrameSink } from "./frame-reader.js";
import { FrameWriter } from "./frame-writer.js";
import { Liveness, type LivenessOptions } from "./liveness.js";
import { decodeText, type EncodedMessage, encodeLimitedText, PayloadReader } from "./payload.js";

/** A connection's limits under farcall framing: the shared ones and the stream window (§5). */
export interface FramedLimits extends Limits {
  readonly streamWindowBytes: number;
}

/** What a session is given: the shared limits and, optionally, the stream window. */
export type SessionLimits = Limits & { readonly streamWindowBytes?: number | undefined };

/** What a peer announced in SETTINGS (docs/protocol.md §4.8); defaults until it arrives. */
export interface PeerSettings {
  maxMessageBytes: number;
  maxMetadataBytes: number;
  maxInflight: number;
  streamWindowBytes: number;
}

/** The 8-byte connection preface: magic, version, codec id, two zero bytes. */
export function encodePreface(codecId: number, version = protocolVersion): Uint8Array {
  return Uint8Array.of(...magic, version, codecId, 0, 0);
}

/** True when `bytes` start with the farcall magic. */
export function hasMagic(bytes: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

/**
 * What client and server sessions share: the preface, SETTINGS, PING/PONG, GOAWAY, connection
 * errors and the closing sequence. A session owns its reader and writer; the transport owns the
 * stream. Subclasses own the calls.
 *
 * Lifecycle: open → (goaway sent or received: draining) → closed. `closed` is set exactly once,
 * by `onClose` or `fail`, and `terminate` then fails whatever calls remain.
 *
 * Stalled frames: a frame that stays incomplete for `frameTimeoutMs` (up to twice that, as the
 * check runs once per period) fails the connection with `deadline_exceeded`. One timer per
 * session, armed when a chunk leaves a frame incomplete and none is armed; when it fires it fails
 * the connection only if no frame was completed since it was armed, so a busy connection whose
 * frames span chunks arms one timer per period, not one per chunk.
 */
export abstract class FramedSession implements FrameSink, ByteStreamHandler {
  protected readonly writer: FrameWriter;
  protected readonly reader: FrameReader;
  protected peer: PeerSettings;
  protected peerSettingsSeen = false;
  private settingsWaiters: (() => void)[] = [];
  private pings = new Map<number, () => void>();
  private pingSeq = 0;
  /** Frames received so far; the stall timer compares it with its value when armed. */
  private framesIn = 0;
  private frameTimer: ReturnType<typeof setTimeout> | undefined;
  private frameTimerFrames = 0;
  private frameTimerAt = 0;
  closed = false;

  private liveness: Liveness | undefined;
  readonly frameTimeoutMs: number;
  readonly limits: FramedLimits;

  /**
   * `limits.streamWindowBytes` defaults to {@link defaultStreamWindowBytes}.
   * `timers.frameTimeoutMs`: how long a frame may stay incomplete before the connection fails
   * ({@link defaultFrameTimeoutMs}; 0 or less turns the check off). `timers.liveness`: keepalive
   * PINGs and the idle timeout (none when absent).
   */
  constructor(
    readonly stream: ByteStream,
    limits: SessionLimits,
    timers: SessionTimers = {},
  ) {
    this.limits =
      limits.streamWindowBytes === undefined
        ? { ...limits, streamWindowBytes: defaultStreamWindowBytes }
        : (limits as FramedLimits);
    this.frameTimeoutMs = timers.frameTimeoutMs ?? defaultFrameTimeoutMs;
    this.writer = new FrameWriter(stream);
    this.reader = new FrameReader(
      this,
      limits.maxMessageBytes + limits.maxMetadataBytes + frameOverheadBytes,
      stream.transientChunks === true,
    );
    this.peer = {
      maxMessageBytes: limits.maxMessageBytes,
      maxMetadataBytes: limits.maxMetadataBytes,
      maxInflight: limits.maxInflight,
      streamWindowBytes: announcedWindow(this.limits.streamWindowBytes),
    };
    const liveness = timers.liveness;
    if (liveness !== undefined) {
      this.liveness = new Liveness(
        {
          framesIn: () => this.framesIn,
          inflight: () => this.inflight,
          sendPing: () => void this.ping().catch(() => {}),
          dead: (error) => this.fail(error),
          idle: () => this.onIdle(liveness.idleTimeoutMs),
        },
        liveness,
      );
    }
  }

  abstract onPreface(preface: Uint8Array): void;
  /** Calls open on this connection. */
  abstract get inflight(): number;
  /** The connection went unused for `idleMs`, the idle timeout. */
  protected abstract onIdle(idleMs: number): void;
  /** REQUEST, RESPONSE, ERROR, CANCEL, DATA, END and WINDOW frames. */
  protected abstract onCallFrame(type: number, flags: number, id: number, payload: Uint8Array): void;
  /** The peer sent GOAWAY. */
  protected abstract onGoAway(error: RpcError): void;
  /** The connection is gone: fail every call that is still open with `error`. */
  protected abstract terminate(error: RpcError): void;

  onData(chunk: Uint8Array): void {
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(RpcError.from(err, Code.Internal));
    }
    if (this.frameTimer === undefined && this.reader.inFrame && !this.closed && this.frameTimeoutMs > 0) {
      this.armFrameTimer();
    }
  }

  onClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.writer.close();
    const reason = error
      ? `connection lost: ${error.message}`
      : this.reader.idle
        ? "connection closed by peer"
        : "connection closed by peer in the middle of a frame";
    this.releaseWaiters();
    this.terminate(new RpcError(Code.Unavailable, reason, { cause: error }));
  }

  onFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    this.framesIn++;
    if (this.closed) return;
    switch (type) {
      case FrameType.Ping:
        if (payload.length !== 8 || id !== 0) return this.fail(protocolError("PING must carry 8 bytes on id 0"));
        this.writer.frame(FrameType.Pong, 0, 0, payload.slice());
        return;
      case FrameType.Pong: {
        if (payload.length !== 8) return this.fail(protocolError("PONG must carry 8 bytes"));
        const seq = new DataView(payload.buffer, payload.byteOffset, 8).getUint32(4);
        const done = this.pings.get(seq);
        this.pings.delete(seq);
        done?.();
        return;
      }
      case FrameType.Settings:
        return this.readSettings(payload);
      case FrameType.GoAway: {
        try {
          const r = new PayloadReader(payload);
          const code = r.u8("goaway code");
          const text = decodeText(r.take(r.u16("goaway message length"), "goaway message"), "goaway message");
          this.onGoAway(
            new RpcError(code === 0 ? Code.Unavailable : codeFromNumber(code), `peer sent goaway: ${text}`),
          );
        } catch (err) {
          this.fail(RpcError.from(err, Code.Internal));
        }
        return;
      }
      default:
        if (type >= FrameType.Request && type <= FrameType.Window) {
          if (id === 0) return this.fail(protocolError(`${frameTypeNames[type]} frame on id 0`));
          return this.onCallFrame(type, flags, id, payload);
        }
        return this.fail(protocolError(`unknown frame type 0x${type.toString(16).padStart(2, "0")}`));
    }
  }

  /** Sends PING and resolves with the round trip in ms. Rejects if the connection closes first. */
  ping(): Promise<number> {
    if (this.closed) return Promise.reject(new RpcError(Code.Unavailable, "connection closed"));
    this.pingSeq = (this.pingSeq + 1) >>> 0;
    const seq = this.pingSeq;
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint32(4, seq);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      this.pings.set(seq, () =>
        this.closed ? reject(new RpcError(Code.Unavailable, "connection closed")) : resolve(Date.now() - started),
      );
      this.writer.frame(FrameType.Ping, 0, 0, payload);
    });
  }

  /**
   * A connection error (docs/protocol.md §6): send GOAWAY with the reason, close the stream once
   * it is flushed, and fail every open call.
   */
  fail(error: RpcError): void {
    if (this.closed) return;
    this.sendGoAway(error.code, error.rawMessage);
    this.writer.flush();
    this.closed = true;
    this.stopTimers();
    this.writer.close();
    this.stream.end();
    this.releaseWaiters();
    this.terminate(new RpcError(Code.Unavailable, `connection closed: ${error.rawMessage}`, { cause: error }));
  }

  /** Queues a frame whose payload is an optional u16-length-prefixed block, then `message`. */
  protected writeWithBlock(
    type: number,
    flags: number,
    id: number,
    block: Uint8Array | undefined,
    message?: EncodedMessage,
  ): void {
    if (block === undefined) return this.writer.frame(type, flags, id, message?.body, message?.head);
    const at = this.writer.begin(type, flags, id, 2 + block.length, message?.body, message?.head);
    if (at < 0) return;
    this.writer.view.setUint16(at, block.length);
    this.writer.bytes.set(block, at + 2);
  }

  /** Resolves once the peer's SETTINGS arrived (or the session closed). */
  protected settingsReady(): Promise<void> {
    if (this.peerSettingsSeen || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.settingsWaiters.push(resolve));
  }

  protected sendPreface(codecId: number): void {
    this.writer.raw(encodePreface(codecId));
  }

  protected sendSettings(): void {
    const entries: [number, number][] = [
      [Setting.MaxMessageBytes, this.limits.maxMessageBytes],
      [Setting.MaxMetadataBytes, this.limits.maxMetadataBytes],
      [Setting.MaxInflight, this.limits.maxInflight],
      [Setting.StreamWindowBytes, announcedWindow(this.limits.streamWindowBytes)],
    ];
    let at = this.writer.begin(FrameType.Settings, 0, 0, entries.length * 6, undefined);
    if (at < 0) return;
    const v = this.writer.view;
    for (const [key, value] of entries) {
      v.setUint16(at, key);
      v.setUint32(at + 2, value);
      at += 6;
    }
  }

  protected sendGoAway(code: Code, message: string): void {
    const text = encodeLimitedText(message, 1024);
    const at = this.writer.begin(FrameType.GoAway, 0, 0, 3 + text.length, undefined);
    if (at < 0) return;
    this.writer.view.setUint8(at, code);
    this.writer.view.setUint16(at + 1, text.length);
    this.writer.bytes.set(text, at + 3);
  }

  /** Checks the peer's preface; returns its codec id or fails the connection and returns -1. */
  protected checkPreface(preface: Uint8Array, who: string): number {
    if (!hasMagic(preface)) {
      this.fail(protocolError(`${who} did not send the farcall preface`));
      return -1;
    }
    const version = preface[4] as number;
    if (version !== protocolVersion) {
      this.fail(
        new RpcError(
          Code.Unimplemented,
          `${who} speaks farcall protocol version ${version}; this side speaks version ${protocolVersion}`,
        ),
      );
      return -1;
    }
    return preface[5] as number;
  }

  private readSettings(payload: Uint8Array): void {
    if (payload.length % 6 !== 0 || payload.length > 16 * 6) {
      return this.fail(protocolError(`SETTINGS payload of ${payload.length} bytes is not 0..16 entries of 6 bytes`));
    }
    const v = new DataView(payload.buffer, payload.byteOffset, payload.length);
    for (let at = 0; at < payload.length; at += 6) {
      const key = v.getUint16(at);
      const value = v.getUint32(at + 2);
      if (value === 0) return this.fail(protocolError(`SETTINGS value 0 for key ${key}`));
      if (key === Setting.MaxMessageBytes) this.peer.maxMessageBytes = value;
      else if (key === Setting.MaxMetadataBytes) this.peer.maxMetadataBytes = Math.min(value, 0xffff);
      else if (key === Setting.MaxInflight) this.peer.maxInflight = value;
      else if (key === Setting.StreamWindowBytes) this.peer.streamWindowBytes = value;
      // Unknown keys are ignored, so later versions can add settings.
    }
    this.peerSettingsSeen = true;
    this.releaseWaiters();
  }

  /** Stops the frame and liveness timers (the connection is closing). */
  protected stopTimers(): void {
    this.clearFrameTimer();
    this.liveness?.stop();
  }

  private armFrameTimer(): void {
    this.frameTimerFrames = this.framesIn;
    this.frameTimerAt = Date.now();
    this.frameTimer = setTimeout(this.onFrameTimer, this.frameTimeoutMs);
  }

  private clearFrameTimer(): void {
    if (this.frameTimer === undefined) return;
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }

  private readonly onFrameTimer = (): void => {
    this.frameTimer = undefined;
    if (this.closed || !this.reader.inFrame) return;
    // Give the frame in progress a full period when: a frame was completed since the timer was
    // armed (the one in progress may be new); our output is backed up (the session may have
    // stopped reading, so the stall may be ours); or the timer fired over half a period late
    // (the event loop was blocked, and the rest of the frame may be waiting unread).
    const late = Date.now() - this.frameTimerAt > this.frameTimeoutMs * 1.5;
    if (this.framesIn !== this.frameTimerFrames || this.stream.needDrain || late) return this.armFrameTimer();
    this.fail(
      new RpcError(Code.DeadlineExceeded, `frame incomplete for longer than frameTimeoutMs ${this.frameTimeoutMs}`),
    );
  };

  private releaseWaiters(): void {
    const waiters = this.settingsWaiters;
    this.settingsWaiters = [];
    for (const w of waiters) w();
    if (this.closed) {
      const pings = [...this.pings.values()];
      this.pings.clear();
      for (const p of pings) p();
    }
  }
}

/** A session's timers; see {@link FramedSession}. */
export interface SessionTimers {
  readonly frameTimeoutMs?: number | undefined;
  readonly liveness?: LivenessOptions | undefined;
}

/** A violation of the framing rules: the connection cannot continue. */
export function protocolError(message: string): RpcError {
  return new RpcError(Code.Internal, `protocol error: ${message}`);
}
