import type { Peer } from "../../core/interceptor.js";
import type { Metadata } from "../../core/metadata.js";
import type { MethodDescriptor } from "../../core/service.js";
import { type IncomingCall, ServerCallContext } from "../call-context.js";
import type { MessageQueue, SendCredit } from "../flow.js";

/** What a call needs of its session: to be ended when its deadline passes. */
export interface CallOwner {
  expire(call: ServerCall): void;
}

/**
 * One incoming call, and the handler's context for it (one object, since every call needs both).
 * `done` is set once its final frame went out, or it was canceled.
 */
export class ServerCall extends ServerCallContext {
  done = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  input: MessageQueue<unknown> | undefined;
  credit: SendCredit | undefined;
  payload: unknown;
  /** The call as the guard saw it (servers with `authenticate`), to sign its reply. */
  incoming: IncomingCall | undefined;
  constructor(
    readonly session: CallOwner,
    readonly id: number,
    method: MethodDescriptor,
    metadata: Metadata,
    peer: Peer,
    deadline: number | undefined,
  ) {
    super(method, metadata, peer, deadline);
  }
}

/** The timer callback of a call's deadline (a plain function, so no closure per call). */
export function expire(call: ServerCall): void {
  call.session.expire(call);
}
