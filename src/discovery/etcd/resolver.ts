// `etcd://HOST:PORT[,HOST:PORT…]/Service[?version=RANGE]`: a resolver that reads a service's keys
// from etcd and watches them from the revision it read at. A watch that etcd cancels (its revision
// was compacted away) is replaced by a full read and a new watch; while etcd cannot be reached the
// resolver keeps what it published.
import { backoffDelay, defaultBackoff } from "../../client/channel.js";
import type { ResolvedEndpoint, Resolver } from "../../client/resolver.js";
import type { Entry } from "../registry/service.js";
import { versionMatches } from "../registry/store.js";
import { type EtcdTarget, etcdError, maxEtcdEntries, openEtcd, readEntry, servicePrefix, utf8 } from "./etcd.js";

/** Watches `target.service` in etcd. */
export function etcdResolver(target: EtcdTarget): Resolver {
  const opening = openEtcd(target.hosts);
  opening.catch(() => {}); // reported by the first read
  const prefix = servicePrefix(target.prefix, target.service);
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: import("etcd3").Watcher | undefined;
  return {
    start(listener) {
      const entries = new Map<string, Entry>();
      let failures = 0;
      let published = "";
      const publish = () => {
        const endpoints: ResolvedEndpoint[] = [];
        for (const e of entries.values())
          if (versionMatches(e.version, target.version))
            endpoints.push({ address: e.address, zone: e.zone, weight: e.weight });
        const key = JSON.stringify(endpoints);
        if (key === published) return;
        published = key;
        listener.onUpdate(endpoints, true);
      };
      const apply = (key: string, value: Uint8Array | undefined) => {
        const e = readEntry(value, target.service);
        if (e === undefined) entries.delete(key);
        else if (entries.has(key) || entries.size < maxEtcdEntries) entries.set(key, e);
      };
      const retry = (what: string, err: unknown) => {
        if (closed) return;
        listener.onError(etcdError(what, err));
        failures++;
        timer = setTimeout(sync, backoffDelay(failures, { ...defaultBackoff, maxMs: 5_000 }));
      };
      const sync = async () => {
        timer = undefined;
        try {
          const etcd = await opening;
          if (closed) return;
          const read = await etcd.getAll().prefix(prefix).exec();
          if (closed) return;
          entries.clear();
          for (const kv of read.kvs) apply(utf8.decode(kv.key), kv.value);
          published = "";
          publish();
          const next = (BigInt(read.header.revision) + 1n).toString();
          const w = await etcd.watch().prefix(prefix).startRevision(next).create();
          if (closed) {
            await w.cancel();
            return;
          }
          watcher = w;
          failures = 0;
          w.on("data", (res) => {
            for (const ev of res.events) apply(utf8.decode(ev.kv.key), ev.type === "Put" ? ev.kv.value : undefined);
            publish();
          });
          // The etcd client reconnects the watch by itself and resumes from the last revision it saw.
          w.on("disconnected", (err) => listener.onError(etcdError("watch", err)));
          w.on("error", (err) => {
            // Canceled by etcd (compacted): read everything again.
            if (watcher === w) watcher = undefined;
            void w.cancel().catch(() => {});
            retry("watch", err);
          });
        } catch (err) {
          retry("read", err);
        }
      };
      void sync();
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      const w = watcher;
      watcher = undefined;
      void (async () => {
        await w?.cancel().catch(() => {});
        (await opening.catch(() => undefined))?.close();
      })();
    },
  };
}
