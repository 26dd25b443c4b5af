// A server announced in a registry: its services registered under one lease, kept alive, registered
// again when the registry lost it, deregistered first when the server closes.
import { backoffDelay, defaultBackoff } from "../../client/channel.js";
import type { ClientOptions } from "../../client/client.js";
import { dialClient } from "../../client/connect.js";
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Announcement } from "../announce.js";
import { type Entry, RegistryService } from "./service.js";

/**
 * Registers `entries` in the embedded registry at `registryAddress` (`tcp://HOST:PORT`) under one
 * lease and keeps them there; a registry that is down or restarted is retried with backoff and
 * registered with anew.
 */
export function registryAnnounce(
  registryAddress: string,
  entries: readonly Entry[],
  ttlRequested: number,
  clientOptions: ClientOptions | undefined,
): Announcement {
  const client = dialClient(registryAddress, clientOptions);
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
        const lease = await registry.register({ entries: [...entries], ttlMs: ttlRequested }, { timeoutMs: 5_000 });
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
  void tick();
  return {
    get leaseId() {
      return leaseId;
    },
    registered,
    stop,
  };
}
