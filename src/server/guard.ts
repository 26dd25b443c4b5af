import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import type { MethodDescriptor } from "../core/service.js";
import type { CallGuard, IncomingCall } from "../protocol/call-context.js";

// Who is calling, and may they (docs/security.md §2). Both hooks run before a call's body is
// decoded, on every protocol; a call they refuse never runs.

/**
 * Says who is calling: returns a principal (any value; handlers see it as `ctx.principal`), or
 * throws `RpcError` `unauthenticated`. Other throws become `unauthenticated` too, their messages
 * kept from the caller (they may quote a token).
 */
export type Authenticate = ((call: IncomingCall) => unknown) & {
  /** Signs successful replies to the calls it authenticated (HMAC); see `CallGuard.signReply`. */
  readonly signReply?: CallGuard["signReply"];
};

/** Whether `principal` may call `method`: false (or a throw) is `permission_denied`. */
export type Authorize = (
  principal: unknown,
  method: MethodDescriptor,
  call: IncomingCall,
) => boolean | Promise<boolean>;

/**
 * The guard of a server: its `authenticate`, then its `authorize` and the one of the method's
 * service (both must allow). Undefined when there is nothing to check.
 */
export function createGuard(
  authenticate: Authenticate | undefined,
  authorize: Authorize | undefined,
  serviceAuthorize: (method: MethodDescriptor) => Authorize | undefined,
): CallGuard {
  return {
    signReply: authenticate?.signReply,
    async authenticate(call) {
      if (authenticate === undefined) return undefined;
      try {
        return await authenticate(call);
      } catch (err) {
        if (err instanceof RpcError) throw err;
        throw new RpcError(Code.Unauthenticated, "authentication failed", { cause: err });
      }
    },
    async authorize(principal, method, call) {
      for (const check of [authorize, serviceAuthorize(method)]) {
        if (check === undefined) continue;
        let allowed: boolean;
        try {
          allowed = await check(principal, method, call);
        } catch (err) {
          if (err instanceof RpcError) throw err;
          throw new RpcError(Code.PermissionDenied, `not allowed to call ${method.path}`, { cause: err });
        }
        if (allowed !== true) throw new RpcError(Code.PermissionDenied, `not allowed to call ${method.path}`);
      }
    },
  };
}
