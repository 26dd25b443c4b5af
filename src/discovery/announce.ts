// A server announced under its service names: in an embedded registry (`tcp://…`, `tls://…`) or in
// etcd (`etcd://…`). Both engines register the same entries under a lease with a TTL, keep it alive,
// register again when the lease is lost, and deregister first when the server closes.
import type { ClientOptions } from "../client/client.js";
import type { Server } from "../server/server.js";
import { etcdAnnounce } from "./etcd/announce.js";
import { parseEtcdAddress } from "./etcd/etcd.js";
import { registryAnnounce } from "./registry/announce.js";
import type { Entry } from "./registry/service.js";

/** Options for {@link announce}. */
export interface AnnounceOptions {
  /** The address clients dial; default the server's first listener. */
  address?: string;
  /** The services to register; default every service the server has. */
  services?: readonly string[];
  version?: string;
  zone?: string;
  weight?: number;
  protocols?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
  /** The lease's TTL; default 10,000 ms (etcd: whole seconds, at least 2). It is renewed every third of it. */
  ttlMs?: number;
  /** How the server reaches an embedded registry (TLS, token). */
  client?: ClientOptions;
}

/** A running announcement. */
export interface Announcement {
  /** The lease now, once registered. */
  readonly leaseId: string | undefined;
  /** Resolves at the first successful registration. */
  readonly registered: Promise<void>;
  /** Stops renewing and deregisters (bounded: 2 s). `server.close()` calls it first. */
  stop(): Promise<void>;
}

/**
 * Registers `server`'s services at `registryAddress` and keeps them there: an embedded registry
 * (`tcp://HOST:PORT`, `tls://HOST:PORT`) or etcd (`etcd://HOST:PORT[,HOST:PORT…][?prefix=P]`). A
 * registry that is down or restarted is retried with backoff and registered with anew. Call it after
 * `server.listen`.
 * @throws TypeError when the server listens nowhere and no `address` is given
 * @throws RpcError `invalid_argument` for a malformed `etcd://` address
 */
export function announce(server: Server, registryAddress: string, options: AnnounceOptions = {}): Announcement {
  const address = options.address ?? server.addresses[0];
  if (address === undefined)
    throw new TypeError("announce: the server listens nowhere; call listen first or give address");
  const services = options.services ?? [...new Set(server.methods().map((m) => m.slice(0, m.indexOf("/"))))];
  const entries: Entry[] = services.map((service) => {
    const e: { -readonly [K in keyof Entry]: Entry[K] } = { service, address };
    if (options.version !== undefined) e.version = options.version;
    if (options.zone !== undefined) e.zone = options.zone;
    if (options.weight !== undefined) e.weight = options.weight;
    if (options.protocols !== undefined) e.protocols = options.protocols;
    if (options.metadata !== undefined) e.metadata = options.metadata;
    return e;
  });
  const ttlMs = options.ttlMs ?? 10_000;
  const announcement = /^etcd:\/\//i.test(registryAddress)
    ? etcdAnnounce(parseEtcdAddress(registryAddress, false), entries, ttlMs)
    : registryAnnounce(registryAddress, entries, ttlMs, options.client);
  server.onClosing(announcement.stop);
  return announcement;
}
