import type { RpcError } from "../core/rpc-error.js";

/** One replica a resolver found: an address a client dials as it is, and what the balancer may weigh. */
export interface ResolvedEndpoint {
  readonly address: string;
  readonly zone?: string | undefined;
  readonly weight?: number | undefined;
}

/** What a resolver tells its listener. */
export interface ResolverListener {
  /**
   * A new set of endpoints. `complete` false: the source may not know every endpoint yet (a
   * restarted registry), so the listener adds what is new and removes nothing.
   */
  onUpdate(endpoints: readonly ResolvedEndpoint[], complete: boolean): void;
  /** The source cannot be reached; the listener keeps the endpoints it knows. */
  onError(error: RpcError): void;
}

/** Publishes the endpoint sets of one name (docs/cluster.md). */
export interface Resolver {
  /** Starts publishing to `listener` (once). */
  start(listener: ResolverListener): void;
  /** Stops; nothing is published afterwards. */
  close(): void;
}

/** A fixed list of addresses. */
export function staticResolver(addresses: readonly string[]): Resolver {
  return {
    start(listener) {
      listener.onUpdate(
        addresses.map((address) => ({ address })),
        true,
      );
    },
    close() {},
  };
}
