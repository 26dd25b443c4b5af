import type { Codec } from "../../codec/codec.js";
import { Code } from "../../core/code.js";
import { CallWatch, refusalOf } from "../../core/deadline.js";
import type { RpcResponse } from "../../core/interceptor.js";
import { createMetadata, isEmptyMetadata, type Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { MethodDescriptor } from "../../core/service.js";
import type { ByteStream } from "../byte-stream.js";
import { GrantCounter, MessageQueue, SendCredit } from "../flow.js";
import type { CallSigner } from "../hmac.js";
import { IdTable } from "../id-table.js";
import type { ChannelHooks, SessionCallOptions } from "../protocol.js";
import { type FramedCodec, framedCodec } from "./codecs.js";
import { dataCost, Flag, FrameType, maxMethodIds } from "./constants.js";
import { LentBuffers } from "./lent-buffers.js";
import {
  decodeMessage,
  decodeMetadata,
  type EncodedMessage,
  encodeMessage,
  encodeMetadata,
  encodeText,
  messagePieces,
  PayloadReader,
  parseError,
} from "./payload.js";
import { FramedSession, protocolError, type SessionLimits, type SessionTimers } from "./session.js";

export type { SessionCallOptions } from "../protocol.js";

/** Hooks a channel gives its session. */
export interface ClientSessionHooks {
  /** The server sent GOAWAY: send new calls elsewhere. */
  onGoAway?: () => void;
  /** The connection is gone. */
  onClose?: (error: RpcError) => void;
  /** False sends the method name on every REQUEST instead of binding ids (for benchmarks). */
  methodIds?: boolean;
  /** See {@link ChannelHooks.retry}; without it, refused calls fail with their error. */
  retry?: ChannelHooks["retry"];
}

const deadlineByte = Uint8Array.of(Code.DeadlineExceeded);
const noMetadata: Metadata = Object.freeze(createMetadata()) as Metadata;

/**
 * One outgoing call. Exactly one of `finish` or `cancel` ends it; both stop its watch (deadline
 * and abort) and release its send credit.
 */
class ClientCall extends CallWatch {
  done = false;
  resolve: ((r: RpcResponse) => void) | undefined;
  reject: ((e: RpcError) => void) | undefined;
  output: MessageQueue<unknown> | undefined;
  trailers: Metadata | undefined;
  credit: SendCredit | undefined;
  /** The HMAC entries the call was signed with, to check its reply against. */
  signature: Record<string, string> | undefined;
  /** Set for a response stream with `reuseBuffers`. */
  lent: LentBuffers | undefined;

  constructor(
    readonly session: ClientSession,
    readonly id: number,
    readonly method: MethodDescriptor,
    /** Kept for a unary call, which may be sent again if the server refuses it unprocessed. */
    readonly input: unknown,
    readonly options: SessionCallOptions | undefined,
  ) {
    super();
  }

  giveUp(reason: RpcError): void {
    this.session.cancel(this, reason);
  }

  cleanup(): void {
    this.done = true;
    this.stop();
    this.credit?.release();
  }
}

/**
 * The client side of one farcall connection (docs/protocol.md): sends calls, matches replies by
 * call id, runs stream flow control, and fails what is open when the connection goes.
 * Owned by a channel; it never reconnects by itself.
 */
export class ClientSession extends FramedSession {
  private calls = new IdTable<ClientCall>();
  private methodIds = new Map<string, number>();
  private methodNames = new Map<string, Uint8Array>();
  private nextMethodId = 1;
  /** Set when the server sent GOAWAY: in-flight calls finish, new ones go elsewhere. */
  draining = false;
  /** Set when the server's preface arrived and matched. */
  ready = false;

  /** The codec this connection asks for, with its farcall id. */
  readonly framed: FramedCodec;
  readonly codec: Codec;

  /** `codec`: a built-in codec (object or name) or `{ id, codec }`; see {@link framedCodec}. */
  constructor(
    stream: ByteStream,
    codec: Codec | FramedCodec | string,
    limits: SessionLimits,
    private readonly hooks: ClientSessionHooks = {},
    timers?: SessionTimers,
    /** Signs each call (HMAC, docs/security.md §3) once its body is encoded. */
    private readonly signer?: CallSigner,
  ) {
    super(stream, limits, timers);
    this.framed = framedCodec(codec);
    this.codec = this.framed.codec;
    this.sendPreface(this.framed.id);
    this.sendSettings();
  }

  /** Calls in flight. */
  get inflight(): number {
    return this.calls.size;
  }

  /** True once the server's preface arrived and matched. */
  get established(): boolean {
    return this.ready;
  }

  /** True when new calls may use this session. */
  get usable(): boolean {
    return !this.closed && !this.draining;
  }

  onPreface(preface: Uint8Array): void {
    const codecId = this.checkPreface(preface, "server");
    if (codecId < 0) return;
    // Codec 0 is a refusal; the GOAWAY that follows says why, and fails the calls with that reason.
    if (codecId === 0) return;
    if (codecId !== this.framed.id) {
      this.fail(protocolError(`server answered with codec ${codecId}, asked for ${this.framed.id}`));
      return;
    }
    this.ready = true;
  }

  /**
   * Starts a call. Unary and client-streaming calls resolve with the reply; server-streaming and
   * bidi calls resolve at once with `output` an async iterator (errors arrive through it) and
   * `metadata` filled in when the stream ends. Oneway calls resolve once queued for writing.
   */
  call(method: MethodDescriptor, input: unknown, options: SessionCallOptions): Promise<RpcResponse> {
    if (!this.usable) {
      return Promise.reject(
        new RpcError(Code.Unavailable, "connection is closing; the call was not sent", { safeToRetry: true }),
      );
    }
    const refusal = refusalOf(options);
    if (refusal !== undefined) return Promise.reject(refusal);
    // The server said in SETTINGS how many calls it keeps open per connection: beyond that it would
    // refuse the call anyway, so it is refused here without a round trip (not sent: safe to retry).
    if (this.calls.size >= this.peer.maxInflight && method.kind !== "oneway") {
      return Promise.reject(
        new RpcError(
          Code.ResourceExhausted,
          `too many calls in flight on this connection (the server's maxInflight ${this.peer.maxInflight})`,
          { safeToRetry: true },
        ),
      );
    }
    // Never negative: a deadline that passed since refusalOf looked goes out as 0, not as "none" (2^32 - 1).
    const timeoutMs =
      options.deadline === undefined ? undefined : Math.max(0, Math.ceil(options.deadline - Date.now()));
    const kind = method.kind;
    const streamIn = kind === "client_stream" || kind === "bidi_stream";
    let message: EncodedMessage | undefined;
    let md: Uint8Array | undefined;
    let signature: Record<string, string> | undefined;
    try {
      if (!streamIn) message = this.encodeMessage(input, method.wire?.input);
      const signer = this.signer;
      if (signer !== undefined) {
        const body = messagePieces(message);
        signature = signer.sign({ method: method.path, timeoutMs, metadata: options.metadata, body });
        md = encodeMetadata(Object.assign(createMetadata(), options.metadata, signature), this.peer.maxMetadataBytes);
      } else if (options.metadata !== undefined && !isEmptyMetadata(options.metadata)) {
        md = encodeMetadata(options.metadata, this.peer.maxMetadataBytes);
      }
    } catch (err) {
      return Promise.reject(RpcError.from(err, Code.Internal));
    }
    const id = this.calls.nextFreeId();
    this.writeRequest(id, method.path, kind, streamIn, timeoutMs, md, message);
    if (kind === "oneway") return Promise.resolve({ output: undefined, metadata: noMetadata });

    const call = new ClientCall(this, id, method, kind === "unary" ? input : undefined, options);
    call.signature = signature;
    this.calls.set(id, call);
    if (streamIn) call.credit = new SendCredit(this.peer.streamWindowBytes);
    if (kind === "unary" || kind === "client_stream") {
      const reply = new Promise<RpcResponse>((resolve, reject) => {
        call.resolve = resolve;
        call.reject = reject;
      });
      this.watch(call, input);
      return reply;
    }
    const grants = new GrantCounter(this.limits.streamWindowBytes);
    const lent = options.reuseBuffers === true ? new LentBuffers() : undefined;
    call.lent = lent;
    call.trailers = createMetadata();
    call.output = new MessageQueue(
      (bytes) => {
        lent?.taken();
        const n = grants.take(bytes);
        if (n > 0 && !call.done) this.sendWindow(id, n);
      },
      () => this.cancel(call, new RpcError(Code.Canceled, "stream closed by its consumer")),
    );
    this.watch(call, input);
    return Promise.resolve({ output: call.output, metadata: call.trailers });
  }

  /** Arms the call's deadline and abort once it can be settled, and starts its request stream. */
  private watch(call: ClientCall, input: unknown): void {
    call.start(call.options ?? {});
    if (call.credit !== undefined && !call.done) void this.pump(call, input);
  }

  /** Ends a call locally with `error` and tells the server with CANCEL. */
  cancel(call: ClientCall, error: RpcError): void {
    if (call.done) return;
    this.calls.delete(call.id);
    call.cleanup();
    // A CANCEL for a passed deadline says so (one byte, code 4), so the handler learns the real reason.
    if (!this.closed)
      this.writer.frame(FrameType.Cancel, 0, call.id, error.code === Code.DeadlineExceeded ? deadlineByte : undefined);
    this.settle(call, error);
  }

  /** Sends GOAWAY and closes once the calls in flight are done. */
  shutdown(): void {
    if (this.closed) return;
    if (!this.draining) {
      this.draining = true;
      this.sendGoAway(Code.Unavailable, "client closing");
    }
    if (this.calls.size === 0) this.endStream();
  }

  protected onIdle(): void {
    // A client keeps an unused connection: its idle timeout is off unless asked for.
    this.shutdown();
  }

  protected onGoAway(error: RpcError): void {
    this.draining = true;
    this.hooks.onGoAway?.();
    if (error.code !== Code.Unavailable) this.terminate(error);
    if (this.calls.size === 0) this.endStream();
  }

  protected terminate(error: RpcError): void {
    const calls = this.calls.values();
    this.calls.clear();
    for (const call of calls) {
      call.cleanup();
      this.settle(call, error);
    }
    if (this.closed) this.hooks.onClose?.(error);
  }

  bodyBuffer(type: number, id: number, length: number): Uint8Array | undefined {
    return type === FrameType.Data ? this.calls.get(id)?.lent?.take(length) : undefined;
  }

  protected onCallFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    const call = this.calls.get(id);
    if (call === undefined) {
      // Late frames for calls that ended here (canceled, timed out) are expected; REQUEST is not.
      if (type === FrameType.Request || type === FrameType.Cancel)
        this.fail(protocolError("server sent a client frame"));
      return;
    }
    try {
      switch (type) {
        case FrameType.Response: {
          if (call.resolve === undefined) throw protocolError("RESPONSE on a streaming call");
          let md = noMetadata;
          let message = payload;
          if ((flags & Flag.Metadata) !== 0) {
            const r = new PayloadReader(payload);
            md = decodeMetadata(r.block(this.limits.maxMetadataBytes, "metadata"));
            message = r.rest();
          }
          if (call.signature !== undefined) this.signer?.verifyReply(call.signature, md, [message]);
          const output = this.decodeMessage(message, call.method.wire?.output);
          this.finish(call);
          call.resolve({ output, metadata: md });
          return;
        }
        case FrameType.Error: {
          const error = parseError(flags, payload, this.limits.maxMetadataBytes, (b) =>
            this.decodeMessage(b, undefined),
          );
          this.finish(call);
          // Only a unary call keeps its input (a stream's iterable may be consumed), so only it can go again.
          const again =
            error.safeToRetry && call.method.kind === "unary"
              ? this.hooks.retry?.(call.method, call.input, call.options ?? {}, error, this.draining)
              : undefined;
          if (again !== undefined) again.then(call.resolve, call.reject);
          else this.settle(call, error);
          return;
        }
        case FrameType.Data: {
          const output = call.output;
          if (output === undefined) throw protocolError("DATA on a call without a response stream");
          const cost = dataCost(payload.length);
          if (output.buffered + cost > this.limits.streamWindowBytes + dataCost(this.limits.maxMessageBytes)) {
            throw new RpcError(Code.ResourceExhausted, "server overran the stream flow-control window");
          }
          const value = this.decodeMessage(payload, call.method.wire?.output);
          call.lent?.arrived(payload);
          output.push(value, cost);
          return;
        }
        case FrameType.End: {
          if (call.output === undefined) throw protocolError("END on a call without a response stream");
          if ((flags & Flag.Metadata) !== 0) {
            const md = decodeMetadata(new PayloadReader(payload).block(this.limits.maxMetadataBytes, "metadata"));
            Object.assign(call.trailers as Metadata, md);
          }
          this.finish(call);
          call.output.end();
          return;
        }
        case FrameType.Window: {
          if (payload.length !== 4) return this.fail(protocolError("WINDOW must carry 4 bytes"));
          const n = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
          call.credit?.grant(n);
          return;
        }
        default:
          throw protocolError("server sent a client frame");
      }
    } catch (err) {
      const error = RpcError.from(err, Code.Internal);
      // A malformed reply fails its call only; the connection carries on. A reply whose signature
      // does not hold is `unauthenticated`: the server is not who the key says.
      this.cancel(
        call,
        error.code === Code.Unauthenticated
          ? error
          : new RpcError(Code.Internal, `bad reply from server: ${error.rawMessage}`, { cause: error }),
      );
    }
  }

  private finish(call: ClientCall): void {
    this.calls.delete(call.id);
    call.cleanup();
    if (this.draining && this.calls.size === 0) this.endStream();
  }

  private settle(call: ClientCall, error: RpcError): void {
    if (call.reject !== undefined) call.reject(error);
    else call.output?.fail(error);
  }

  private endStream(): void {
    this.writer.flush();
    this.stream.end();
  }

  private encodeMessage(value: unknown, type: unknown): EncodedMessage | undefined {
    return encodeMessage(this.codec, value, this.peer.maxMessageBytes, "message", "server", type);
  }

  private decodeMessage(bytes: Uint8Array, type: unknown): unknown {
    return decodeMessage(this.codec, bytes, this.limits, type);
  }

  private writeRequest(
    id: number,
    path: string,
    kind: MethodDescriptor["kind"],
    streamIn: boolean,
    timeoutMs: number | undefined,
    md: Uint8Array | undefined,
    message: EncodedMessage | undefined,
  ): void {
    let methodId = this.methodIds.get(path) ?? 0;
    let name: Uint8Array | undefined;
    if (methodId === 0) {
      name = this.methodNames.get(path);
      if (name === undefined) {
        name = encodeText(path);
        this.methodNames.set(path, name);
      }
      if (this.nextMethodId <= maxMethodIds && this.hooks.methodIds !== false) {
        methodId = this.nextMethodId++;
        this.methodIds.set(path, methodId);
      }
    }
    let flags = 0;
    let prefix = 2;
    if (name !== undefined) {
      flags |= Flag.Name;
      prefix += 2 + name.length;
    }
    if (timeoutMs !== undefined) {
      flags |= Flag.Deadline;
      prefix += 4;
    }
    if (md !== undefined) {
      flags |= Flag.Metadata;
      prefix += 2 + md.length;
    }
    if (kind === "oneway") flags |= Flag.Oneway;
    if (streamIn) flags |= Flag.Stream;
    if (kind === "server_stream" || kind === "bidi_stream") flags |= Flag.ResponseStream;
    let at = this.writer.begin(FrameType.Request, flags, id, prefix, message?.body, message?.head);
    if (at < 0) return;
    const v = this.writer.view;
    v.setUint16(at, methodId);
    at += 2;
    if (name !== undefined) {
      v.setUint16(at, name.length);
      this.writer.bytes.set(name, at + 2);
      at += 2 + name.length;
    }
    if (timeoutMs !== undefined) {
      v.setUint32(at, Math.min(timeoutMs, 0xffff_ffff));
      at += 4;
    }
    if (md !== undefined) {
      v.setUint16(at, md.length);
      this.writer.bytes.set(md, at + 2);
    }
  }

  private sendWindow(id: number, n: number): void {
    this.writer.frameU32(FrameType.Window, id, n);
  }

  /** Writes the request stream as DATA frames within the server's credit, then END. */
  private async pump(call: ClientCall, input: unknown): Promise<void> {
    const credit = call.credit as SendCredit;
    try {
      if (!isIterable(input))
        throw new RpcError(Code.InvalidArgument, `${call.method.path} takes an iterable of messages`);
      await this.settingsReady();
      credit.credit = this.peer.streamWindowBytes;
      for await (const item of input) {
        if (call.done) return;
        if (!credit.available) await credit.ready();
        if (this.stream.needDrain) await new Promise<void>((r) => this.stream.onDrain(r));
        if (call.done) return;
        const message = this.encodeMessage(item, call.method.wire?.input);
        credit.spend(dataCost(message?.size ?? 0));
        this.writer.frame(FrameType.Data, 0, call.id, message?.body, message?.head);
      }
      if (!call.done) this.writer.frame(FrameType.End, 0, call.id);
    } catch (err) {
      this.cancel(call, RpcError.from(err, Code.Canceled));
    }
  }
}

function isIterable(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  return typeof value === "object" && value !== null && (Symbol.asyncIterator in value || Symbol.iterator in value);
}
