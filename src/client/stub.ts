import { Code } from "../core/code.js";
import type { RpcResponse } from "../core/interceptor.js";
import { RpcError } from "../core/rpc-error.js";
import { runSchema } from "../core/schema.js";
import type { AnySpec, CallOptions, MethodDescriptor, MethodSpec, ServiceDescriptor } from "../core/service.js";

/** Starts a call: what a stub needs from a client. */
export type Invoke = (
  method: MethodDescriptor,
  input: unknown,
  options: CallOptions | undefined,
) => Promise<RpcResponse>;

/** How a client-side method looks for one method spec. */
export type ClientMethod<S> =
  S extends MethodSpec<infer I, infer O, infer K>
    ? K extends "unary"
      ? (input: I, options?: CallOptions) => Promise<O>
      : K extends "server_stream"
        ? (input: I, options?: CallOptions) => AsyncIterable<O>
        : K extends "client_stream"
          ? (inputs: AsyncIterable<I> | Iterable<I>, options?: CallOptions) => Promise<O>
          : K extends "bidi_stream"
            ? (inputs: AsyncIterable<I> | Iterable<I>, options?: CallOptions) => AsyncIterable<O>
            : (input: I, options?: CallOptions) => Promise<void>
    : never;

/** A typed client for a service: one function per method. */
export type ServiceClient<M extends Record<string, AnySpec>> = { readonly [K in keyof M]: ClientMethod<M[K]> };

/** The client side of a net/rpc-style object: every method takes one argument and returns a promise. */
export type ProxyClient<T> = {
  readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends () => infer R
    ? (input?: undefined, options?: CallOptions) => Promise<Awaited<R>>
    : T[K] extends (input: infer I, ...rest: never[]) => infer R
      ? (input: I, options?: CallOptions) => Promise<Awaited<R>>
      : never;
};

/**
 * Gives an error the caller's async stack, so a failed call points at the code that made it.
 * Errors can be shared by several calls (a dropped connection fails them all with one error),
 * so a copy is made rather than the original changed.
 */
function withCallerStack(err: unknown, at: (...args: never[]) => unknown): unknown {
  if (!(err instanceof RpcError)) return err;
  const copy = new RpcError(err.code, err.rawMessage, {
    metadata: err.metadata,
    details: err.details,
    cause: err.cause,
    safeToRetry: err.safeToRetry,
  });
  Error.captureStackTrace?.(copy, at);
  return copy;
}

async function checkOutput(method: MethodDescriptor, value: unknown): Promise<unknown> {
  const schema = method.output;
  if (schema === undefined) return value;
  const result = await runSchema(schema, value);
  if (result.ok) return result.value;
  throw new RpcError(
    Code.Internal,
    `invalid reply from ${method.path}: ${result.issues.map((i) => i.message).join("; ")}`,
    {
      details: result.issues,
    },
  );
}

/** The async iterable a streaming stub returns: the call starts on the first `next()`. */
class ReplyStream implements AsyncIterableIterator<unknown> {
  private started: Promise<AsyncIterator<unknown>> | undefined;
  private iterator: AsyncIterator<unknown> | undefined;
  private response: RpcResponse | undefined;

  constructor(
    private readonly invoke: Invoke,
    private readonly method: MethodDescriptor,
    private readonly input: unknown,
    private readonly options: CallOptions | undefined,
  ) {}

  /**
   * One await per message once the call has started, and the session's own result object when
   * there is no output schema: a fast stream of small messages spends its time here.
   */
  async next(): Promise<IteratorResult<unknown>> {
    try {
      const iterator = this.iterator ?? (await this.start());
      const r = await iterator.next();
      if (r.done) {
        if (this.response !== undefined) this.options?.onResponseMetadata?.(this.response.metadata);
        return r;
      }
      if (this.method.output === undefined) return r;
      return { value: await checkOutput(this.method, r.value), done: false };
    } catch (err) {
      throw withCallerStack(err, ReplyStream.prototype.next);
    }
  }

  /** Starts the call (once; concurrent first calls share it). */
  private start(): Promise<AsyncIterator<unknown>> {
    this.started ??= this.invoke(this.method, this.input, this.options).then((res) => {
      this.response = res;
      this.iterator = (res.output as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      return this.iterator;
    });
    return this.started;
  }

  async return(): Promise<IteratorResult<unknown>> {
    if (this.started !== undefined) {
      const iterator = await this.started.catch(() => undefined);
      await iterator?.return?.();
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}

/** Builds the function that calls one method. */
export function methodCaller(
  invoke: Invoke,
  method: MethodDescriptor,
): (input: unknown, options?: CallOptions) => unknown {
  switch (method.kind) {
    case "server_stream":
    case "bidi_stream":
      return (input, options) => new ReplyStream(invoke, method, input, options);
    case "oneway":
      return async function oneway(input, options) {
        try {
          await invoke(method, input, options);
        } catch (err) {
          throw withCallerStack(err, oneway);
        }
      };
    default:
      return async function call(input, options) {
        try {
          const res = await invoke(method, input, options);
          options?.onResponseMetadata?.(res.metadata);
          return method.output === undefined ? res.output : await checkOutput(method, res.output);
        } catch (err) {
          throw withCallerStack(err, call);
        }
      };
  }
}

/** A plain object with one function per method of `service`. */
export function createServiceClient<M extends Record<string, AnySpec>>(
  invoke: Invoke,
  service: ServiceDescriptor<M>,
): ServiceClient<M> {
  const client: Record<string, unknown> = Object.create(null);
  for (const [name, method] of service.methods) client[name] = methodCaller(invoke, method);
  return Object.freeze(client) as ServiceClient<M>;
}

/** Names a Proxy stub must not answer, so it is not mistaken for a promise or serialised. */
const reserved = new Set(["then", "toJSON", "valueOf", "toString", "constructor", "inspect"]);

/**
 * A stub for a service known only by name and TypeScript type: any property is a unary method
 * `name/property`. It does not answer `then`, `toJSON`, `valueOf`, symbols or `_`-prefixed names.
 */
export function createProxyClient<T>(invoke: Invoke, serviceName: string): ProxyClient<T> {
  const cache = new Map<string, unknown>();
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (typeof prop !== "string" || reserved.has(prop) || prop.startsWith("_")) return undefined;
      let fn = cache.get(prop);
      if (fn === undefined) {
        const method: MethodDescriptor = Object.freeze({
          kind: "unary",
          service: serviceName,
          name: prop,
          path: `${serviceName}/${prop}`,
        });
        fn = methodCaller(invoke, method);
        cache.set(prop, fn);
      }
      return fn;
    },
    has() {
      return false;
    },
  }) as ProxyClient<T>;
}
