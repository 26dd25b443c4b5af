// The package's createClient: one address, a list of them, or a name a registry resolves.
import { Client, type ClientOptions } from "./client/client.js";
import { dialClient, dialTransport } from "./client/connect.js";
import { type Resolver, staticResolver } from "./client/resolver.js";
import { parseEtcdAddress } from "./discovery/etcd/etcd.js";
import { etcdResolver } from "./discovery/etcd/resolver.js";
import { parseRegistryAddress, registryResolver } from "./discovery/registry/resolver.js";
import { Balancer } from "./resilience/balancer.js";

/**
 * Creates a client. The address picks what it reaches (docs/protocols.md, docs/cluster.md):
 * - one server: `tcp://host:port`, `unix:///path`, `tls://…`, `ws(s)://…` (farcall),
 *   `http(s)://…` (HTTP JSON), `jsonrpc+tcp|tls|http|https|ws|wss://…` (JSON-RPC 2.0),
 *   `gorpc+tcp|tls://…` (Go net/rpc), `oncrpc+tcp|udp://…` (ONC RPC), or the schemes of any
 *   protocol in `options.protocols`;
 * - a service by name: `registry://HOST:PORT/Service[?version=RANGE]` (`registry+tls://` for a
 *   registry behind TLS) or `etcd://HOST:PORT[,HOST:PORT…]/Service[?version=RANGE]`, its
 *   replicas watched and calls balanced over them;
 * - a fixed set of replicas: a list of addresses, calls balanced over them.
 * Nothing connects until the first call.
 * @throws RpcError `invalid_argument` for a scheme no protocol owns, or a malformed name
 */
export function createClient(address: string | readonly string[], options: ClientOptions = {}): Client {
  let resolver: Resolver;
  let name: string;
  if (typeof address !== "string") {
    if (address.length === 0) throw new TypeError("createClient: the list of addresses is empty");
    resolver = staticResolver(address);
    name = address.join(",");
  } else if (/^registry(\+tls)?:\/\//i.test(address)) {
    const target = parseRegistryAddress(address);
    resolver = registryResolver(target, options);
    name = address;
  } else if (/^etcd:\/\//i.test(address)) {
    resolver = etcdResolver(parseEtcdAddress(address));
    name = address;
  } else return dialClient(address, options);
  // Each endpoint is a plain client transport; the balancer, not each channel, sends refused calls elsewhere.
  const endpointOptions: ClientOptions = { ...options, retryPolicy: () => false };
  const balancer = new Balancer(resolver, (a) => dialTransport(a, endpointOptions), {
    name,
    policy: options.balancer,
    zone: options.zone,
    maxAttempts: options.maxAttempts,
    outlier: options.outlier,
    hedging: options.hedging,
  });
  return new Client(name, options, balancer);
}
