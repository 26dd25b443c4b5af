// A server announced in a registry: its services registered under one lease, kept alive, registered
// again when the registry lost it, deregistered first when the server closes.
import { backoffDelay, defaultBackoff } from "../../client/channel.js";
import type { ClientOptions } from "../../client/client.js";
import { dialClient } from "../../client/connect.js";
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Server } from "../../server/server.js";
import { type Entry, RegistryService } from "./service.js";

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
  /** The lease's TTL; default 10,000 ms. It is renewed every third of it. */
  ttlMs?: number;
  /** How the server reaches the registry (TLS, token). */
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
 * Registers `server`'s services in the registry at `registryAddress` (`tcp://HOST:PORT`) and keeps
 * them there; a registry that is down or restarted is retried with backoff and registered with
 * anew. Call it after `server.listen`.
 * @throws TypeError when the server listens nowhere and no `address` is given
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
  const ttlRequested = options.ttlMs ?? 10_000;
  const client = dialClient(registryAddress, options.client);
  const registry = client.service(RegistryService);
  let leaseId: string | undefined;
  let ttlMs = ttlRequested;
  let failures = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let markRegistered: () => void = () => {};
  const registered = new Promise<void>((resolve) => {
    markRegistered = resolve;
  });

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    (timer as { unref?: () => void }).unref?.();
  };
  const tick = async () => {
    try {
      if (leaseId === undefined) {
        const lease = await registry.register({ entries, ttlMs: ttlRequested }, { timeoutMs: 5_000 });
        if (stopped) {
          await registry.deregister({ leaseId: lease.leaseId }, { timeoutMs: 2_000 }).catch(() => {});
          return;
        }
        leaseId = lease.leaseId;
        ttlMs = lease.ttlMs;
        markRegistered();
      } else {
        await registry.keepAlive({ leaseId }, { timeoutMs: Math.max(1_000, ttlMs / 3) });
      }
      failures = 0;
      schedule(ttlMs / 3);
    } catch (err) {
      const error = RpcError.from(err, Code.Unavailable);
      if (error.code === Code.NotFound) {
        leaseId = undefined; // the registry expired or lost the lease: register again now
        schedule(0);
        return;
      }
      failures++;
      schedule(Math.min(ttlMs / 3, backoffDelay(failures, defaultBackoff)));
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      const id = leaseId;
      leaseId = undefined;
      if (id !== undefined) await registry.deregister({ leaseId: id }, { timeoutMs: 2_000 }).catch(() => {});
      await client.close();
    })();
    return stopping;
  };
  server.onClosing(stop);
  void tick();
  return {
    get leaseId() {
      return leaseId;
    },
    registered,
    stop,
  };
}
