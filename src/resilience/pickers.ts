// Pickers: an immutable choice over the endpoints as they were when it was made; the balancer
// makes a new one whenever the set or a channel's state changes.
import type { RpcRequest } from "../core/interceptor.js";
import type { CallTransport } from "../protocol/protocol.js";

/** What a picker weighs of one endpoint. */
export interface Endpoint {
  readonly address: string;
  readonly zone: string | undefined;
  readonly transport: CallTransport;
  /** Not in backoff after a failed connect, not closed. */
  readonly usable: boolean;
  readonly outstanding: number;
  /** Latency EWMA in ms; 0 before the first call. */
  readonly latencyMs: number;
}

/** `p2c`: power of two choices on (outstanding + 1) × latency EWMA; `round_robin`: each in turn. */
export type PolicyName = "p2c" | "round_robin";

export type Picker<E extends Endpoint = Endpoint> = (req: RpcRequest, exclude: ReadonlySet<E>) => E | undefined;

/**
 * The candidates: usable endpoints (of `zone` when one of those is usable) not yet tried by
 * this call; when none is left, the tried ones; when none is usable, all (their channels then
 * fail fast or try again).
 */
function candidates<E extends Endpoint>(all: readonly E[], exclude: ReadonlySet<E>, zone: string | undefined): E[] {
  let usable = all.filter((e) => e.usable);
  if (zone !== undefined) {
    const local = usable.filter((e) => e.zone === zone);
    if (local.length > 0) usable = local;
  }
  if (usable.length === 0) usable = [...all];
  const fresh = usable.filter((e) => !exclude.has(e));
  return fresh.length > 0 ? fresh : usable;
}

const score = (e: Endpoint) => (e.outstanding + 1) * Math.max(e.latencyMs, 0.001);

export function pickerFor<E extends Endpoint>(
  policy: PolicyName,
  all: readonly E[],
  zone: string | undefined,
): Picker<E> {
  if (policy === "round_robin") {
    let next = Math.floor(Math.random() * Math.max(1, all.length));
    return (_req, exclude) => {
      const list = candidates(all, exclude, zone);
      if (list.length === 0) return undefined;
      next = (next + 1) % list.length;
      return list[next];
    };
  }
  // The common case (every endpoint usable, none tried) picks without building lists. A state
  // change makes a new picker, so `usable` is read once here.
  const allUsable = zone === undefined && all.every((e) => e.usable);
  return (_req, exclude) => {
    const list = exclude.size === 0 && allUsable ? all : candidates(all, exclude, zone);
    const n = list.length;
    if (n <= 1) return list[0];
    const i = Math.floor(Math.random() * n);
    let j = Math.floor(Math.random() * (n - 1));
    if (j >= i) j++;
    const a = list[i] as E;
    const b = list[j] as E;
    return score(a) <= score(b) ? a : b;
  };
}
