// The host's port mapper (program 100000, RFC 1833): version 2's mappings by protocol number and
// port, versions 3 and 4's by netid and universal address. A server registers what it serves
// (SET) and takes it back (UNSET); a client asks where a program version listens (GETPORT).
import { type XdrType, xdr } from "../../codec/xdr/types.js";
import { Code } from "../../core/code.js";
import { defaultLimits } from "../../core/limits.js";
import { RpcError } from "../../core/rpc-error.js";
import { defineService, type MethodDescriptor, unary } from "../../core/service.js";
import type { AttachableStream } from "../protocol.js";
import { OncClientSession, recordCarrier } from "./client.js";

export const portmapProgram = 100000;
export const portmapPort = 111;
export const ipprotoTcp = 6;
export const ipprotoUdp = 17;

export interface Mapping {
  prog: number;
  vers: number;
  prot: number;
  port: number;
}
export interface Rpcb {
  r_prog: number;
  r_vers: number;
  r_netid: string;
  r_addr: string;
  r_owner: string;
}

export const xdrMapping: XdrType = xdr.struct("mapping", [
  ["prog", xdr.uint],
  ["vers", xdr.uint],
  ["prot", xdr.uint],
  ["port", xdr.uint],
]);
const pmaplist: XdrType = xdr.struct("pmaplist", [
  ["map", xdrMapping],
  ["next", xdr.optional(xdr.lazy(() => pmaplist))],
]);
export const xdrPmaplist: XdrType = xdr.optional(pmaplist);
export const xdrRpcb: XdrType = xdr.struct("rpcb", [
  ["r_prog", xdr.uint],
  ["r_vers", xdr.uint],
  ["r_netid", xdr.string()],
  ["r_addr", xdr.string()],
  ["r_owner", xdr.string()],
]);
const rpList: XdrType = xdr.struct("rp__list", [
  ["rpcb_map", xdrRpcb],
  ["rpcb_next", xdr.optional(xdr.lazy(() => rpList))],
]);
export const xdrRpcbList: XdrType = xdr.optional(rpList);

const m = <I, O>(version: number, id: number, input: XdrType, output: XdrType) =>
  unary<I, O>({ program: portmapProgram, version, id, wire: { input, output } });

/** Port mapper version 2 (RFC 1833 §3). */
export const Portmap2 = defineService("PMAP_PROG.PMAP_VERS", {
  PMAPPROC_NULL: m<void, void>(2, 0, xdr.void, xdr.void),
  PMAPPROC_SET: m<Mapping, boolean>(2, 1, xdrMapping, xdr.bool),
  PMAPPROC_UNSET: m<Mapping, boolean>(2, 2, xdrMapping, xdr.bool),
  PMAPPROC_GETPORT: m<Mapping, number>(2, 3, xdrMapping, xdr.uint),
  PMAPPROC_DUMP: m<void, PmapList>(2, 4, xdr.void, xdrPmaplist),
});
export type PmapList = { map: Mapping; next: PmapList } | null;

export type RpcbList = { rpcb_map: Rpcb; rpcb_next: RpcbList } | null;

export interface Netbuf {
  maxlen: number;
  buf: Uint8Array;
}
export const xdrNetbuf: XdrType = xdr.struct("netbuf", [
  ["maxlen", xdr.uint],
  ["buf", xdr.varOpaque()],
]);
export interface RpcbEntry {
  r_maddr: string;
  r_nc_netid: string;
  r_nc_semantics: number;
  r_nc_protofmly: string;
  r_nc_proto: string;
}
export type RpcbEntryList = { rpcb_entry_map: RpcbEntry; rpcb_entry_next: RpcbEntryList } | null;
const rpcbEntryList: XdrType = xdr.struct("rpcb_entry_list", [
  [
    "rpcb_entry_map",
    xdr.struct("rpcb_entry", [
      ["r_maddr", xdr.string()],
      ["r_nc_netid", xdr.string()],
      ["r_nc_semantics", xdr.uint],
      ["r_nc_protofmly", xdr.string()],
      ["r_nc_proto", xdr.string()],
    ]),
  ],
  ["rpcb_entry_next", xdr.optional(xdr.lazy(() => rpcbEntryList))],
]);
/** Procedures counted per version by GETSTAT (`RPCBSTAT_HIGHPROC`). */
export const statProcs = 13;
export type RpcbsAddrList = {
  prog: number;
  vers: number;
  success: number;
  failure: number;
  netid: string;
  next: RpcbsAddrList;
} | null;
export interface RpcbStat {
  info: number[];
  setinfo: number;
  unsetinfo: number;
  addrinfo: RpcbsAddrList;
  rmtinfo: null;
}
const addrList: XdrType = xdr.struct("rpcbs_addrlist", [
  ["prog", xdr.uint],
  ["vers", xdr.uint],
  ["success", xdr.int],
  ["failure", xdr.int],
  ["netid", xdr.string()],
  ["next", xdr.optional(xdr.lazy(() => addrList))],
]);
const rmtCallList: XdrType = xdr.struct("rpcbs_rmtcalllist", [
  ["prog", xdr.uint],
  ["vers", xdr.uint],
  ["proc", xdr.uint],
  ["success", xdr.int],
  ["failure", xdr.int],
  ["indirect", xdr.int],
  ["netid", xdr.string()],
  ["next", xdr.optional(xdr.lazy(() => rmtCallList))],
]);
/** GETSTAT's result: one `rpcb_stat` for each of versions 2, 3 and 4 (RFC 1833 §2.1). */
export const xdrStatByVers: XdrType = xdr.array(
  xdr.struct("rpcb_stat", [
    ["info", xdr.array(xdr.int, statProcs)],
    ["setinfo", xdr.int],
    ["unsetinfo", xdr.int],
    ["addrinfo", xdr.optional(addrList)],
    ["rmtinfo", xdr.optional(rmtCallList)],
  ]),
  3,
);

/** rpcbind version 3 (RFC 1833 §2.2), CALLIT left out. */
export const Rpcbind3 = defineService("RPCBPROG.RPCBVERS", {
  RPCBPROC_NULL: m<void, void>(3, 0, xdr.void, xdr.void),
  RPCBPROC_SET: m<Rpcb, boolean>(3, 1, xdrRpcb, xdr.bool),
  RPCBPROC_UNSET: m<Rpcb, boolean>(3, 2, xdrRpcb, xdr.bool),
  RPCBPROC_GETADDR: m<Rpcb, string>(3, 3, xdrRpcb, xdr.string()),
  RPCBPROC_DUMP: m<void, RpcbList>(3, 4, xdr.void, xdrRpcbList),
  RPCBPROC_GETTIME: m<void, number>(3, 6, xdr.void, xdr.uint),
  RPCBPROC_UADDR2TADDR: m<string, Netbuf>(3, 7, xdr.string(), xdrNetbuf),
  RPCBPROC_TADDR2UADDR: m<Netbuf, string>(3, 8, xdrNetbuf, xdr.string()),
});

/** rpcbind version 4 (RFC 1833 §2.2), BCAST and INDIRECT left out. */
export const Rpcbind4 = defineService("RPCBPROG.RPCBVERS4", {
  RPCBPROC_NULL: m<void, void>(4, 0, xdr.void, xdr.void),
  RPCBPROC_SET: m<Rpcb, boolean>(4, 1, xdrRpcb, xdr.bool),
  RPCBPROC_UNSET: m<Rpcb, boolean>(4, 2, xdrRpcb, xdr.bool),
  RPCBPROC_GETADDR: m<Rpcb, string>(4, 3, xdrRpcb, xdr.string()),
  RPCBPROC_DUMP: m<void, RpcbList>(4, 4, xdr.void, xdrRpcbList),
  RPCBPROC_GETTIME: m<void, number>(4, 6, xdr.void, xdr.uint),
  RPCBPROC_UADDR2TADDR: m<string, Netbuf>(4, 7, xdr.string(), xdrNetbuf),
  RPCBPROC_TADDR2UADDR: m<Netbuf, string>(4, 8, xdrNetbuf, xdr.string()),
  RPCBPROC_GETVERSADDR: m<Rpcb, string>(4, 9, xdrRpcb, xdr.string()),
  RPCBPROC_GETADDRLIST: m<Rpcb, RpcbEntryList>(4, 11, xdrRpcb, xdr.optional(rpcbEntryList)),
  RPCBPROC_GETSTAT: m<void, RpcbStat[]>(4, 12, xdr.void, xdrStatByVers),
});

/** A universal address (RFC 5665 §5.2.3.3 for IPv4, §5.2.3.4 for IPv6): `h1.h2.h3.h4.p1.p2`. */
export function universalAddress(host: string, port: number): string {
  return `${host}.${port >> 8}.${port & 0xff}`;
}

/** The host and port of a universal address. @throws RpcError `invalid_argument` when it is not one. */
export function parseUniversalAddress(uaddr: string): { host: string; port: number } {
  const m = /^(.+)\.(\d{1,3})\.(\d{1,3})$/.exec(uaddr);
  const hi = Number(m?.[2]);
  const lo = Number(m?.[3]);
  if (m === null || hi > 255 || lo > 255)
    throw new RpcError(Code.InvalidArgument, `not a universal address: ${JSON.stringify(uaddr)}`);
  return { host: m[1] as string, port: (hi << 8) | lo };
}

/** rpcinfo's names for the well-known programs (its `/etc/rpc`), for listings. */
export const programNames: Readonly<Record<number, string>> = Object.freeze({
  100000: "portmapper",
  100003: "nfs",
  100005: "mountd",
  100021: "nlockmgr",
  100024: "status",
});

/** Opens a connection for one exchange with a port mapper. */
export type OpenStream = () => Promise<AttachableStream>;

/** One call over a fresh TCP connection, which is closed after it (talking to a port mapper). */
export async function callOnce<O>(
  open: OpenStream,
  method: MethodDescriptor,
  input: unknown,
  timeoutMs = 5_000,
): Promise<O> {
  const stream = await open();
  const session = new OncClientSession(
    (self) => recordCarrier(stream, defaultLimits, self),
    {},
    () => {},
  );
  try {
    const { output } = await session.call(method, input, { deadline: Date.now() + timeoutMs });
    return output as O;
  } finally {
    session.shutdown();
  }
}

const netids = [
  ["tcp", ipprotoTcp],
  ["udp", ipprotoUdp],
] as const;

/**
 * Registers every program version the server serves with the local rpcbind (version 4 SET with
 * netid and universal address, else version 2 SET), one entry per transport; resolves to the
 * function that takes them back (UNSET).
 * @throws RpcError `unavailable` when no rpcbind answers, `already_exists` when it refuses a SET.
 */
export async function registerWithRpcbind(
  open: OpenStream,
  programs: readonly (readonly [number, number])[],
  where: { host: string; port: number; udp: boolean },
): Promise<() => Promise<void>> {
  const host = where.host === "::" || where.host === "0.0.0.0" || where.host.includes(":") ? "0.0.0.0" : where.host;
  const entries = programs.flatMap(([prog, vers]) =>
    netids.filter(([netid]) => netid === "tcp" || where.udp).map(([netid, prot]) => ({ prog, vers, netid, prot })),
  );
  let v4 = true;
  const set = async (e: (typeof entries)[number], on: boolean): Promise<boolean> => {
    if (v4) {
      const rpcb: Rpcb = {
        r_prog: e.prog,
        r_vers: e.vers,
        r_netid: e.netid,
        r_addr: universalAddress(host, where.port),
        r_owner: "farcall",
      };
      try {
        return await callOnce<boolean>(
          open,
          Rpcbind4.methods.get(on ? "RPCBPROC_SET" : "RPCBPROC_UNSET") as MethodDescriptor,
          rpcb,
        );
      } catch (err) {
        if (!(err instanceof RpcError && err.code === Code.Unimplemented)) throw err;
        v4 = false; // a port mapper of version 2 only
      }
    }
    const mapping: Mapping = { prog: e.prog, vers: e.vers, prot: e.prot, port: on ? where.port : 0 };
    return callOnce<boolean>(
      open,
      Portmap2.methods.get(on ? "PMAPPROC_SET" : "PMAPPROC_UNSET") as MethodDescriptor,
      mapping,
    );
  };
  const done: typeof entries = [];
  const unregister = async () => {
    for (const e of done.splice(0)) await set(e, false).catch(() => false);
  };
  try {
    for (const e of entries) {
      // A stale entry of an earlier run would make SET fail: take it back first, as rpcgen's mains do.
      await set(e, false);
      if (!(await set(e, true))) {
        throw new RpcError(
          Code.AlreadyExists,
          `rpcbind refused to register program ${e.prog} version ${e.vers} (${e.netid})`,
        );
      }
      done.push(e);
    }
  } catch (err) {
    await unregister();
    throw RpcError.from(err, Code.Unavailable);
  }
  return unregister;
}

/**
 * Asks a host's port mapper where a program version listens over TCP or UDP (version 2
 * GETPORT, which every port mapper answers). @throws RpcError `not_found` when it is not registered.
 */
export async function lookupPort(
  open: OpenStream,
  prog: number,
  vers: number,
  proto: "tcp" | "udp",
  timeoutMs?: number,
): Promise<number> {
  const port = await callOnce<number>(
    open,
    Portmap2.methods.get("PMAPPROC_GETPORT") as MethodDescriptor,
    { prog, vers, prot: proto === "tcp" ? ipprotoTcp : ipprotoUdp, port: 0 },
    timeoutMs,
  );
  if (port === 0)
    throw new RpcError(
      Code.NotFound,
      `program ${prog} version ${vers} is not registered for ${proto} with the port mapper`,
    );
  return port;
}
