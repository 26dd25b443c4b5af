import { remainingMs } from "../core/deadline.js";
import type { Credentials, HandlerContext, Peer } from "../core/interceptor.js";
import { createMetadata, type Metadata } from "../core/metadata.js";
import type { RpcError } from "../core/rpc-error.js";
import type { MethodDescriptor } from "../core/service.js";

/**
 * A handler's view of one server call, shared by every protocol. The AbortController behind
 * `signal` is made only when a handler first reads `signal`, since most handlers never do; an
 * abort before that is remembered and applied then.
 */
export class ServerCallContext implements HandlerContext {
  /** Where the call sits in its connection's `SlotSet` of running calls (-1: in none). */
  slot = -1;
  /** Set by protocols that carry credentials, before the handler runs. */
  credentials: Credentials | undefined = undefined;
  private controller: AbortController | undefined;
  private reason: RpcError | undefined;
  private md: Metadata | undefined;

  constructor(
    readonly method: MethodDescriptor,
    readonly metadata: Readonly<Metadata>,
    readonly peer: Peer,
    readonly deadline: number | undefined,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** True once the call was aborted. */
  get aborted(): boolean {
    return this.reason !== undefined;
  }

  /** Why the call was aborted, once it was. */
  get abortReason(): RpcError | undefined {
    return this.reason;
  }

  remainingMs(): number {
    return remainingMs(this.deadline);
  }

  get responseMetadata(): Metadata {
    if (this.md === undefined) this.md = createMetadata();
    return this.md;
  }

  /** Response metadata if a handler or interceptor set any. */
  get responseMetadataIfSet(): Metadata | undefined {
    return this.md;
  }

  /** Aborts `signal` with `reason`; only the first reason counts. */
  abort(reason: RpcError): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * What a protocol session needs from the server: find a method by its path, run a call, and turn
 * failures into errors fit for the peer. `dispatch` returns the handler's output (an iterable for
 * streaming replies) or a native Promise of it (never another thenable); it may throw or reject
 * with anything, which the session passes through `toWire`.
 */
export interface ServerDispatcher {
  resolve(path: string): MethodDescriptor | undefined;
  /** Every registered method (protocols that number them build their tables from it). */
  methods(): readonly MethodDescriptor[];
  /** Every method called `name` (the part after the slash), in any service. */
  methodsNamed(name: string): readonly MethodDescriptor[];
  dispatch(method: MethodDescriptor, input: unknown, ctx: ServerCallContext): unknown;
  /** Turns what a handler (or its reply stream) threw into the error the peer may see. */
  toWire(err: unknown, method: MethodDescriptor): RpcError;
}
