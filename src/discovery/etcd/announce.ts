// A server announced in etcd: one key per entry under one etcd lease, the lease kept alive by the
// etcd client, a new lease and the keys put again when etcd says the lease is gone, the lease
// revoked first when the server closes.
import { backoffDelay, defaultBackoff } from "../../client/channel.js";
import type { Announcement } from "../announce.js";
import type { Entry } from "../registry/service.js";
import { type EtcdTarget, entryKey, openEtcd } from "./etcd.js";

type Lease = ReturnType<import("etcd3").Etcd3["lease"]>;

/** Registers `entries` in etcd under one lease of `ttlMs` (whole seconds, at least 2) and keeps them there. */
export function etcdAnnounce(target: EtcdTarget, entries: readonly Entry[], ttlMs: number): Announcement {
  // etcd grants nothing shorter than its election timeout allows (about 2 s with default settings).
  const ttlSeconds = Math.max(2, Math.ceil(ttlMs / 1000));
  const opening = openEtcd(target.hosts);
  opening.catch(() => {}); // reported by each registration attempt
  let lease: Lease | undefined;
  let leaseId: string | undefined;
  let failures = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: Promise<void> | undefined;
  let markRegistered: () => void = () => {};
  const registered = new Promise<void>((resolve) => {
    markRegistered = resolve;
  });

  const schedule = (ms: number) => {
    if (stopped || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      inflight = register();
    }, ms);
    (timer as { unref?: () => void }).unref?.();
  };

  const register = async () => {
    let attempt: Lease | undefined;
    let lost = false;
    try {
      const etcd = await opening;
      if (stopped) return;
      attempt = etcd.lease(ttlSeconds, { autoKeepAlive: true });
      const mine = attempt;
      mine.on("lost", () => {
        lost = true;
        if (lease !== mine) return;
        // etcd expired or revoked the lease (or the client could not renew it for two TTLs): register anew.
        lease = undefined;
        leaseId = undefined;
        schedule(0);
      });
      const id = await mine.grant();
      await Promise.all(
        entries.map((e) => mine.put(entryKey(target.prefix, e.service, e.address)).value(JSON.stringify(e))),
      );
      if (lost) throw new Error("the lease was lost while its keys were put");
      if (stopped) {
        await mine.revoke({ deadline: Date.now() + 2_000 }).catch(() => {});
        return;
      }
      lease = mine;
      leaseId = id;
      failures = 0;
      markRegistered();
    } catch {
      attempt?.release(); // it expires on its own if it was granted
      failures++;
      schedule(backoffDelay(failures, { ...defaultBackoff, maxMs: Math.max(1_000, (ttlSeconds * 1000) / 3) }));
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      // A registration under way finishes first (it revokes what it made, seeing `stopped`); bounded.
      let bound: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([inflight, new Promise((r) => (bound = setTimeout(r, 2_000)))]);
      clearTimeout(bound);
      const held = lease;
      lease = undefined;
      leaseId = undefined;
      if (held !== undefined) await held.revoke({ deadline: Date.now() + 2_000 }).catch(() => held.release());
      const etcd = await opening.catch(() => undefined);
      etcd?.close();
    })();
    return stopping;
  };
  inflight = register();
  return {
    get leaseId() {
      return leaseId;
    },
    registered,
    stop,
  };
}
