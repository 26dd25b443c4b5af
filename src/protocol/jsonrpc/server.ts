import { fromJsonText, toJsonText, utf8Text } from "../../codec/json.js";
import { Code } from "../../core/code.js";
import { deadlineExceeded } from "../../core/deadline.js";
import type { Peer } from "../../core/interceptor.js";
import type { Limits } from "../../core/limits.js";
import { createMetadata, type Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import { inputFromJson, outputToJson } from "../../core/service.js";
import type { CallGuard, ServerDispatcher } from "../call-context.js";
import { CallGate, type GatedCall, tooManyCalls } from "../call-gate.js";
import { arraySpans, rawElements, rawMember } from "../json/raw-json.js";
import { SlotSet } from "../slot-set.js";
import { UnaryCall } from "../unary-call.js";
import { type Envelope, isEnvelope, openEnvelope, sealEnvelope } from "./envelope.js";
import { type Malformation, toJsonRpcError } from "./errors.js";
import { camelKeys, findMethod } from "./names.js";

/** Settings of the JSON-RPC server side. */
export interface JsonRpcServerOptions extends JsonRpcSettings {
  readonly limits: Limits;
}

/** The JSON-RPC protocol's own settings. */
export interface JsonRpcSettings {
  /** Whether keys of Go-dialect params are put in lowerCamel (docs/protocols.md). */
  readonly goFieldNames: "lowerCamel" | "asIs";
  /** Entries in one batch; see {@link defaultMaxBatchLength}. */
  readonly maxBatchLength: number;
}

/**
 * Entries in one JSON-RPC batch: 1,000, far beyond what clients batch, and it keeps one message
 * from starting more calls than a connection's queue would hold.
 */
export const defaultMaxBatchLength = 1_000;

/** What a transport adds to each call it carries (HTTP headers). */
export interface CallExtras {
  readonly metadata?: Readonly<Metadata>;
  readonly deadline?: number | undefined;
  /** The timeout the client sent, in ms (for `authenticate`). */
  readonly timeoutMs?: number | undefined;
  /** Set once the message was authenticated (the server's guard): who sent it. */
  readonly principal?: { readonly value: unknown } | undefined;
  /** Set for the message inside an envelope: it is not one again. */
  readonly opened?: boolean | undefined;
}

/** The answer to one JSON text: its reply text, nothing (notifications only), or a promise of either. */
export type Answer = string | undefined | Promise<string | undefined>;

type Dialect = "2.0" | "go";

const encoder = new TextEncoder();

/** A call as it waits at the gate. */
interface Waiting extends GatedCall {
  go(): void;
  expire(): void;
}
const noMetadata: Readonly<Metadata> = Object.freeze(createMetadata());

const OPEN_ARRAY = 0x5b;

/** The first character of `text` that is not JSON whitespace, as a code (NaN when there is none). */
function firstNonBlank(text: string): number {
  let i = 0;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
    i++;
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

/** The reply text for a result. */
function resultText(dialect: Dialect, id: string, output: unknown): string {
  let json: string;
  try {
    json = toJsonText(output === undefined ? null : output);
  } catch (err) {
    return errorText(dialect, id, RpcError.from(err, Code.Internal));
  }
  return dialect === "go"
    ? `{"id":${id},"result":${json},"error":null}`
    : `{"jsonrpc":"2.0","id":${id},"result":${json}}`;
}

/** The reply text for an error. */
function errorText(dialect: Dialect, id: string, err: RpcError, malformation?: Malformation): string {
  if (dialect === "go") return `{"id":${id},"result":null,"error":${JSON.stringify(err.rawMessage)}}`;
  const object = toJsonRpcError(err, malformation);
  let json: string;
  try {
    json = toJsonText(object);
  } catch {
    // Details that JSON cannot carry are dropped rather than losing the error.
    json = JSON.stringify({ code: object.code, message: object.message, data: { code: object.data.code } });
  }
  return `{"jsonrpc":"2.0","id":${id},"error":${json}}`;
}

/** farcall's input for JSON-RPC params: by name the object, by position `[]` none, `[x]` x, else the array. */
function inputOf(params: unknown): unknown {
  if (!Array.isArray(params)) return params;
  if (params.length === 0) return undefined;
  return params.length === 1 ? params[0] : params;
}

/**
 * The server side of JSON-RPC 2.0 and Go's JSON-RPC 1.0 dialect for one connection (or one HTTP
 * request): takes JSON texts, runs the calls they hold through the dispatcher, and answers with
 * reply texts. Transports only move texts; nothing here knows of sockets or HTTP.
 */
export class JsonRpcResponder {
  /** Calls whose handlers have not answered yet. */
  private readonly running = new SlotSet<UnaryCall>();
  /** At most maxConcurrentCalls handlers run; the rest of `running` waits here. */
  private readonly gate: CallGate<Waiting>;
  /** The dialect of the last message understood, for errors that come before a message is. */
  dialect: Dialect = "2.0";

  constructor(
    private readonly dispatcher: ServerDispatcher,
    private readonly options: JsonRpcServerOptions,
    private readonly peer: Peer,
  ) {
    this.gate = new CallGate<Waiting>(
      options.limits.maxConcurrentCalls,
      (w) => w.go(),
      (w) => w.expire(),
    );
  }

  /** Calls not yet answered. */
  get inflight(): number {
    return this.running.size;
  }

  /**
   * Answers one JSON text (a request, a notification, or a batch). On a server with a guard the
   * message is authenticated first (once for a whole batch, on its bytes), then each call authorized.
   */
  handle(bytes: Uint8Array, extras: CallExtras = {}): Answer {
    if (extras.opened !== true && isEnvelope(bytes)) return this.enveloped(bytes, extras);
    const guard = this.dispatcher.guard;
    if (guard !== undefined && extras.principal === undefined) {
      const body = bytes.slice();
      return this.authenticate(guard, body, extras).then(
        (principal) => this.handle(body, { ...extras, principal: { value: principal } }),
        (err: RpcError) => errorText(this.dialect, "null", err),
      );
    }
    let text: string;
    let message: unknown;
    let spans: number[] | undefined;
    try {
      text = utf8Text(bytes);
      if (firstNonBlank(text) === OPEN_ARRAY) {
        // A batch's length is counted before it is parsed: JSON.parse of 200,000 entries stalled
        // the event loop 100-240 ms and raised peak RSS ~20 MiB, only to be refused afterwards.
        // The count stops at entry maxBatchLength + 1, so refusing costs that much scanning at
        // most; the spans it finds are reused to echo ids, as rawElements did.
        const max = this.options.maxBatchLength;
        spans = arraySpans(text, max);
        if (spans === undefined) {
          this.dialect = "2.0";
          const why = `batch of more than ${max} entries exceeds maxBatchLength ${max}`;
          return this.malformed(new RpcError(Code.ResourceExhausted, why), "request");
        }
      }
      message = fromJsonText(text, this.options.limits);
    } catch (err) {
      return this.malformed(RpcError.from(err, Code.InvalidArgument), "parse");
    }
    if (!Array.isArray(message)) return this.one(message, text, extras);
    return this.batch(message, text, spans, extras);
  }

  /**
   * Answers a message in an envelope (docs/protocols.md): its metadata is the calls', its message
   * text is what the guard authenticates; the answer goes back in an envelope, signed when the
   * guard signs replies.
   */
  private enveloped(bytes: Uint8Array, extras: CallExtras): Answer {
    let envelope: Envelope;
    try {
      envelope = openEnvelope(bytes, this.options.limits);
    } catch (err) {
      return this.malformed(RpcError.from(err, Code.InvalidArgument), "request");
    }
    const { metadata, message } = envelope;
    const seal = (text: string | undefined): string | undefined => {
      if (text === undefined) return undefined;
      const sign = this.dispatcher.guard?.signReply;
      const incoming = { method: undefined, metadata, peer: this.peer, timeoutMs: undefined, body: message };
      return sealEnvelope(sign?.(incoming, undefined, [encoder.encode(text)]), text);
    };
    const answer = this.handle(message, { ...extras, metadata, opened: true });
    return isPromise(answer) ? answer.then(seal) : seal(answer);
  }

  /** Who sent a message, by the guard's `authenticate`; rejects with the refusal. */
  authenticate(guard: CallGuard, body: Uint8Array, extras: CallExtras): Promise<unknown> {
    const call = {
      method: undefined,
      metadata: extras.metadata ?? noMetadata,
      peer: this.peer,
      timeoutMs: extras.timeoutMs,
      body,
    };
    return new Promise((resolve) => resolve(guard.authenticate(call))).catch((err: unknown) => {
      throw RpcError.from(err, Code.Unauthenticated);
    });
  }

  /** The error reply, id null, for a message that could not be read. */
  malformed(err: RpcError, malformation?: Malformation): string {
    return errorText(this.dialect, "null", err, malformation);
  }

  /** Aborts every call still running (the connection closed or the server is going away). */
  abortAll(reason: RpcError): void {
    for (const call of this.running.values()) call.abort(reason);
  }

  /** A parsed batch; `spans` are its entries' places in `text` ({@link arraySpans}). */
  private batch(entries: unknown[], text: string, spans: number[] | undefined, extras: CallExtras): Answer {
    this.dialect = "2.0";
    if (entries.length === 0) return this.malformed(new RpcError(Code.InvalidArgument, "empty batch"), "request");
    let texts: string[] | undefined;
    const escapes = text.includes("\\");
    const answers: Answer[] = [];
    let pending = false;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      // Raw texts are needed only to echo numeric ids, and string ids spelled with escapes, exactly.
      const id = (entry as { id?: unknown } | null)?.id;
      const needsText = typeof id === "number" || (typeof id === "string" && escapes);
      let raw: string | undefined;
      if (needsText) {
        // A text that parsed has one span per entry; rawElements is only a guard against a scan
        // that disagreed with JSON.parse.
        if (spans?.length === 2 * entries.length) raw = text.slice(spans[2 * i], spans[2 * i + 1]);
        else {
          texts ??= rawElements(text);
          raw = texts[i];
        }
      }
      const answer = this.one(entry, raw, extras, "2.0");
      if (answer === undefined) continue;
      if (isPromise(answer)) pending = true;
      answers.push(answer);
    }
    const join = (parts: (string | undefined)[]) => {
      const present = parts.filter((p) => p !== undefined);
      return present.length === 0 ? undefined : `[${present.join(",")}]`;
    };
    return pending ? Promise.all(answers).then(join) : join(answers as (string | undefined)[]);
  }

  /** One request object; `text` is its source when its numeric id must be echoed as written. */
  private one(message: unknown, text: string | undefined, extras: CallExtras, force?: Dialect): Answer {
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      return errorText(
        force ?? "2.0",
        "null",
        new RpcError(Code.InvalidArgument, "request is not an object"),
        "request",
      );
    }
    const req = message as Record<string, unknown>;
    const dialect: Dialect = force ?? ("jsonrpc" in req ? "2.0" : "go");
    this.dialect = dialect;
    const hasId = "id" in req;
    const id = req.id;
    let idText = "null";
    if (typeof id === "string") {
      // A string spelled with escapes is echoed as spelled.
      const raw = text?.includes("\\") ? rawMember(text, "id") : undefined;
      idText = raw ?? JSON.stringify(id);
    } else if (typeof id === "number") idText = (text === undefined ? undefined : rawMember(text, "id")) ?? String(id);
    const invalid = (why: string, answerId = idText) =>
      errorText(dialect, answerId, new RpcError(Code.InvalidArgument, `invalid request: ${why}`), "request");
    if (hasId && id !== null && typeof id !== "string" && typeof id !== "number") {
      return invalid("id must be a string, a number or null", "null");
    }
    if (dialect === "2.0" && req.jsonrpc !== "2.0") return invalid('jsonrpc must be "2.0"');
    if (typeof req.method !== "string") return invalid("method must be a string");
    const params = req.params;
    if (params !== undefined && (typeof params !== "object" || params === null)) {
      return invalid("params must be an array or an object");
    }
    // A 2.0 request without an id is a notification; Go's dialect always answers.
    const notification = dialect === "2.0" && !hasId;
    const answer = this.call(dialect, req.method, params, idText, extras);
    if (!notification) return answer;
    if (isPromise(answer)) answer.catch(() => {});
    return undefined;
  }

  private call(
    dialect: Dialect,
    name: string,
    params: unknown,
    id: string,
    extras: CallExtras,
    authorized = false,
  ): Answer {
    const method = findMethod(this.dispatcher, name, dialect);
    if (typeof method === "string") return errorText(dialect, id, new RpcError(Code.Unimplemented, method));
    if (method.kind !== "unary" && method.kind !== "oneway") {
      const why = `${method.path} is a ${method.kind.replace("_", " ")} method; JSON-RPC carries unary and oneway calls`;
      return errorText(dialect, id, new RpcError(Code.Unimplemented, why));
    }
    const guard = this.dispatcher.guard;
    if (guard !== undefined && !authorized) {
      const incoming = {
        method,
        metadata: extras.metadata ?? noMetadata,
        peer: this.peer,
        timeoutMs: extras.timeoutMs,
        body: new Uint8Array(0),
      };
      return new Promise<void>((resolve) => resolve(guard.authorize(extras.principal?.value, method, incoming))).then(
        () => this.call(dialect, name, params, id, extras, true),
        (err: unknown) => errorText(dialect, id, RpcError.from(err, Code.PermissionDenied)),
      );
    }
    const limit = this.options.limits.maxInflight;
    if (this.running.size >= limit) return errorText(dialect, id, tooManyCalls(limit));
    let input = inputOf(params);
    if (dialect === "go" && this.options.goFieldNames === "lowerCamel") input = camelKeys(input);
    try {
      input = inputFromJson(method, input);
    } catch (err) {
      return errorText(dialect, id, RpcError.from(err, Code.InvalidArgument));
    }
    const result = (value: unknown): string => {
      let json: unknown;
      try {
        json = outputToJson(method, value);
      } catch (err) {
        return errorText(dialect, id, RpcError.from(err, Code.Internal));
      }
      return resultText(dialect, id, json);
    };
    const call = new UnaryCall(method, extras.metadata ?? noMetadata, this.peer, extras.deadline);
    call.principal = extras.principal?.value;
    // Running and waiting calls are both in `running`, so abortAll reaches the waiting ones too.
    this.running.add(call);
    const run = (): Answer => {
      let out: unknown;
      try {
        out = call.run(this.dispatcher, input);
      } catch (err) {
        this.finished(call);
        return errorText(dialect, id, err as RpcError);
      }
      if (!isPromise(out)) {
        this.finished(call);
        return result(out);
      }
      return out.then(
        (value) => {
          this.finished(call);
          return result(value);
        },
        (err: RpcError) => {
          this.finished(call);
          return errorText(dialect, id, err);
        },
      );
    };
    // The gate starts the call now (the common case: the answer is set before admit returns), or
    // later, when a slot is free; a call whose deadline passed meanwhile is answered without running.
    let answer: Answer | undefined;
    let started = false;
    let later: ((a: Answer) => void) | undefined;
    const settle = (a: Answer) => {
      started = true;
      if (later === undefined) answer = a;
      else later(a);
    };
    this.gate.admit({
      done: false,
      deadline: call.deadline,
      go: () => settle(run()),
      expire: () => {
        this.running.delete(call);
        settle(errorText(dialect, id, deadlineExceeded()));
      },
    });
    if (started) return answer;
    return new Promise((resolve) => {
      later = resolve;
    });
  }

  private finished(call: UnaryCall): void {
    this.running.delete(call);
    this.gate.handlerDone();
  }
}
