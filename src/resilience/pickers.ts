// Pickers: an immutable choice over the endpoints as they were when it was made; the balancer
// makes a new one whenever the set or a channel's state changes.
import type { RpcRequest } from "../core/interceptor.js";
import type { BalancerPolicy } from "../core/service.js";
import type { CallTransport } from "../protocol/protocol.js";

/** What a picker weighs of one endpoint. */
export interface Endpoint {
  readonly address: string;
  readonly zone: string | undefined;
  /** 1–1000 (default 100): the weighted policies' share. */
  readonly weight: number;
  readonly transport: CallTransport;
  /** Not in backoff after a failed connect, not closed. */
  readonly usable: boolean;
  readonly outstanding: number;
  /** Latency EWMA in ms; 0 before the first call. */
  readonly latencyMs: number;
}

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
  policy: BalancerPolicy,
  all: readonly E[],
  zone: string | undefined,
): Picker<E> {
  if (policy === "ring_hash") return ringHash(all, zone);
  if (policy === "weighted_round_robin") return weightedRoundRobin(all, zone);
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

/**
 * Smooth weighted round robin (each pick adds every candidate's weight to its credit and takes the
 * one with the most, which pays the total back): shares follow the weights, interleaved.
 */
function weightedRoundRobin<E extends Endpoint>(all: readonly E[], zone: string | undefined): Picker<E> {
  const credit = new Map<E, number>();
  return (_req, exclude) => {
    const list = candidates(all, exclude, zone);
    let best: E | undefined;
    let bestCredit = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (const e of list) {
      const c = (credit.get(e) ?? 0) + e.weight;
      credit.set(e, c);
      total += e.weight;
      if (c > bestCredit) {
        best = e;
        bestCredit = c;
      }
    }
    if (best !== undefined) credit.set(best, bestCredit - total);
    return best;
  };
}

/** Points on the ring for an endpoint of weight 100; a weight scales them. */
const pointsPerEndpoint = 100;
/** The ring's size is bounded whatever the weights and the number of endpoints. */
const maxRingPoints = 100_000;

/** FNV-1a over UTF-16 units, then murmur3's finaliser: a 32-bit hash that spreads short keys. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Consistent hashing (Karger et al.) over every endpoint, usable or not, so that a key's place
 * depends only on the set: a key goes to the first endpoint clockwise from its hash that is a
 * candidate. When an endpoint leaves, only the keys it held move. A call without `hashKey` goes to
 * a random candidate.
 */
function ringHash<E extends Endpoint>(all: readonly E[], zone: string | undefined): Picker<E> {
  const totalWeight = all.reduce((n, e) => n + e.weight, 0);
  const scale = Math.min(pointsPerEndpoint / 100, maxRingPoints / Math.max(1, totalWeight));
  const ring: { at: number; e: E }[] = [];
  for (const e of all) {
    const n = Math.max(1, Math.round(e.weight * scale));
    for (let i = 0; i < n; i++) ring.push({ at: hash32(`${e.address}#${i}`), e });
  }
  ring.sort((x, y) => x.at - y.at);
  const allUsable = zone === undefined && all.every((e) => e.usable);
  return (req, exclude) => {
    const list = exclude.size === 0 && allUsable ? all : candidates(all, exclude, zone);
    if (list.length <= 1) return list[0];
    if (req.hashKey === undefined) return list[Math.floor(Math.random() * list.length)];
    const h = hash32(req.hashKey);
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ring[mid] as { at: number }).at < h) lo = mid + 1;
      else hi = mid;
    }
    if (list === all) return (ring[lo % ring.length] as { e: E }).e;
    const allowed = new Set(list);
    for (let k = 0; k < ring.length; k++) {
      const e = (ring[(lo + k) % ring.length] as { e: E }).e;
      if (allowed.has(e)) return e;
    }
    return list[0];
  };
}
