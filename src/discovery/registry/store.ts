// The registry's state: leases, their entries by service, one revision counter, and watchers.
// Everything is in memory and bounded; a restarted registry is refilled by its servers'
// re-registration (docs/cluster.md, "Warm").
import semver from "semver";
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { EndpointSet, Entry, LeaseView } from "./service.js";

/** Bounds of a {@link RegistryStore}; see docs/cluster.md for the reasons. */
export interface RegistryLimits {
  /** Leases held at once; a register beyond it is refused with `resource_exhausted`. Default 10,000. */
  maxLeases: number;
  /** Entries under one lease (a server's services × addresses). Default 64. */
  maxEntriesPerLease: number;
  /** Watches open at once over every connection. Default 10,000. */
  maxWatches: number;
  /** Shortest TTL granted; a shorter request gets this. Default 1,000 ms. */
  minTtlMs: number;
  /**
   * Longest TTL granted; a longer request gets this. It is also how long a restarted registry
   * says it is not warm (every live server has registered again by then). Default 60,000 ms.
   */
  maxTtlMs: number;
  /** TTL of a register that names none. Default 10,000 ms. */
  defaultTtlMs: number;
}

export const defaultRegistryLimits: Readonly<RegistryLimits> = Object.freeze({
  maxLeases: 10_000,
  maxEntriesPerLease: 64,
  maxWatches: 10_000,
  minTtlMs: 1_000,
  maxTtlMs: 60_000,
  defaultTtlMs: 10_000,
});

interface Lease {
  readonly id: string;
  readonly ttlMs: number;
  expiresAt: number;
  readonly entries: readonly Entry[];
}

/** Whether an entry's version is inside a requested range (no range: any entry; a range: only versioned ones). */
export function versionMatches(version: string | undefined, range: string | undefined): boolean {
  if (range === undefined) return true;
  if (version === undefined) return false;
  return semver.satisfies(version, range);
}

/** True for a range `semver` can read (`^1.2`, `>=1 <3`, `1.x`, `1.2.3`). */
export function isRange(range: string): boolean {
  return semver.validRange(range) !== null;
}

/** True for a version `semver` can read (`1.2.3`, `1.2.3-rc.1`). */
export function isVersion(version: string): boolean {
  return semver.valid(version) !== null;
}

type Watcher = (service: string) => void;

/** The sweep timer's shortest period: expiry is exact to this, and a sweep runs at most this often. */
const sweepEveryMs = 100;

/**
 * Leases and entries. Expired leases go at the next sweep (a timer at the earliest expiry, at
 * most every {@link sweepEveryMs}); readers skip entries whose lease has expired meanwhile, so a
 * reader never sees one, and no request costs more than its own service's entries.
 */
export class RegistryStore {
  private readonly leases = new Map<string, Lease>();
  /** Entries by service name, each with its lease. */
  private readonly byService = new Map<string, Map<Entry, Lease>>();
  private readonly watchers = new Set<Watcher>();
  private revisionNow = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly startedAt: number;
  private closed = false;
  readonly limits: RegistryLimits;

  constructor(
    limits: Partial<RegistryLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...defaultRegistryLimits, ...limits };
    this.startedAt = now();
  }

  get revision(): number {
    return this.revisionNow;
  }

  /** False until the longest TTL this store grants has passed since it started. */
  get warm(): boolean {
    return this.msUntilWarm === 0;
  }

  /** How long until {@link warm}; 0 once it is. */
  get msUntilWarm(): number {
    return Math.max(0, this.startedAt + this.limits.maxTtlMs - this.now());
  }

  get watchCount(): number {
    return this.watchers.size;
  }

  register(entries: readonly Entry[], ttlMs: number | undefined): { leaseId: string; ttlMs: number } {
    const { maxLeases, maxEntriesPerLease, minTtlMs, maxTtlMs, defaultTtlMs } = this.limits;
    if (entries.length === 0) throw new RpcError(Code.InvalidArgument, "a lease needs at least one entry");
    if (entries.length > maxEntriesPerLease)
      throw new RpcError(Code.ResourceExhausted, `more than ${maxEntriesPerLease} entries under one lease`);
    if (this.leases.size >= maxLeases)
      throw new RpcError(Code.ResourceExhausted, `the registry holds ${maxLeases} leases, its limit`);
    const ttl = Math.min(maxTtlMs, Math.max(minTtlMs, Math.round(ttlMs ?? defaultTtlMs)));
    const lease: Lease = { id: globalThis.crypto.randomUUID(), ttlMs: ttl, expiresAt: this.now() + ttl, entries };
    this.leases.set(lease.id, lease);
    for (const e of entries) {
      const map = this.byService.get(e.service) ?? new Map<Entry, Lease>();
      this.byService.set(e.service, map);
      map.set(e, lease);
    }
    this.changed(entries);
    this.arm(lease.expiresAt);
    return { leaseId: lease.id, ttlMs: ttl };
  }

  /** @throws RpcError `not_found` for a lease that expired, was deregistered, or never was here */
  keepAlive(leaseId: string): { ttlMs: number } {
    const lease = this.leases.get(leaseId);
    if (lease !== undefined && lease.expiresAt <= this.now()) this.drop([lease]);
    else if (lease !== undefined) {
      lease.expiresAt = this.now() + lease.ttlMs;
      return { ttlMs: lease.ttlMs };
    }
    throw new RpcError(Code.NotFound, `no lease ${leaseId} (expired, or the registry restarted)`);
  }

  /** Removes a lease and its entries; an unknown lease is not an error (the call is idempotent). */
  deregister(leaseId: string): void {
    const lease = this.leases.get(leaseId);
    if (lease !== undefined) this.drop([lease]);
  }

  resolve(service: string, range: string | undefined): EndpointSet {
    const map = this.byService.get(service);
    const now = this.now();
    const endpoints: Entry[] = [];
    for (const [e, lease] of map ?? [])
      if (lease.expiresAt > now && versionMatches(e.version, range)) endpoints.push(e);
    return { revision: this.revisionNow, warm: this.warm, endpoints };
  }

  list(): { revision: number; warm: boolean; leases: LeaseView[] } {
    this.sweep();
    const now = this.now();
    const leases = [...this.leases.values()].map((l) => ({
      leaseId: l.id,
      expiresInMs: Math.max(0, l.expiresAt - now),
      entries: l.entries,
    }));
    return { revision: this.revisionNow, warm: this.warm, leases };
  }

  /**
   * Calls `cb` with the service name after every change to its entries; returns the function that
   * stops it.
   * @throws RpcError `resource_exhausted` beyond `maxWatches`
   */
  watch(cb: Watcher): () => void {
    if (this.watchers.size >= this.limits.maxWatches)
      throw new RpcError(Code.ResourceExhausted, `${this.limits.maxWatches} watches are open, the registry's limit`);
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }

  /** Stops the sweep timer; the store answers nothing afterwards. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.watchers.clear();
  }

  /** Drops the leases that have expired. */
  private sweep(): void {
    const now = this.now();
    const expired = [...this.leases.values()].filter((l) => l.expiresAt <= now);
    if (expired.length > 0) this.drop(expired);
  }

  private drop(leases: readonly Lease[]): void {
    const entries: Entry[] = [];
    for (const lease of leases) {
      this.leases.delete(lease.id);
      for (const e of lease.entries) {
        const map = this.byService.get(e.service);
        map?.delete(e);
        if (map?.size === 0) this.byService.delete(e.service);
        entries.push(e);
      }
    }
    this.changed(entries);
  }

  private changed(entries: readonly Entry[]): void {
    this.revisionNow++;
    const services = new Set(entries.map((e) => e.service));
    for (const w of [...this.watchers]) for (const s of services) w(s);
  }

  /** Arms the sweep timer for `at` unless it fires sooner already. */
  private arm(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(sweepEveryMs, at - this.now() + 1));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.sweep();
    let next = Number.POSITIVE_INFINITY;
    for (const l of this.leases.values()) next = Math.min(next, l.expiresAt);
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}
