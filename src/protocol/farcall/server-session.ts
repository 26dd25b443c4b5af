import type { Codec } from "../../codec/codec.js";
import { Code } from "../../core/code.js";
import { deadlineExceeded } from "../../core/deadline.js";
import { isEmptyMetadata, type Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { ByteStream } from "../byte-stream.js";
import { admitCall, type CallGuard, type ServerDispatcher } from "../call-context.js";
import { CallGate, tooManyCalls } from "../call-gate.js";
import { GrantCounter, MessageQueue, SendCredit } from "../flow.js";
import { IdTable } from "../id-table.js";
import { SlotSet } from "../slot-set.js";
import type { FramedCodec } from "./codecs.js";
import { dataCost, Flag, FrameType } from "./constants.js";
import { writeErrorFrame } from "./error-frame.js";
import {
  decodeMessage,
  type EncodedMessage,
  encodeMessage,
  encodeMetadata,
  messagePieces,
  PayloadReader,
} from "./payload.js";
import { pumpReplyStream, type ReplyStreamSession } from "./reply-stream.js";
import { type Binding, kindOf, MethodBindings, readCallOptions } from "./request-header.js";
import { expire, ServerCall } from "./server-call.js";
import { FramedSession, protocolError, type SessionLimits, type SessionTimers } from "./session.js";

/** Hooks a server gives each session. */
export interface ServerSessionHooks {
  /** The client's preface arrived: the handshake is over. */
  onPreface?: () => void;
  /** The session is closed; every call in it has ended. */
  onClose?: () => void;
}

/**
 * The server side of one farcall connection: reads calls, runs them through the dispatcher with
 * the per-connection concurrency limit, writes replies, and drains on `goAway`.
 *
 * Concurrency: at most `maxConcurrentCalls` handlers run; further calls wait in a FIFO queue;
 * beyond `maxInflight` (running + queued) a call is refused with `resource_exhausted`, marked not
 * processed, as on every protocol ({@link tooManyCalls}).
 * The {@link CallGate} starts no call the client gave up on: one whose CANCEL is in the same read
 * as its REQUEST, or whose deadline passed before its turn came.
 */
export class ServerSession extends FramedSession implements ReplyStreamSession<ServerCall> {
  private codec: Codec | undefined;
  private calls = new IdTable<ServerCall>();
  /** Oneway calls still running; kept apart because their ids may be reused by the client at once. */
  private oneways = new SlotSet<ServerCall>();
  private readPaused = false;
  private readonly bindings: MethodBindings;
  private readonly gate: CallGate<ServerCall>;
  private draining = false;
  /** The chunk `onData` is parsing, while it does. */
  private chunk: Uint8Array | undefined;

  constructor(
    stream: ByteStream,
    limits: SessionLimits,
    private readonly codecs: readonly FramedCodec[],
    private readonly dispatcher: ServerDispatcher,
    private readonly hooks: ServerSessionHooks = {},
    timers?: SessionTimers,
  ) {
    super(stream, limits, timers);
    this.bindings = new MethodBindings((path) => dispatcher.resolve(path));
    this.gate = new CallGate(
      limits.maxConcurrentCalls,
      (call) => this.start(call),
      (call) => this.failCall(call, deadlineExceeded()),
    );
  }

  /** Calls open on this connection. */
  get inflight(): number {
    return this.calls.size + this.oneways.size;
  }

  /** Stops reading while replies back up, so a client that does not read cannot grow our buffers. */
  override onData(chunk: Uint8Array): void {
    this.gate.beginRead();
    this.chunk = chunk;
    try {
      super.onData(chunk);
    } finally {
      this.chunk = undefined;
      this.gate.endRead();
    }
    if (!this.readPaused && !this.closed && this.stream.needDrain) {
      this.readPaused = true;
      this.stream.pause();
      this.stream.onDrain(() => {
        this.readPaused = false;
        this.stream.resume();
      });
    }
  }

  onPreface(preface: Uint8Array): void {
    this.hooks.onPreface?.();
    const codecId = preface[5] as number;
    const framed = this.codecs.find((c) => c.id === codecId);
    // Answer with our own preface first, so a client of another version can read ours and say why.
    this.sendPreface(framed?.id ?? 0);
    if (this.checkPreface(preface, "client") < 0) return;
    if (framed === undefined) {
      const known = this.codecs.map((c) => `${c.codec.name} (${c.id})`).join(", ");
      this.fail(new RpcError(Code.Unimplemented, `codec ${codecId} is not supported; this server has ${known}`));
      return;
    }
    this.codec = framed.codec;
    this.sendSettings();
  }

  /**
   * Starts a graceful close: GOAWAY now, refuse new calls (not processed, safe to retry), and end
   * the connection once the calls in flight are done.
   */
  goAway(reason = "server is shutting down"): void {
    if (this.closed || this.draining) return;
    this.draining = true;
    this.sendGoAway(Code.Unavailable, reason);
    this.endIfIdle();
  }

  /** Ends every open call with `unavailable` and closes the connection now. */
  forceClose(): void {
    if (this.closed) return;
    const error = new RpcError(Code.Unavailable, "server closed before the call finished");
    for (const call of this.calls.values().concat(this.oneways.values())) {
      this.sendError(call, error);
      this.finish(call, error);
    }
    this.writer.flush();
    this.closed = true;
    this.stopTimers();
    this.writer.close();
    this.stream.destroy();
    this.terminate(error);
  }

  protected onIdle(idleMs: number): void {
    this.goAway(`connection idle for ${idleMs} ms`);
  }

  protected onGoAway(error: RpcError): void {
    // GOAWAY 0 or 14: the client will send no more calls; the ones in flight still get their
    // replies. Any other code is a connection error on its side (docs/protocol.md §4.10): its
    // calls here end now, and nothing it sends after is served.
    if (error.code !== Code.Unavailable) this.fail(error);
  }

  protected terminate(error: RpcError): void {
    for (const call of this.calls.values()) this.finish(call, error);
    // A oneway handler owes the client nothing, so a closed connection does not abort it; the
    // session reports itself closed once the last one returns (forceClose aborts them first).
    if (this.oneways.size === 0) this.hooks.onClose?.();
  }

  protected onCallFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (type === FrameType.Request) return this.onRequest(flags, id, payload);
    const call = this.calls.get(id);
    if (call === undefined) {
      if (type === FrameType.Response || type === FrameType.Error)
        this.fail(protocolError("client sent a server frame"));
      return; // late frames for calls that have ended
    }
    switch (type) {
      case FrameType.Cancel:
        this.finish(
          call,
          payload[0] === Code.DeadlineExceeded
            ? deadlineExceeded()
            : new RpcError(Code.Canceled, "call canceled by client"),
        );
        return;
      case FrameType.Data: {
        const input = call.input;
        if (input === undefined) return this.failCall(call, protocolError("DATA on a call without a request stream"));
        const cost = dataCost(payload.length);
        if (input.buffered + cost > this.limits.streamWindowBytes + dataCost(this.limits.maxMessageBytes)) {
          return this.failCall(
            call,
            new RpcError(Code.ResourceExhausted, "client overran the stream flow-control window"),
          );
        }
        try {
          input.push(this.decodeMessage(payload, call.method.wire?.input), cost);
        } catch (err) {
          this.failCall(call, RpcError.from(err, Code.InvalidArgument));
        }
        return;
      }
      case FrameType.End:
        if (call.input === undefined)
          return this.failCall(call, protocolError("END on a call without a request stream"));
        call.input.end();
        return;
      case FrameType.Window: {
        if (payload.length !== 4) return this.fail(protocolError("WINDOW must carry 4 bytes"));
        call.credit?.grant(new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0));
        return;
      }
      default:
        this.fail(protocolError("client sent a server frame"));
    }
  }

  private onRequest(flags: number, id: number, payload: Uint8Array): void {
    if (this.codec === undefined) return;
    if (this.calls.has(id)) return this.fail(protocolError(`REQUEST reuses call id ${id}, which is still open`));
    const oneway = (flags & Flag.Oneway) !== 0;
    const r = new PayloadReader(payload);
    let binding: Binding;
    try {
      binding = this.bindings.read(r, flags);
    } catch (err) {
      return this.fail(RpcError.from(err, Code.Internal));
    }
    if (this.draining) {
      return this.refuse(oneway, id, new RpcError(Code.Unavailable, "server is shutting down", { safeToRetry: true }));
    }
    const method = binding.method;
    if (method === undefined)
      return this.refuse(oneway, id, new RpcError(Code.Unimplemented, `unknown method ${binding.path}`));
    const kind = kindOf(flags);
    if (kind !== method.kind) {
      return this.refuse(
        oneway,
        id,
        new RpcError(Code.Unimplemented, `${method.path} is a ${method.kind} method, called as ${kind}`),
      );
    }
    if (this.inflight >= this.limits.maxInflight) return this.refuse(oneway, id, tooManyCalls(this.limits.maxInflight));
    let timeoutMs: number | undefined;
    let metadata: Metadata;
    let input: unknown;
    let message: Uint8Array = new Uint8Array(0);
    const guard = this.dispatcher.guard;
    try {
      ({ timeoutMs, metadata } = readCallOptions(r, flags, this.limits.maxMetadataBytes));
      message = r.rest();
      if ((flags & Flag.Stream) !== 0) {
        if (message.length !== 0) throw protocolError("streaming REQUEST carries a message");
      } else if (guard === undefined) input = this.decodeMessage(message, method.wire?.input);
    } catch (err) {
      return this.refuse(oneway, id, RpcError.from(err, Code.InvalidArgument));
    }
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const call = new ServerCall(this, id, method, metadata, this.stream.peer, deadline);
    call.payload = input;
    if (oneway) this.oneways.add(call);
    if (timeoutMs !== undefined) call.timer = setTimeout(expire, timeoutMs, call);
    if ((flags & Flag.Stream) !== 0) {
      const grants = new GrantCounter(this.limits.streamWindowBytes);
      call.input = new MessageQueue(
        (bytes) => {
          const n = grants.take(bytes);
          if (n > 0 && !call.done) this.writer.frameU32(FrameType.Window, id, n);
        },
        () => {
          // The handler stopped reading early; further DATA is dropped.
        },
      );
    }
    if (kind === "server_stream" || kind === "bidi_stream") call.credit = new SendCredit(this.peer.streamWindowBytes);
    if (guard !== undefined) {
      if (!oneway) this.calls.set(id, call);
      return this.guarded(
        guard,
        call,
        message.slice(),
        timeoutMs,
        (flags & Flag.Stream) !== 0,
        this.endsChunk(payload),
      );
    }
    this.gate.admit(call, this.endsChunk(payload));
    // A call answered synchronously (started at once: alone or last in its read) is over before
    // any other frame can name it: it never enters the table, which spares an insert and a delete
    // on the commonest path. A call held to the end of its read is in it, for a CANCEL to find.
    if (!oneway && !call.done) this.calls.set(id, call);
  }

  /**
   * A call on a server with a guard: authenticated and authorized on its header and body bytes,
   * then decoded and started; a refusal ends it unrun. It is in the call table meanwhile, so a
   * CANCEL or its deadline ends it while it waits.
   */
  private guarded(
    guard: CallGuard,
    call: ServerCall,
    body: Uint8Array,
    timeoutMs: number | undefined,
    streaming: boolean,
    lastInRead: boolean,
  ): void {
    const incoming = { method: call.method, metadata: call.metadata, peer: call.peer, timeoutMs, body };
    call.incoming = incoming;
    const refused = (err: unknown) => {
      if (!call.done) this.failCall(call, RpcError.from(err, Code.Unauthenticated));
    };
    const admitted = (principal: unknown, lastInRead: boolean) => {
      if (call.done || this.closed) return;
      call.principal = principal;
      if (!streaming) {
        try {
          call.payload = this.decodeMessage(body, call.method.wire?.input);
        } catch (err) {
          return this.failCall(call, RpcError.from(err, Code.InvalidArgument));
        }
      }
      this.gate.admit(call, lastInRead);
    };
    let principal: unknown;
    try {
      principal = admitCall(guard, incoming);
    } catch (err) {
      return refused(err);
    }
    if (principal instanceof Promise) principal.then((p) => admitted(p, false), refused);
    else admitted(principal, lastInRead);
  }

  /** Answers a REQUEST that will not run with ERROR (nothing for a oneway call). */
  private refuse(oneway: boolean, id: number, error: RpcError): void {
    if (!oneway) this.writeError(id, error);
  }

  /**
   * True when `payload` ends the chunk being read: no CANCEL can follow it in this read, so its
   * call need not wait for the end of the read. A frame assembled from several chunks is not a view
   * of this one, and waits.
   */
  private endsChunk(payload: Uint8Array): boolean {
    const chunk = this.chunk;
    return (
      chunk !== undefined &&
      payload.buffer === chunk.buffer &&
      payload.byteOffset + payload.length === chunk.byteOffset + chunk.length
    );
  }

  /** Runs a call's handler (the gate calls it). A plain return value is answered without a promise. */
  private start(call: ServerCall): void {
    let result: unknown;
    try {
      result = this.dispatcher.dispatch(call.method, call.input ?? call.payload, call);
    } catch (err) {
      this.gate.handlerDone();
      return this.failCall(call, this.dispatcher.toWire(err, call.method));
    }
    if (!(result instanceof Promise)) {
      this.gate.handlerDone();
      return this.reply(call, result);
    }
    result.then(
      (output) => {
        this.gate.handlerDone();
        this.reply(call, output);
      },
      (err: unknown) => {
        this.gate.handlerDone();
        if (!call.done) this.failCall(call, this.dispatcher.toWire(err, call.method));
      },
    );
  }

  /** Called when the server's deadline for a call passes. */
  expire(call: ServerCall): void {
    call.timer = undefined;
    this.failCall(call, deadlineExceeded());
  }

  private reply(call: ServerCall, output: unknown): void {
    if (call.done) return;
    const kind = call.method.kind;
    if (kind === "oneway") return this.finish(call);
    if (kind === "server_stream" || kind === "bidi_stream") {
      void pumpReplyStream(this, call, output);
      return;
    }
    let message: EncodedMessage | undefined;
    let md: Uint8Array | undefined;
    try {
      message = this.encodeMessage(output, call.method.wire?.output);
      const sign = this.dispatcher.guard?.signReply;
      if (sign !== undefined && call.incoming !== undefined) {
        const body = messagePieces(message);
        const entries = sign(call.incoming, call.responseMetadataIfSet, body);
        if (entries !== undefined) Object.assign(call.responseMetadata, entries);
      }
      md = this.encodeResponseMetadata(call);
    } catch (err) {
      return this.failCall(call, RpcError.from(err, Code.Internal));
    }
    this.writeWithBlock(FrameType.Response, md === undefined ? 0 : Flag.Metadata, call.id, md, message);
    this.finish(call);
  }

  private encodeResponseMetadata(call: ServerCall): Uint8Array | undefined {
    const md = call.responseMetadataIfSet;
    if (md === undefined || isEmptyMetadata(md)) return undefined;
    return encodeMetadata(md, this.peer.maxMetadataBytes);
  }

  /** @internal For the reply stream: writes END with the handler's trailers and ends the call. */
  endStream(call: ServerCall): void {
    const md = this.encodeResponseMetadata(call);
    this.writeWithBlock(FrameType.End, md === undefined ? 0 : Flag.Metadata, call.id, md);
    this.finish(call);
  }

  /** @internal For the reply stream: ends the call with what the handler's stream threw. */
  failStream(call: ServerCall, err: unknown): void {
    this.failCall(call, this.dispatcher.toWire(err, call.method));
  }

  /** @internal Queues a DATA frame carrying `value`; returns its payload size. */
  writeData(call: ServerCall, value: unknown): number {
    const message = this.encodeMessage(value, call.method.wire?.output);
    this.writer.frame(FrameType.Data, 0, call.id, message?.body, message?.head);
    return message?.size ?? 0;
  }

  private encodeMessage(value: unknown, type: unknown): EncodedMessage | undefined {
    return encodeMessage(this.codec as Codec, value, this.peer.maxMessageBytes, "reply", "client", type);
  }

  private decodeMessage(bytes: Uint8Array, type: unknown): unknown {
    return decodeMessage(this.codec as Codec, bytes, this.limits, type);
  }

  /** Fails one call: ERROR to the client, abort for the handler. */
  private failCall(call: ServerCall, error: RpcError): void {
    this.sendError(call, error);
    this.finish(call, error);
  }

  private sendError(call: ServerCall, error: RpcError): void {
    if (call.done || call.method.kind === "oneway") return;
    const md = call.responseMetadataIfSet;
    this.writeError(call.id, error, md);
  }

  private writeError(id: number, error: RpcError, extra?: Metadata): void {
    if (!this.closed)
      writeErrorFrame(
        this.writer,
        this.codec as Codec,
        this.peer.maxMetadataBytes,
        this.peer.maxMessageBytes,
        id,
        error,
        extra,
      );
  }

  /** Ends a call here: no more frames for it; `abortWith` aborts its handler's signal. */
  private finish(call: ServerCall, abortWith?: RpcError): void {
    if (call.done) return;
    call.done = true;
    if (call.method.kind === "oneway") {
      this.oneways.delete(call);
      if (this.closed && this.oneways.size === 0) this.hooks.onClose?.();
    } else this.calls.delete(call.id);
    if (call.timer !== undefined) clearTimeout(call.timer);
    call.credit?.release();
    if (abortWith !== undefined) {
      call.abort(abortWith);
      call.input?.fail(abortWith);
    }
    this.endIfIdle();
  }

  private endIfIdle(): void {
    if (this.draining && this.inflight === 0 && !this.closed) {
      this.writer.flush();
      this.stream.end();
    }
  }
}
