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
  /** Who the server's `authenticate` said the caller is (undefined without one). */
  principal: unknown = undefined;
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
 * A call as `authenticate` sees it: after its header, before its body is decoded (docs/security.md §2).
 */
export interface IncomingCall {
  /** The method called; undefined for a JSON-RPC message, whose body names its methods. */
  readonly method: MethodDescriptor | undefined;
  readonly metadata: Readonly<Metadata>;
  readonly peer: Peer;
  /** The timeout the caller sent, in ms (undefined: none). */
  readonly timeoutMs: number | undefined;
  /**
   * The body as received: farcall's message bytes, HTTP's request body, a JSON-RPC message's
   * text; empty for the opening of a stream of requests.
   */
  readonly body: Uint8Array;
  /** What the caller claims on protocols that carry credentials (ONC RPC's AUTH_SYS). */
  readonly credentials?: Credentials | undefined;
}

/**
 * The server's checks before a call runs: `authenticate` says who is calling (or rejects with
 * `unauthenticated`), `authorize` whether they may call the method (or rejects with
 * `permission_denied`). Absent when the server has neither: protocols then skip the step.
 */
export interface CallGuard {
  /** The principal, or a promise of it; throws (or rejects) with the refusal. */
  authenticate(call: IncomingCall): unknown;
  /** Returns (or resolves) when allowed; throws (or rejects) with the refusal. */
  authorize(principal: unknown, method: MethodDescriptor, call: IncomingCall): void | Promise<void>;
  /**
   * The metadata entries that sign a successful reply to `call` (its body in pieces and the
   * reply metadata set so far), when the authentication signs replies (HMAC); else undefined.
   */
  signReply?:
    | ((
        call: IncomingCall,
        metadata: Readonly<Metadata> | undefined,
        body: readonly Uint8Array[],
      ) => Record<string, string> | undefined)
    | undefined;
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
  /** Authentication and authorization, when the server has them. */
  readonly guard?: CallGuard | undefined;
  /** Turns what a handler (or its reply stream) threw into the error the peer may see. */
  toWire(err: unknown, method: MethodDescriptor): RpcError;
}

/**
 * Both steps of the guard for a call whose method is known: the principal, synchronously when
 * both hooks answered so, else a promise of it. Throws (or rejects) with the refusal.
 */
export function admitCall(guard: CallGuard, call: IncomingCall & { method: MethodDescriptor }): unknown {
  const authorized = (principal: unknown): unknown => {
    const allowed = guard.authorize(principal, call.method, call);
    return allowed instanceof Promise ? allowed.then(() => principal) : principal;
  };
  const principal = guard.authenticate(call);
  return principal instanceof Promise ? principal.then(authorized) : authorized(principal);
}

/** {@link admitCall} as a promise, for protocols that answer later anyway. */
export function admitLater(guard: CallGuard, call: IncomingCall & { method: MethodDescriptor }): Promise<unknown> {
  return new Promise((resolve) => resolve(admitCall(guard, call)));
}
