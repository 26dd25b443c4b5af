import type { Metadata } from "./metadata.js";
import type { InferOutput, StandardSchemaV1 } from "./schema.js";

/**
 * How a method exchanges messages. `oneway` sends one request and expects no reply at all.
 */
export type MethodKind = "unary" | "server_stream" | "client_stream" | "bidi_stream" | "oneway";

/** What a method declaration carries: its kind, optional runtime schemas, and phantom types. */
export interface MethodSpec<I, O, K extends MethodKind> {
  readonly kind: K;
  /** Validates requests on the server; a violation is `invalid_argument` with the issues as details. */
  readonly input?: StandardSchemaV1 | undefined;
  /** Validates replies on the client (and applies the schema's transforms). */
  readonly output?: StandardSchemaV1 | undefined;
  /** Type carrier only; never set at run time. */
  readonly types?: { readonly input: I; readonly output: O };
}

/** Schemas for a method; either may be left out (its type is then `unknown`). */
export interface SchemaPair<SI extends StandardSchemaV1 | undefined, SO extends StandardSchemaV1 | undefined> {
  input?: SI;
  output?: SO;
}

type Out<S> = S extends StandardSchemaV1 ? InferOutput<S> : unknown;

function declare(kind: MethodKind, schemas?: SchemaPair<StandardSchemaV1 | undefined, StandardSchemaV1 | undefined>) {
  return Object.freeze({ kind, input: schemas?.input, output: schemas?.output });
}

/** A request-reply method. `unary<I, O>()` declares types only; `unary({ input, output })` adds schemas. */
export function unary<I, O>(): MethodSpec<I, O, "unary">;
export function unary<SI extends StandardSchemaV1 | undefined, SO extends StandardSchemaV1 | undefined>(
  schemas: SchemaPair<SI, SO>,
): MethodSpec<Out<SI>, Out<SO>, "unary">;
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
export function oneway<SI extends StandardSchemaV1 | undefined>(schemas: {
  input?: SI;
}): MethodSpec<Out<SI>, void, "oneway">;
export function oneway(schemas?: { input?: StandardSchemaV1 }) {
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
}
