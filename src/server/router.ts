import { runInScope } from "../core/call-scope.js";
import { Code } from "../core/code.js";
import { compose, type Handler, type Interceptor, type RpcRequest } from "../core/interceptor.js";
import { RpcError } from "../core/rpc-error.js";
import { runSchema, type StandardSchemaV1 } from "../core/schema.js";
import type { MethodDescriptor } from "../core/service.js";
import type { CallGuard, ServerCallContext, ServerDispatcher } from "../protocol/call-context.js";
import type { Authorize } from "./guard.js";
import type { IdempotentCalls } from "./idempotency.js";

/** A server-side method implementation: `(input, ctx) => output`. */
export type HandlerFn = (input: unknown, ctx: ServerCallContext) => unknown;

/** A method as registered: its descriptor plus what runs it (returning a value or a promise). */
export interface Route extends MethodDescriptor {
  readonly run: (input: unknown, ctx: ServerCallContext) => unknown;
  /** The authorization of the method's service (`server.add(service, impl, { authorize })`). */
  readonly authorize: Authorize | undefined;
}

/** How the router reports and redacts handler failures. */
export interface ErrorPolicy {
  /** Send the messages of non-RpcError throws to clients (default false: they see "internal error"). */
  exposeErrors: boolean;
  /** Sees every error that is not an `RpcError` (for logging). */
  onError: ((error: unknown, method: MethodDescriptor) => void) | undefined;
}

/**
 * The table from method path to implementation, and the dispatcher that protocols call.
 * Lookups use a Map, so a path such as `Arith/constructor` is just an unknown method.
 */
export class Router implements ServerDispatcher {
  private routes = new Map<string, Route>();
  /** Routes by method name, built on first use and dropped when a route is added. */
  private byName: Map<string, Route[]> | undefined;
  /** Set by the server when it authenticates or authorizes calls. */
  guard: CallGuard | undefined = undefined;

  constructor(
    private readonly interceptors: () => readonly Interceptor[],
    private readonly policy: ErrorPolicy,
    /** Unary calls with an idempotency key run once (`ServerOptions.idempotency`). */
    private readonly idempotent?: IdempotentCalls,
  ) {}

  /** Adds a method. @throws TypeError on a duplicate path. */
  add(method: MethodDescriptor, fn: HandlerFn, authorize?: Authorize): void {
    if (this.routes.has(method.path)) throw new TypeError(`method ${method.path} is already registered`);
    if (typeof fn !== "function") throw new TypeError(`handler for ${method.path} is not a function`);
    this.routes.set(method.path, { ...method, run: this.wrap(method, fn), authorize });
    this.byName = undefined;
    this.all = undefined;
  }

  /** Paths of every registered method. */
  paths(): string[] {
    return [...this.routes.keys()];
  }

  /** Built on first use and dropped when a route is added (ONC RPC asks for it on every call). */
  private all: readonly MethodDescriptor[] | undefined;

  methods(): readonly MethodDescriptor[] {
    this.all ??= [...this.routes.values()];
    return this.all;
  }

  /** The authorization a method's service was added with. */
  authorizeOf(method: MethodDescriptor): Authorize | undefined {
    return this.routes.get(method.path)?.authorize;
  }

  resolve(path: string): MethodDescriptor | undefined {
    return this.routes.get(path);
  }

  methodsNamed(name: string): readonly MethodDescriptor[] {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const route of this.routes.values()) {
        const list = this.byName.get(route.name);
        if (list === undefined) this.byName.set(route.name, [route]);
        else list.push(route);
      }
    }
    return this.byName.get(name) ?? [];
  }

  dispatch(method: MethodDescriptor, input: unknown, ctx: ServerCallContext): unknown {
    const out = (method as Route).run(input, ctx);
    // Sessions answer a native Promise later and anything else at once; a thenable from another
    // promise library or realm is made a native Promise here, so it is awaited, not sent.
    return out instanceof Promise || typeof (out as { then?: unknown } | null)?.then !== "function"
      ? out
      : Promise.resolve(out);
  }

  /** Turns anything a handler threw into the `RpcError` the peer may see. */
  toWire(err: unknown, method: MethodDescriptor): RpcError {
    if (err instanceof RpcError) return err;
    this.policy.onError?.(err, method);
    if (this.policy.exposeErrors) return RpcError.from(err, Code.Internal);
    return new RpcError(Code.Internal, "internal error", { cause: err });
  }

  /**
   * What runs a method: the handler itself when there is no schema and no interceptor (a handler
   * that returns a plain value is then answered without a promise), else a pipeline. Whatever it
   * throws or rejects with goes through `toWire` in the protocol session.
   */
  private wrap(method: MethodDescriptor, handler: HandlerFn): Route["run"] {
    const schema = method.input;
    const streamIn = method.kind === "client_stream" || method.kind === "bidi_stream";
    // Innermost: interceptors and the schema see a repeated key's call as any other.
    const fn =
      this.idempotent !== undefined && method.kind === "unary" ? this.idempotent.wrap(method.path, handler) : handler;
    let invoke: Route["run"] = fn;
    if (schema !== undefined) {
      invoke = streamIn
        ? (input, ctx) => fn(validateEach(schema, input as AsyncIterable<unknown>, method), ctx)
        : (input, ctx) => validate(schema, input, method).then((valid) => fn(valid, ctx));
    }
    const interceptors = this.interceptors();
    if (interceptors.length === 0) return inScope(invoke);
    const terminal: Handler = async (req) => {
      const ctx = req.context as ServerCallContext;
      return { output: await invoke(req.input, ctx), metadata: ctx.responseMetadata };
    };
    const chain = compose(interceptors, terminal);
    return inScope(async (input, ctx) => {
      const req: RpcRequest = {
        method,
        input,
        metadata: ctx.metadata,
        deadline: ctx.deadline,
        context: ctx,
        get signal() {
          return ctx.signal;
        },
      };
      const res = await chain(req);
      if (res.metadata !== ctx.responseMetadata) Object.assign(ctx.responseMetadata, res.metadata);
      return res.output;
    });
  }
}

/**
 * The handler run as the current call (core/call-scope.ts): calls it makes inherit its deadline
 * and cancellation. A stream handler's generator body runs when it is pulled, outside the scope;
 * it passes `{ parent: ctx }` explicitly.
 */
function inScope(run: Route["run"]): Route["run"] {
  return (input, ctx) => runInScope(ctx, () => run(input, ctx));
}

async function validate(schema: StandardSchemaV1, value: unknown, method: MethodDescriptor): Promise<unknown> {
  const result = await runSchema(schema, value);
  if (result.ok) return result.value;
  const summary = result.issues
    .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
  throw new RpcError(Code.InvalidArgument, `invalid request for ${method.path}: ${summary}`, {
    details: result.issues,
  });
}

async function* validateEach(schema: StandardSchemaV1, inputs: AsyncIterable<unknown>, method: MethodDescriptor) {
  for await (const item of inputs) yield await validate(schema, item, method);
}
