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
  // Synchronous hooks are answered synchronously (a signed farcall call then starts in the read
  // that brought it, like an unguarded one); promises are awaited.
  const unauthenticated = (err: unknown) =>
    err instanceof RpcError ? err : new RpcError(Code.Unauthenticated, "authentication failed", { cause: err });
  const denied = (method: MethodDescriptor, err?: unknown) =>
    err instanceof RpcError
      ? err
      : new RpcError(Code.PermissionDenied, `not allowed to call ${method.path}`, { cause: err });
  const allow = (method: MethodDescriptor, allowed: unknown) => {
    if (allowed !== true) throw denied(method);
  };
  return {
    signReply: authenticate?.signReply,
    authenticate(call) {
      if (authenticate === undefined) return undefined;
      let out: unknown;
      try {
        out = authenticate(call);
      } catch (err) {
        throw unauthenticated(err);
      }
      return out instanceof Promise
        ? out.catch((err: unknown) => {
            throw unauthenticated(err);
          })
        : out;
    },
    authorize(principal, method, call) {
      const checks = [authorize, serviceAuthorize(method)].filter((c) => c !== undefined);
      let pending: Promise<void> | undefined;
      for (const check of checks) {
        const run = (): void | Promise<void> => {
          let allowed: boolean | Promise<boolean>;
          try {
            allowed = check(principal, method, call);
          } catch (err) {
            throw denied(method, err);
          }
          if (!(allowed instanceof Promise)) return allow(method, allowed);
          return allowed.then(
            (a) => allow(method, a),
            (err: unknown) => {
              throw denied(method, err);
            },
          );
        };
        if (pending !== undefined) pending = pending.then(run);
        else {
          const r = run();
          if (r instanceof Promise) pending = r;
        }
      }
      return pending;
    },
  };
}
