import { fromJsonText, toJsonText, utf8Text } from "../../codec/json.js";
import { Code } from "../../core/code.js";
import { CallWatch, refusalOf } from "../../core/deadline.js";
import type { RpcResponse } from "../../core/interceptor.js";
import type { Limits } from "../../core/limits.js";
import { createMetadata, isEmptyMetadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import type { MethodDescriptor } from "../../core/service.js";
import type { SessionCallOptions } from "../farcall/client-session.js";
import type { CallSigner } from "../hmac.js";
import { IdTable } from "../id-table.js";
import { type Envelope, isEnvelope, openEnvelope, sealEnvelope } from "./envelope.js";
import { fromJsonRpcError } from "./errors.js";
import { camelKeys, goMethodName } from "./names.js";

/** Where a JSON-RPC client session sends its texts: a byte stream or a WebSocket. */
export interface TextPipe {
  send(text: string): void;
  /** Closes once what was sent is flushed. */
  end(): void;
}

const encoder = new TextEncoder();

/** Which JSON-RPC a client speaks. */
export type JsonRpcDialect = "2.0" | "go";

/** Settings of a JSON-RPC client session. */
export interface JsonRpcClientOptions {
  readonly dialect: JsonRpcDialect;
  readonly limits: Limits;
  /** The name sent for a method; default `Service.method` (Go: `Service.Method`). */
  readonly methodName?: ((method: MethodDescriptor) => string) | undefined;
  /** Called once when the connection is gone. */
  readonly onClose?: (() => void) | undefined;
  /**
   * JSON-RPC 2.0 over a stream: calls with metadata go in an envelope (docs/protocols.md),
   * signed by this when set. Without it, and in Go's dialect, metadata is not sent.
   */
  readonly envelopes?: { readonly signer: CallSigner | undefined } | undefined;
}

/** One call waiting for its answer. */
class Pending extends CallWatch {
  constructor(
    readonly session: JsonRpcClientSession,
    readonly id: number,
    readonly resolve: (r: RpcResponse) => void,
    readonly reject: (e: RpcError) => void,
    /** The HMAC entries the call was signed with, to check its reply. */
    readonly signature: Record<string, string> | undefined,
  ) {
    super();
  }

  giveUp(reason: RpcError): void {
    this.session.settle(this.id, reason);
  }
}

/**
 * farcall's input as JSON-RPC 2.0 params (docs/protocols.md, "Params"): nothing as none, a plain
 * object by name, an array of two or more elements by position as the params list itself (so a
 * peer's method taking positional params gets each element as one), anything else as `[input]`,
 * arrays of zero or one element included. The server's rule (`[]` none, `[x]` x, longer lists the
 * list) then gives back the same input for each. Go's dialect always sends one element.
 */
function paramsOf(input: unknown, dialect: JsonRpcDialect): unknown {
  if (dialect === "go") return [input === undefined ? null : input];
  if (input === undefined) return undefined;
  if (Array.isArray(input)) return input.length >= 2 ? input : [input];
  return typeof input === "object" && input !== null && !(input instanceof Uint8Array) ? input : [input];
}

/** The request text for a call (or a notification when `id` is undefined). */
export function requestText(dialect: JsonRpcDialect, name: string, input: unknown, id: number | undefined): string {
  const params = paramsOf(input, dialect);
  const p = params === undefined ? "" : `,"params":${toJsonText(params)}`;
  const head = dialect === "go" ? "{" : '{"jsonrpc":"2.0",';
  return `${head}"method":${JSON.stringify(name)}${p}${id === undefined ? "" : `,"id":${id}`}}`;
}

/** The response or error carried by a reply object. */
export function replyOutcome(reply: Record<string, unknown>, dialect: JsonRpcDialect): RpcResponse | RpcError {
  const error = reply.error;
  if (error !== undefined && error !== null) return fromJsonRpcError(error);
  const result = dialect === "go" ? camelKeys(reply.result) : reply.result;
  return { output: result, metadata: createMetadata() };
}

/**
 * The client side of JSON-RPC 2.0 or Go's dialect on one connection: numbered requests, answers
 * matched by id in any order, deadlines and cancellation kept on this side (the protocols cannot
 * carry them). Unary and oneway calls only; oneway is a notification in 2.0.
 */
export class JsonRpcClientSession {
  private readonly pending = new IdTable<Pending>();
  private draining = false;
  closed = false;
  /** Set at the first reply: the server speaks JSON-RPC. */
  established = false;

  constructor(
    private readonly pipe: TextPipe,
    private readonly options: JsonRpcClientOptions,
  ) {}

  get usable(): boolean {
    return !this.closed && !this.draining;
  }

  call(method: MethodDescriptor, input: unknown, options: SessionCallOptions): Promise<RpcResponse> {
    if (this.closed) return Promise.reject(new RpcError(Code.Unavailable, "connection closed", { safeToRetry: true }));
    if (method.kind !== "unary" && method.kind !== "oneway") {
      return Promise.reject(
        new RpcError(Code.Unimplemented, `${method.path}: JSON-RPC carries unary and oneway calls, not ${method.kind}`),
      );
    }
    const refusal = refusalOf(options);
    if (refusal !== undefined) return Promise.reject(refusal);
    const dialect = this.options.dialect;
    const name =
      this.options.methodName?.(method) ??
      (dialect === "go" ? goMethodName(method) : `${method.service}.${method.name}`);
    let text: string;
    const notification = method.kind === "oneway" && dialect === "2.0";
    const id = notification ? undefined : this.pending.nextFreeId();
    let signature: Record<string, string> | undefined;
    try {
      text = requestText(dialect, name, input, id);
      const envelopes = this.options.envelopes;
      const metadata = options.metadata;
      const hasMetadata = metadata !== undefined && !isEmptyMetadata(metadata);
      if (envelopes !== undefined && dialect === "2.0" && (hasMetadata || envelopes.signer !== undefined)) {
        const body = [encoder.encode(text)];
        signature = envelopes.signer?.sign({ method: "", timeoutMs: undefined, metadata, body });
        text = sealEnvelope(Object.assign(createMetadata(), metadata, signature), text);
      }
    } catch (err) {
      return Promise.reject(RpcError.from(err, Code.Internal));
    }
    if (id === undefined) {
      this.pipe.send(text);
      return Promise.resolve({ output: undefined, metadata: createMetadata() });
    }
    return new Promise((resolve, reject) => {
      const p = new Pending(this, id, resolve, reject, signature);
      this.pending.set(id, p);
      this.pipe.send(text);
      p.start(options);
    });
  }

  ping(): Promise<number> {
    return Promise.reject(new RpcError(Code.Unimplemented, "JSON-RPC has no ping"));
  }

  /** A complete JSON text from the server. */
  onText(bytes: Uint8Array): void {
    let reply: unknown;
    let envelope: Envelope | undefined;
    try {
      if (isEnvelope(bytes)) envelope = openEnvelope(bytes, this.options.limits);
      reply = fromJsonText(utf8Text(envelope?.message ?? bytes), this.options.limits);
    } catch (err) {
      return this.fail(RpcError.from(err, Code.Internal));
    }
    if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
      return this.fail(new RpcError(Code.Internal, "server sent something other than a response object"));
    }
    const r = reply as Record<string, unknown>;
    if (typeof r.id !== "number") {
      // An error without an id is the server's complaint about the connection as a whole.
      if (r.error !== undefined && r.error !== null) return this.fail(fromJsonRpcError(r.error));
      return;
    }
    this.established = true;
    const signature = this.pending.get(r.id)?.signature;
    if (signature !== undefined) {
      try {
        if (envelope === undefined) throw new RpcError(Code.Unauthenticated, "the reply is not signed");
        this.options.envelopes?.signer?.verifyReply(signature, envelope.metadata, [envelope.message]);
      } catch (err) {
        return this.settle(r.id, RpcError.from(err, Code.Unauthenticated));
      }
    }
    this.settle(r.id, replyOutcome(r, this.options.dialect));
  }

  /** The connection is gone: every waiting call fails (safe to retry only if nothing was sent is unknown). */
  onClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const err = new RpcError(Code.Unavailable, error ? `connection lost: ${error.message}` : "connection closed");
    for (const id of this.pending.keys()) this.settle(id, err);
    this.options.onClose?.();
  }

  shutdown(): void {
    this.draining = true;
    if (this.pending.size === 0) this.pipe.end();
  }

  /** Fails every call and ends the connection (a protocol error). */
  private fail(err: RpcError): void {
    for (const id of this.pending.keys()) this.settle(id, err);
    this.pipe.end();
  }

  /** Ends call `id` with its outcome, if it is still waiting. */
  settle(id: number, outcome: RpcResponse | RpcError): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    p.stop();
    if (outcome instanceof RpcError) p.reject(outcome);
    else p.resolve(outcome);
    if (this.draining && this.pending.size === 0) this.pipe.end();
  }
}
