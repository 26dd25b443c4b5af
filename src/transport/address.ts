/** A parsed endpoint address. */
export type SocketAddress =
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string };

/**
 * Parses `tcp://host:port`, `tcp://[::1]:port`, `unix:///path/to.sock` or a bare `host:port`.
 * @throws TypeError on anything else.
 */
export function parseAddress(address: string): SocketAddress {
  if (address.startsWith("unix://")) {
    const path = address.slice("unix://".length);
    if (path.length === 0) throw new TypeError(`missing socket path in ${JSON.stringify(address)}`);
    return { kind: "unix", path };
  }
  const rest = address.startsWith("tcp://") ? address.slice("tcp://".length) : address;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]]+)):(\d{1,5})\/?$/.exec(rest);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new TypeError(`invalid address ${JSON.stringify(address)}: use tcp://host:port or unix:///path`);
  }
  return { kind: "tcp", host: (m[1] ?? m[2]) as string, port };
}

/** Formats an endpoint back into an address string. */
export function formatAddress(endpoint: SocketAddress): string {
  if (endpoint.kind === "unix") return `unix://${endpoint.path}`;
  const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  return `tcp://${host}:${endpoint.port}`;
}
