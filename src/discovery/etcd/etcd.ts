// etcd as the registry's engine (docs/cluster.md, "etcd"): the `etcd://` address forms, the key
// layout, and the etcd client, loaded on first use so that farcall needs the `etcd3` package only
// where an `etcd://` address is used.
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { checkEntry, type Entry, serviceName } from "../registry/service.js";
import { isVersion } from "../registry/store.js";

/** An `etcd://` address, taken apart. */
export interface EtcdTarget {
  /** The members' client addresses, `HOST:PORT`. */
  readonly hosts: readonly string[];
  /** The key prefix every farcall key lives under; default `farcall/`. */
  readonly prefix: string;
  /** The service a client resolves (empty in a server's announce address). */
  readonly service: string;
  readonly version: string | undefined;
}

const hostPattern = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

/**
 * Reads `etcd://HOST:PORT[,HOST:PORT…]/Service[?version=RANGE][&prefix=P]` (a client's) or, with
 * `withService` false, `etcd://HOST:PORT[,HOST:PORT…][?prefix=P]` (a server's announce address).
 * @throws RpcError `invalid_argument` when it is not one
 */
export function parseEtcdAddress(address: string, withService = true): EtcdTarget {
  const bad = (why: string) => new RpcError(Code.InvalidArgument, `${JSON.stringify(address)}: ${why}`);
  // Not `new URL`: an authority of several host:port pairs is not a URL's.
  const m = /^etcd:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(address);
  if (m === null) throw bad("not an etcd:// address");
  const hosts = (m[1] as string).split(",");
  for (const h of hosts) if (!hostPattern.test(h)) throw bad(`${JSON.stringify(h)} is not HOST:PORT`);
  const query = new URLSearchParams(m[3] ?? "");
  const prefix = query.get("prefix") ?? "farcall/";
  if (prefix.length > 256) throw bad("the prefix is longer than 256 characters");
  const path = decodeURIComponent((m[2] ?? "").replace(/^\//, ""));
  const version = query.get("version") ?? undefined;
  if (!withService) {
    if (path !== "") throw bad("a server's etcd address names no service");
    return { hosts, prefix, service: "", version: undefined };
  }
  let service: string;
  try {
    service = serviceName(path);
  } catch {
    throw bad("the path must be a service name");
  }
  return { hosts, prefix, service, version };
}

/** Most entries one service may have in a resolver's view; keys beyond it are ignored. */
export const maxEtcdEntries = 10_000;

/** The longest value read as an entry; longer ones are ignored. */
const maxEntryBytes = 64 * 1024;

export const utf8 = new TextDecoder();

/** An entry stored in etcd, or undefined when the value is not one for `service` (any service when undefined). */
export function readEntry(value: Uint8Array | undefined, service: string | undefined): Entry | undefined {
  if (value === undefined || value.length > maxEntryBytes) return undefined;
  try {
    const e = checkEntry(JSON.parse(utf8.decode(value)), isVersion);
    return service === undefined || e.service === service ? e : undefined;
  } catch {
    return undefined;
  }
}

/** Where a service's entries live: one key per address under it. */
export function servicePrefix(prefix: string, service: string): string {
  return `${prefix}services/${service}/`;
}

/** The key of one entry. */
export function entryKey(prefix: string, service: string, address: string): string {
  return servicePrefix(prefix, service) + encodeURIComponent(address);
}

/** The part of the `etcd3` package farcall uses (kept out of the public types). */
export type Etcd3Client = import("etcd3").Etcd3;

/** Opens an etcd client for `hosts`; fails with `failed_precondition` when the `etcd3` package is missing. */
export async function openEtcd(hosts: readonly string[]): Promise<Etcd3Client> {
  let etcd3: typeof import("etcd3");
  try {
    etcd3 = await import("etcd3");
  } catch (err) {
    throw new RpcError(
      Code.FailedPrecondition,
      `etcd:// needs the etcd3 package (npm install etcd3): ${(err as Error).message}`,
    );
  }
  return new etcd3.Etcd3({
    hosts: hosts.map((h) => `http://${h}`),
    dialTimeout: 5_000,
    // Unary calls are bounded; streams (watch, keep-alive) live as long as they are wanted.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 5_000 }),
    // A watch whose stream broke reconnects within 2 s of etcd's return (the package's default waits up to 30 s).
    faultHandling: { watchBackoff: watchBackoff() },
  });
}

interface Backoff {
  readonly duration: number;
  next(): Backoff;
}

/** 100 ms doubling to 2 s, ±20%; the client starts every reconnect series from `next()`. */
function watchBackoff(): Backoff {
  const step = (n: number): Backoff => ({
    duration: Math.round(Math.min(2_000, 100 * 2 ** n) * (0.8 + 0.4 * Math.random())),
    next: () => step(n + 1),
  });
  return { duration: 0, next: () => step(0) };
}

/** An etcd error as an `unavailable` RpcError naming what failed. */
export function etcdError(what: string, err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  return new RpcError(Code.Unavailable, `etcd ${what}: ${(err as Error)?.message ?? String(err)}`);
}

/** What `farcall registry ls etcd://…` prints: every entry under the prefix, with its lease (hex). */
export async function listEtcd(
  target: EtcdTarget,
): Promise<{ revision: string; entries: { lease: string; entry: Entry }[] }> {
  const etcd = await openEtcd(target.hosts);
  try {
    const read = await etcd.getAll().prefix(`${target.prefix}services/`).exec();
    const entries: { lease: string; entry: Entry }[] = [];
    for (const kv of read.kvs) {
      const entry = readEntry(kv.value, undefined);
      if (entry !== undefined) entries.push({ lease: BigInt(kv.lease).toString(16), entry });
    }
    return { revision: read.header.revision, entries };
  } catch (err) {
    throw etcdError("read", err);
  } finally {
    etcd.close();
  }
}
