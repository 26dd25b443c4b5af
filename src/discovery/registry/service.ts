// The registry's wire contract (docs/cluster.md): the service `farcall.Registry`, its messages,
// and the checks every request passes before anything of it is applied.
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { defineService, serverStream, unary } from "../../core/service.js";

/** What one replica offers under a service name. */
export interface Entry {
  readonly service: string;
  /** An address a client dials as it is: `tcp://127.0.0.1:5001`, `tls://host:443`. */
  readonly address: string;
  /** A semver, `1.4.2`; a client asking for a version range is never given an entry outside it. */
  readonly version?: string | undefined;
  /** The protocols the address speaks (`farcall`, `jsonrpc`, …). */
  readonly protocols?: readonly string[] | undefined;
  /** 1–1000, default 100: a weighted policy's share. */
  readonly weight?: number | undefined;
  /** A free label; a client preferring a zone picks its endpoints while any is usable. */
  readonly zone?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/** A service's entries at one revision; `warm` is false while a restarted registry may still miss some. */
export interface EndpointSet {
  readonly revision: number;
  readonly warm: boolean;
  readonly endpoints: readonly Entry[];
}

export interface LeaseView {
  readonly leaseId: string;
  readonly expiresInMs: number;
  readonly entries: readonly Entry[];
}

export const RegistryService = defineService("farcall.Registry", {
  register: unary<{ entries: Entry[]; ttlMs?: number }, { leaseId: string; ttlMs: number }>(),
  keepAlive: unary<{ leaseId: string }, { ttlMs: number }>({ idempotent: true }),
  deregister: unary<{ leaseId: string }, Record<string, never>>({ idempotent: true }),
  resolve: unary<{ service: string; version?: string }, EndpointSet>({ idempotent: true }),
  watch: serverStream<{ service: string; version?: string }, EndpointSet>(),
  list: unary<Record<string, never>, { revision: number; warm: boolean; leases: LeaseView[] }>({ idempotent: true }),
});

/** Longest service name, address, zone, metadata key or value, version or range: 256 bytes as UTF-16 units. */
export const maxTextLength = 256;
export const maxMetadataPairs = 16;
export const maxProtocols = 16;

const bad = (what: string) => new RpcError(Code.InvalidArgument, what);

function text(value: unknown, what: string, optional = false): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== "string" || value.length === 0) throw bad(`${what} must be a non-empty string`);
  if (value.length > maxTextLength) throw bad(`${what} is longer than ${maxTextLength} characters`);
  return value;
}

const servicePattern = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** A service name as `defineService` takes it. */
export function serviceName(value: unknown): string {
  const name = text(value, "service") as string;
  if (!servicePattern.test(name)) throw bad(`invalid service name ${JSON.stringify(name)}`);
  return name;
}

/**
 * A request's entry, checked field by field and copied (unknown fields dropped).
 * @throws RpcError `invalid_argument`, naming the field
 */
export function checkEntry(value: unknown, isVersion: (v: string) => boolean): Entry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("an entry must be an object");
  const e = value as Record<string, unknown>;
  const service = serviceName(e.service);
  const address = text(e.address, "address") as string;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/./.test(address)) throw bad(`address ${JSON.stringify(address)} needs a scheme`);
  const version = text(e.version, "version", true);
  if (version !== undefined && !isVersion(version)) throw bad(`version ${JSON.stringify(version)} is not a semver`);
  const zone = text(e.zone, "zone", true);
  let weight: number | undefined;
  if (e.weight !== undefined) {
    if (!Number.isInteger(e.weight) || (e.weight as number) < 1 || (e.weight as number) > 1000)
      throw bad("weight must be an integer from 1 to 1000");
    weight = e.weight as number;
  }
  let protocols: string[] | undefined;
  if (e.protocols !== undefined) {
    if (!Array.isArray(e.protocols) || e.protocols.length > maxProtocols)
      throw bad(`protocols must be a list of at most ${maxProtocols} names`);
    protocols = e.protocols.map((p) => text(p, "a protocol") as string);
  }
  let metadata: Record<string, string> | undefined;
  if (e.metadata !== undefined) {
    if (typeof e.metadata !== "object" || e.metadata === null || Array.isArray(e.metadata))
      throw bad("metadata must be an object of strings");
    const pairs = Object.entries(e.metadata as Record<string, unknown>);
    if (pairs.length > maxMetadataPairs) throw bad(`metadata has more than ${maxMetadataPairs} entries`);
    metadata = Object.create(null) as Record<string, string>;
    for (const [k, v] of pairs) metadata[text(k, "a metadata key") as string] = text(v, `metadata ${k}`) as string;
  }
  const out: { -readonly [K in keyof Entry]: Entry[K] } = { service, address };
  if (version !== undefined) out.version = version;
  if (protocols !== undefined) out.protocols = protocols;
  if (weight !== undefined) out.weight = weight;
  if (zone !== undefined) out.zone = zone;
  if (metadata !== undefined) out.metadata = metadata;
  return Object.freeze(out);
}

/** An object request (the registry's messages are all objects). */
export function requestObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("the request must be an object");
  return value as Record<string, unknown>;
}

/** A lease id as the registry hands them out. */
export function leaseIdOf(value: unknown): string {
  const id = requestObject(value).leaseId;
  if (typeof id !== "string" || id.length === 0 || id.length > 64) throw bad("leaseId must be a lease id string");
  return id;
}
