// `registry://HOST:PORT/Service[?version=RANGE]`: a resolver that watches a name in an embedded registry.
import { backoffDelay, defaultBackoff } from "../../client/channel.js";
import type { ClientOptions } from "../../client/client.js";
import { dialClient } from "../../client/connect.js";
import type { Resolver } from "../../client/resolver.js";
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { RegistryService } from "./service.js";
import { versionMatches } from "./store.js";

/** A `registry://` or `registry+tls://` address, taken apart. */
export interface RegistryTarget {
  /** The registry's own address: `tcp://HOST:PORT` or `tls://HOST:PORT`. */
  readonly registry: string;
  readonly service: string;
  readonly version: string | undefined;
}

/**
 * Reads `registry://HOST:PORT/Service?version=RANGE` (`registry+tls://` for a registry behind TLS).
 * @throws RpcError `invalid_argument` when it is not one
 */
export function parseRegistryAddress(address: string): RegistryTarget {
  const bad = (why: string) => new RpcError(Code.InvalidArgument, `${JSON.stringify(address)}: ${why}`);
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw bad("not an address");
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== "registry" && scheme !== "registry+tls") throw bad("not a registry:// address");
  if (url.host === "") throw bad("no registry host:port");
  const service = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(service)) throw bad("the path must be a service name");
  const version = url.searchParams.get("version") ?? undefined;
  return { registry: `${scheme === "registry" ? "tcp" : "tls"}://${url.host}`, service, version };
}

/**
 * Watches `target.service` in the registry. While the watch is down it keeps what it published
 * and tries again with backoff; a set from a registry that is not warm is published as incomplete.
 */
export function registryResolver(target: RegistryTarget, options: ClientOptions = {}): Resolver {
  const client = dialClient(target.registry, { tls: options.tls, token: options.token, limits: options.limits });
  const registry = client.service(RegistryService);
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    start(listener) {
      let failures = 0;
      const run = async () => {
        try {
          const sets = registry.watch({ service: target.service, version: target.version }, { signal: abort.signal });
          for await (const set of sets) {
            failures = 0;
            const endpoints = set.endpoints
              .filter((e) => versionMatches(e.version, target.version))
              .map((e) => ({ address: e.address, zone: e.zone, weight: e.weight }));
            listener.onUpdate(endpoints, set.warm);
          }
          throw new RpcError(Code.Unavailable, "the registry ended the watch");
        } catch (err) {
          if (abort.signal.aborted) return;
          const error = RpcError.from(err, Code.Unavailable);
          listener.onError(error);
          // A registry that refuses the request itself (a bad range, no such service method) will not change its mind.
          if (error.code === Code.InvalidArgument || error.code === Code.Unimplemented) return;
          failures++;
          timer = setTimeout(run, backoffDelay(failures, { ...defaultBackoff, maxMs: 5_000 }));
        }
      };
      void run();
    },
    close() {
      abort.abort();
      if (timer !== undefined) clearTimeout(timer);
      void client.close();
    },
  };
}
