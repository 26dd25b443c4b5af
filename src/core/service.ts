import type { CallScope } from "./call-scope.js";
import type { Metadata } from "./metadata.js";
import type { InferOutput, StandardSchemaV1 } from "./schema.js";

/**
 * How a method exchanges messages. `oneway` sends one request and expects no reply at all.
 */
export type MethodKind = "unary" | "server_stream" | "client_stream" | "bidi_stream" | "oneway";

/**
 * How a method's messages look on a wire whose codec needs a schema (XDR, protobuf): each codec
 * defines what it takes here (a type descriptor); self-describing codecs (JSON, MessagePack) ignore it.
 */
export interface WireTypes {
  readonly input?: unknown;
  readonly output?: unknown;
  /**
   * For protocols that carry JSON (JSON-RPC, HTTP JSON): the messages' JSON as the values handlers
   * see, and back (for XDR types, docs/xdr.md's mapping: hyper as a decimal string, opaque as
   * base64, enums by name). `fromJson` throws `invalid_argument` on JSON that does not fit.
   */
  readonly json?: WireJson | undefined;
}

/** How a method's messages map to JSON and back (`WireTypes.json`). */
export interface WireJson {
  fromJson(json: unknown, message: "input" | "output"): unknown;
  toJson(value: unknown, message: "input" | "output"): unknown;
}

/** A request's JSON as the value its handler takes (unchanged unless the method maps its JSON). */
export function inputFromJson(method: MethodIdentity, json: unknown): unknown {
  const map = method.wire?.json;
  return map === undefined ? json : map.fromJson(json, "input");
}

/** A handler's result as the JSON to send (unchanged unless the method maps its JSON). */
export function outputToJson(method: MethodIdentity, value: unknown): unknown {
  const map = method.wire?.json;
  return map === undefined ? value : map.toJson(value, "output");
}

/** What a method is, besides its messages: the facts protocols and the cluster layer need. */
export interface MethodIdentity {
  /**
   * The call can run twice with the effect of once (a read, a put of a whole value): the client
   * may retry it after a failure that does not prove it did not run. Default false.
   */
  readonly idempotent?: boolean | undefined;
  /** A numeric id for wires that number procedures (ONC RPC); unique within the service. */
  readonly id?: number | undefined;
  /** The ONC RPC program number of the method's service (`.x` files' `program … = n`). */
  readonly program?: number | undefined;
  /** The interface version the method belongs to (ONC RPC's version number, a semver). */
  readonly version?: string | number | undefined;
  /** The method's message types for schema-driven codecs. */
  readonly wire?: WireTypes | undefined;
}

/** What a method declaration carries: its kind, optional runtime schemas, its identity, and phantom types. */
export interface MethodSpec<I, O, K extends MethodKind> extends MethodIdentity {
  readonly kind: K;
  /** Validates requests on the server; a violation is `invalid_argument` with the issues as details. */
  readonly input?: StandardSchemaV1 | undefined;
  /** Validates replies on the client (and applies the schema's transforms). */
  readonly output?: StandardSchemaV1 | undefined;
  /** Type carrier only; never set at run time. */
  readonly types?: { readonly input: I; readonly output: O };
}

/** Schemas for a method (either may be left out: its type is then `unknown`), and its identity. */
export interface SchemaPair<SI extends StandardSchemaV1 | undefined, SO extends StandardSchemaV1 | undefined>
  extends MethodIdentity {
  input?: SI;
  output?: SO;
}

type Out<S> = S extends StandardSchemaV1 ? InferOutput<S> : unknown;

function declare(kind: MethodKind, spec?: SchemaPair<StandardSchemaV1 | undefined, StandardSchemaV1 | undefined>) {
  if (spec?.id !== undefined && !(Number.isInteger(spec.id) && spec.id >= 0 && spec.id <= 0xffff_ffff)) {
    throw new TypeError(`method id must be an integer from 0 to 4294967295, got ${String(spec.id)}`);
  }
  const out: {
    -readonly [K in keyof MethodSpec<unknown, unknown, MethodKind>]: MethodSpec<unknown, unknown, MethodKind>[K];
  } = { kind, input: spec?.input, output: spec?.output };
  // Identity fields are set only when given, so a plain method's descriptor stays as small as before.
  if (spec?.idempotent !== undefined) out.idempotent = spec.idempotent;
  if (spec?.id !== undefined) out.id = spec.id;
  if (spec?.program !== undefined) {
    if (!(Number.isInteger(spec.program) && spec.program >= 0 && spec.program <= 0xffff_ffff)) {
      throw new TypeError(`program number must be an integer from 0 to 4294967295, got ${String(spec.program)}`);
    }
    out.program = spec.program;
  }
  if (spec?.version !== undefined) out.version = spec.version;
  if (spec?.wire !== undefined) out.wire = Object.freeze({ ...spec.wire });
  return Object.freeze(out);
}

/** A request-reply method. `unary<I, O>()` declares types only; `unary({ input, output })` adds schemas. */
export function unary<I, O>(): MethodSpec<I, O, "unary">;
export function unary<SI extends StandardSchemaV1 | undefined, SO extends StandardSchemaV1 | undefined>(
  schemas: SchemaPair<SI, SO>,
): MethodSpec<Out<SI>, Out<SO>, "unary">;
/** Types given, no schemas, and the method's identity: `unary<string, string>({ id: 1, wire })` (generated code). */
export function unary<I, O>(identity: MethodIdentity): MethodSpec<I, O, "unary">;
export function unary(schemas?: SchemaPair<StandardSchemaV1, StandardSchemaV1>): MethodSpec<unknown, unknown, "unary"> {
  return declare("unary", schemas) as MethodSpec<unknown, unknown, "unary">;
}

/** One request, a stream of replies. */
export function serverStream<I, O>(): MethodSpec<I, O, "server_stream">;
export function serverStream<SI extends StandardSchemaV1 | undefined, SO extends StandardSchemaV1 | undefined>(
  schemas: SchemaPair<SI, SO>,
): MethodSpec<Out<SI>, Out<SO>, "server_stream">;
export function serverStream(schemas?: SchemaPair<StandardSchemaV1, StandardSchemaV1>) {
  return declare("server_stream", schemas) as MethodSpec<unknown, unknown, "server_stream">;
}

/** A stream of requests, one reply. */
export function clientStream<I, O>(): MethodSpec<I, O, "client_stream">;
export function clientStream<SI extends StandardSchemaV1 | undefined, SO extends StandardSchemaV1 | undefined>(
  schemas: SchemaPair<SI, SO>,
): MethodSpec<Out<SI>, Out<SO>, "client_stream">;
export function clientStream(schemas?: SchemaPair<StandardSchemaV1, StandardSchemaV1>) {
  return declare("client_stream", schemas) as MethodSpec<unknown, unknown, "client_stream">;
}

/** Streams both ways at once. */
export function bidiStream<I, O>(): MethodSpec<I, O, "bidi_stream">;
export function bidiStream<SI extends StandardSchemaV1 | undefined, SO extends StandardSchemaV1 | undefined>(
  schemas: SchemaPair<SI, SO>,
): MethodSpec<Out<SI>, Out<SO>, "bidi_stream">;
export function bidiStream(schemas?: SchemaPair<StandardSchemaV1, StandardSchemaV1>) {
  return declare("bidi_stream", schemas) as MethodSpec<unknown, unknown, "bidi_stream">;
}

/** A request with no reply: the caller learns only that it was sent. */
export function oneway<I>(): MethodSpec<I, void, "oneway">;
export function oneway<SI extends StandardSchemaV1 | undefined>(
  schemas: { input?: SI } & MethodIdentity,
): MethodSpec<Out<SI>, void, "oneway">;
export function oneway(schemas?: { input?: StandardSchemaV1 } & MethodIdentity) {
  return declare("oneway", schemas) as MethodSpec<unknown, void, "oneway">;
}

// biome-ignore lint/suspicious/noExplicitAny: variance: a map of specs with any message types
export type AnySpec = MethodSpec<any, any, MethodKind>;

/** A method as the runtime sees it: its spec plus its names. */
export interface MethodDescriptor extends MethodSpec<unknown, unknown, MethodKind> {
  /** Service name, e.g. `Arith`. */
  readonly service: string;
  /** Method name, e.g. `add`. */
  readonly name: string;
  /** The one spelling used everywhere, on the wire included: `Arith/add`. */
  readonly path: string;
}

/** A named set of methods; `methods` is keyed by method name. */
export interface ServiceDescriptor<M extends Record<string, AnySpec> = Record<string, AnySpec>> {
  readonly name: string;
  readonly specs: M;
  readonly methods: ReadonlyMap<string, MethodDescriptor>;
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/**
 * Defines a service once, for both client stubs and server handlers.
 * Names are checked: a service may be dotted (`pkg.Arith`), a method is an identifier.
 * @throws TypeError on an invalid name or method spec.
 */
export function defineService<const M extends Record<string, AnySpec>>(name: string, methods: M): ServiceDescriptor<M> {
  if (!namePattern.test(name)) throw new TypeError(`invalid service name ${JSON.stringify(name)}`);
  const table = new Map<string, MethodDescriptor>();
  for (const method of Object.keys(methods)) {
    const spec = methods[method] as AnySpec;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(method)) throw new TypeError(`invalid method name ${JSON.stringify(method)}`);
    if (typeof spec !== "object" || spec === null || typeof spec.kind !== "string") {
      throw new TypeError(`method ${name}/${method} needs a spec such as unary()`);
    }
    if (spec.id !== undefined) {
      for (const other of table.values()) {
        if (other.id === spec.id && other.version === spec.version) {
          throw new TypeError(`methods ${other.name} and ${method} of ${name} share id ${spec.id}`);
        }
      }
    }
    table.set(method, Object.freeze({ ...spec, service: name, name: method, path: `${name}/${method}` }));
  }
  return Object.freeze({ name, specs: methods, methods: table });
}

/** Options every call takes. */
export interface CallOptions {
  /** Time the call may take, in ms; it travels to the server, which aborts its handler when it passes. */
  timeoutMs?: number;
  /** Aborting it cancels the call, here and on the server (`canceled`). */
  signal?: AbortSignal;
  /** Request metadata. */
  metadata?: Readonly<Metadata>;
  /** Called with the reply's metadata (for streams: when the stream ends). */
  onResponseMetadata?: (metadata: Metadata) => void;
  /**
   * Server and bidi streams over farcall framing: byte values (`Uint8Array`) in a streamed message
   * are valid only until you ask for the next message, because farcall reads the next ones into
   * the same buffers. Copy what you keep. A long, fast stream then allocates nothing per message
   * (a 1 GiB stream of 64 KiB chunks over `tcp://`: client peak RSS ~57 MiB instead of ~90). Over
   * `ws://` only bodies that span WebSocket messages reuse buffers; HTTP and JSON-RPC ignore it.
   */
  reuseBuffers?: boolean;
  /**
   * Clients of a name or a list (docs/cluster.md): the key `ring_hash` routes by; calls with the
   * same key go to the same replica while it is usable.
   */
  hashKey?: string;
  /** Clients of a name or a list: this call's balancing policy instead of the client's. */
  balancer?: BalancerPolicy;
  /**
   * Unary calls: at most once (docs/cluster.md, "Idempotency keys"). The server runs the first
   * call with this key once and answers a repeat of it (same method, same input) with the first
   * outcome. A client of a name or a list then sends a call that may have run again, to the same
   * replica. 1–256 printable ASCII characters; a fresh UUID per operation.
   */
  idempotencyKey?: string;
  /** Clients of a name or a list with `hedging`: `false` sends this call once, unhedged. */
  hedging?: false;
  /**
   * The call this one is made for: it inherits its deadline (the earlier of the two) and its
   * cancellation. Default: the handler running here, if any (Node, unary and client-stream
   * handlers; a stream handler passes its `ctx`). `null`: none, a detached call.
   */
  parent?: CallScope | null;
}

/**
 * How a client of a name or a list spreads calls (docs/cluster.md): `p2c` (power of two choices on
 * outstanding calls × latency EWMA), `round_robin`, `weighted_round_robin` (by the registered
 * weights), `ring_hash` (by `CallOptions.hashKey`).
 */
export type BalancerPolicy = "p2c" | "round_robin" | "weighted_round_robin" | "ring_hash";

/**
 * Hedged requests (`ClientOptions.hedging`): an idempotent unary call not answered within
 * `delayMs` is sent to another replica as well, up to `maxAttempts` copies in all; the first
 * answer wins and the others are canceled.
 */
export interface HedgingOptions {
  readonly delayMs: number;
  /** Copies in all, the first included: 2–5. Default 2. */
  readonly maxAttempts?: number | undefined;
}

/** Options of outlier ejection (`ClientOptions.outlier`); every field has a default. */
export interface OutlierOptions {
  /** Share of failed calls among the recent ones (0 < r ≤ 1) that ejects an endpoint. Default 0.5. */
  readonly failureRate?: number | undefined;
  /** Calls an endpoint must have made since it was last judged before it can be ejected. Default 10. */
  readonly minCalls?: number | undefined;
  /** How many of an endpoint's most recent calls are judged (1–1000). Default 50. */
  readonly windowCalls?: number | undefined;
  /** Ejection time the first time; the n-th ejection in a row lasts n times as long. Default 30 s. */
  readonly baseEjectionMs?: number | undefined;
  /** Longest ejection. Default 300 s. */
  readonly maxEjectionMs?: number | undefined;
  /** At most max(1, ⌊endpoints × share⌋) endpoints are ejected at once. Default 0.5. */
  readonly maxEjectedShare?: number | undefined;
}
