import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";

/**
 * The refusal of a call beyond `maxInflight` (running plus waiting) on one connection, the same on
 * every protocol: `resource_exhausted`, as gRPC answers a server out of room for a call, and safe
 * to retry, since the call never reached its handler.
 */
export function tooManyCalls(maxInflight: number): RpcError {
  return new RpcError(
    Code.ResourceExhausted,
    `too many calls in flight on this connection (maxInflight ${maxInflight})`,
    {
      safeToRetry: true,
    },
  );
}
