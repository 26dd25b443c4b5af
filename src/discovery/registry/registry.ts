// The embedded registry: a farcall server of one service, `farcall.Registry`, over a RegistryStore.
import { Code } from "../../core/code.js";
import type { HandlerContext } from "../../core/interceptor.js";
import { RpcError } from "../../core/rpc-error.js";
import { createServer, type Server, type ServerOptions } from "../../server/server.js";
import {
  checkEntry,
  type EndpointSet,
  leaseIdOf,
  maxTextLength,
  RegistryService,
  requestObject,
  serviceName,
} from "./service.js";
import { isRange, isVersion, type RegistryLimits, RegistryStore } from "./store.js";

/** Options for {@link createRegistry}. */
export interface RegistryOptions {
  /** Bounds on what peers can make the registry hold; see {@link RegistryLimits}. */
  limits?: Partial<RegistryLimits>;
  /**
   * The registry's server options (TLS, `authenticate`/`authorize` to say who may register:
   * by default anyone who can reach it may).
   */
  server?: ServerOptions;
}

/** A running registry: `listen` it, point servers' `announce` and clients' `registry://` at it. */
export interface Registry {
  readonly server: Server;
  readonly store: RegistryStore;
  /** Listens like `Server.listen`; returns the bound address. */
  listen(address: string): Promise<string>;
  readonly addresses: string[];
  /** Ends every watch, then closes the server. */
  close(): Promise<void>;
}

function rangeOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length > maxTextLength || !isRange(value))
    throw new RpcError(Code.InvalidArgument, `version must be a semver range, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Makes an embedded registry (docs/cluster.md): servers register entries under leases, clients
 * resolve and watch service names. Its state is in memory; after a restart servers register
 * again within one TTL, and it says `warm: false` until the longest TTL has passed.
 */
export function createRegistry(options: RegistryOptions = {}): Registry {
  const store = new RegistryStore(options.limits);
  const server = createServer(options.server);
  /** Open watches, ended at close so the server drains at once. */
  const watches = new Set<() => void>();

  server.add(RegistryService, {
    register(req) {
      const r = requestObject(req);
      if (!Array.isArray(r.entries)) throw new RpcError(Code.InvalidArgument, "entries must be a list");
      if (r.entries.length > store.limits.maxEntriesPerLease)
        throw new RpcError(
          Code.ResourceExhausted,
          `more than ${store.limits.maxEntriesPerLease} entries under one lease`,
        );
      if (r.ttlMs !== undefined && !(typeof r.ttlMs === "number" && r.ttlMs > 0))
        throw new RpcError(Code.InvalidArgument, "ttlMs must be a number > 0");
      const entries = r.entries.map((e) => checkEntry(e, isVersion));
      return store.register(entries, r.ttlMs as number | undefined);
    },
    keepAlive: (req) => store.keepAlive(leaseIdOf(req)),
    deregister(req) {
      store.deregister(leaseIdOf(req));
      return {};
    },
    resolve(req) {
      const r = requestObject(req);
      return store.resolve(serviceName(r.service), rangeOf(r.version));
    },
    watch(req, ctx) {
      const r = requestObject(req);
      return watchService(store, serviceName(r.service), rangeOf(r.version), ctx, watches);
    },
    list: () => store.list(),
  });

  return {
    server,
    store,
    listen: (address) => server.listen(address),
    get addresses() {
      return server.addresses;
    },
    async close() {
      for (const end of [...watches]) end();
      store.close();
      await server.close();
    },
  };
}

/**
 * A watch: the service's set now, then after every change to it. Changes that come while the
 * last set is still unsent are folded into the next one, so a slow watcher costs one pending set,
 * never a queue.
 */
async function* watchService(
  store: RegistryStore,
  service: string,
  range: string | undefined,
  ctx: HandlerContext,
  watches: Set<() => void>,
): AsyncGenerator<EndpointSet> {
  let dirty = true;
  let ended = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const unwatch = store.watch((s) => {
    if (s !== service) return;
    dirty = true;
    poke();
  });
  const end = () => {
    ended = true;
    poke();
  };
  watches.add(end);
  ctx.signal.addEventListener("abort", end, { once: true });
  let lastWarm = store.warm;
  // A registry turns warm without a change: the timer tells watchers, whose view then may shrink.
  const warmTimer = lastWarm ? undefined : setTimeout(poke, store.msUntilWarm + 1);
  try {
    while (!ended) {
      if (dirty || store.warm !== lastWarm) {
        dirty = false;
        const set = store.resolve(service, range);
        lastWarm = set.warm;
        yield set;
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    unwatch();
    watches.delete(end);
    ctx.signal.removeEventListener("abort", end);
    if (warmTimer !== undefined) clearTimeout(warmTimer);
  }
}
