import process, { stdout } from "node:process";
import { parseArgs } from "node:util";
import { createClient } from "../connect.js";
import { listEtcd, parseEtcdAddress } from "../discovery/etcd/etcd.js";
import { etcdResolver } from "../discovery/etcd/resolver.js";
import { createRegistry } from "../discovery/registry/registry.js";
import { RegistryService, serviceName } from "../discovery/registry/service.js";
import type { Command } from "./main.js";

const defaultAddress = "tcp://127.0.0.1:4100";

export const registryCommand: Command = {
  name: "registry",
  summary: "run an embedded registry, or list and watch what one holds",
  help: `usage: farcall registry [--listen address]...
       farcall registry ls [address]
       farcall registry watch [address] service

Without a subcommand, runs a registry (docs/cluster.md) until SIGINT or SIGTERM: servers announce
their services there, clients call them by name (registry://HOST:PORT/Service).
"ls" prints every lease and its entries, one JSON line each; "watch" prints a service's set of
endpoints (JSON, one line) now and after every change, until interrupted. Both also read etcd:
the address etcd://HOST:PORT[,HOST:PORT...][?prefix=P] (ls: one line per entry with its lease).

options:
      --listen <address>  where to listen; may be given several times (default ${defaultAddress})
  -h, --help              this text
`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { listen: { type: "string", multiple: true } },
    });
    const [sub, ...rest] = positionals;
    if (sub === "ls") return list(rest[0] ?? defaultAddress);
    if (sub === "watch") {
      const [address, service] = rest.length >= 2 ? rest : [defaultAddress, rest[0]];
      if (service === undefined) throw new TypeError("registry watch: which service?");
      return watch(address as string, service);
    }
    if (sub !== undefined) throw new TypeError(`registry: unknown subcommand ${JSON.stringify(sub)}`);
    const registry = createRegistry();
    for (const a of values.listen ?? [defaultAddress]) {
      stdout.write(`farcall registry listening on ${await registry.listen(a)}\n`);
    }
    await new Promise<void>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
    });
    await registry.close();
    return 0;
  },
};

async function list(address: string): Promise<number> {
  if (/^etcd:\/\//i.test(address)) {
    const { revision, entries } = await listEtcd(parseEtcdAddress(address, false));
    stdout.write(`${JSON.stringify({ revision, entries: entries.length })}\n`);
    for (const e of entries) stdout.write(`${JSON.stringify(e)}\n`);
    return 0;
  }
  const client = createClient(address);
  try {
    const { leases, revision, warm } = await client.service(RegistryService).list({}, { timeoutMs: 5_000 });
    stdout.write(`${JSON.stringify({ revision, warm, leases: leases.length })}\n`);
    for (const lease of leases) stdout.write(`${JSON.stringify(lease)}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

async function watch(address: string, service: string): Promise<number> {
  if (/^etcd:\/\//i.test(address)) return await watchEtcd(address, service);
  const client = createClient(address);
  const abort = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => abort.abort());
  try {
    for await (const set of client.service(RegistryService).watch({ service }, { signal: abort.signal })) {
      stdout.write(`${JSON.stringify(set)}\n`);
    }
    return 0;
  } catch (err) {
    if (abort.signal.aborted) return 0;
    throw err;
  } finally {
    await client.close();
  }
}

async function watchEtcd(address: string, service: string): Promise<number> {
  const resolver = etcdResolver({ ...parseEtcdAddress(address, false), service: serviceName(service) });
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
    resolver.start({
      onUpdate: (endpoints) => stdout.write(`${JSON.stringify({ endpoints })}\n`),
      onError: (err) => process.stderr.write(`farcall registry watch: ${err.message}\n`),
    });
  });
  resolver.close();
  return 0;
}
