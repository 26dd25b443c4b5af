// An embedded port mapper (program 100000 versions 2, 3 and 4, RFC 1833), for hosts where no
// rpcbind runs: `rpcinfo`, rpcgen's programs and farcall's ONC RPC use it as they would rpcbind.
// It is an ordinary farcall server of three services, and counts its calls for GETSTAT (its
// address lists, addrinfo and rmtinfo, stay empty). CALLIT, BCAST and INDIRECT are not served
// (PROC_UNAVAIL): they make a port mapper forward calls, an amplifier for whoever can reach it.
import type { HandlerContext } from "../core/interceptor.js";
import {
  ipprotoTcp,
  ipprotoUdp,
  type Mapping,
  type Netbuf,
  type PmapList,
  Portmap2,
  parseUniversalAddress,
  portmapProgram,
  type Rpcb,
  type RpcbEntry,
  type RpcbEntryList,
  Rpcbind3,
  Rpcbind4,
  type RpcbList,
  type RpcbStat,
  statProcs,
  universalAddress,
} from "../protocol/oncrpc/rpcbind.js";
import { createServer, type Server } from "../server/server.js";

/**
 * Registrations a port mapper holds; a SET beyond it is refused. A host runs tens of RPC services
 * (an NFS server registers about 20 entries), so this is far above real use, and it bounds what a
 * local process looping on SET can make the port mapper hold (each lookup scans the list).
 */
export const maxPortmapEntries = 4096;

/** One registration: what rpcbind version 3 and 4 list. */
export type PortmapEntry = Rpcb;

/** True for a call from this machine: only those may SET and UNSET (as rpcbind requires). */
function isLocal(ctx: HandlerContext): boolean {
  const { transport, address } = ctx.peer;
  if (transport === "unix" || transport === "memory") return true;
  return /^(127\.|::1$|::ffff:127\.)/.test(address);
}

const netidOf = (prot: number) => (prot === ipprotoTcp ? "tcp" : prot === ipprotoUdp ? "udp" : undefined);

/** The registrations and the three versions' handlers over them. */
export class PortmapTable {
  readonly entries: PortmapEntry[] = [];

  private find(prog: number, vers: number, netid: string): PortmapEntry | undefined {
    return this.entries.find((e) => e.r_prog === prog && e.r_vers === vers && e.r_netid === netid);
  }

  set(entry: PortmapEntry): boolean {
    if (this.entries.length >= maxPortmapEntries) return false;
    if (this.find(entry.r_prog, entry.r_vers, entry.r_netid) !== undefined) return false;
    this.entries.push({ ...entry });
    return true;
  }

  /** Removes the version's entries of `netid`, or of every netid when it is empty. */
  unset(prog: number, vers: number, netid: string): boolean {
    const before = this.entries.length;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i] as PortmapEntry;
      if (e.r_prog === prog && e.r_vers === vers && (netid === "" || e.r_netid === netid)) this.entries.splice(i, 1);
    }
    return this.entries.length < before;
  }

  /** GETSTAT's counters, for versions 2, 3 and 4: calls per procedure, successful SETs and UNSETs. */
  readonly stats: RpcbStat[] = [2, 3, 4].map(() => ({
    info: new Array<number>(statProcs).fill(0),
    setinfo: 0,
    unsetinfo: 0,
    addrinfo: null,
    rmtinfo: null,
  }));

  /** Lookups (GETPORT, GETADDR, GETVERSADDR) per version, program, version and netid, for GETSTAT. */
  private lookups(vers: 2 | 3 | 4, prog: number, pvers: number, netid: string, found: boolean): void {
    const stat = this.stats[vers - 2] as RpcbStat;
    let at = stat.addrinfo;
    while (at !== null && !(at.prog === prog && at.vers === pvers && at.netid === netid)) at = at.next;
    if (at === null) {
      at = { prog, vers: pvers, success: 0, failure: 0, netid, next: stat.addrinfo };
      stat.addrinfo = at;
    }
    if (found) at.success++;
    else at.failure++;
  }

  /** Counts a call of `proc` in version `vers`, and a SET or UNSET that changed the table. */
  private counted<T>(vers: 2 | 3 | 4, proc: number, result: T): T {
    const stat = this.stats[vers - 2] as RpcbStat;
    stat.info[proc] = (stat.info[proc] ?? 0) + 1;
    if (result === true && proc === 1) stat.setinfo++;
    if (result === true && proc === 2) stat.unsetinfo++;
    return result;
  }

  readonly v2 = {
    PMAPPROC_NULL: () => this.counted(2, 0, undefined),
    PMAPPROC_SET: (m: Mapping, ctx: HandlerContext) => {
      const netid = netidOf(m.prot);
      const ok =
        isLocal(ctx) &&
        netid !== undefined &&
        this.set({
          r_prog: m.prog,
          r_vers: m.vers,
          r_netid: netid,
          r_addr: universalAddress("0.0.0.0", m.port),
          r_owner: "unknown",
        });
      return this.counted(2, 1, ok);
    },
    // Version 2's UNSET takes back every protocol of the version (RFC 1833 §3.2).
    PMAPPROC_UNSET: (m: Mapping, ctx: HandlerContext) =>
      this.counted(2, 2, isLocal(ctx) && this.unset(m.prog, m.vers, "")),
    PMAPPROC_GETPORT: (m: Mapping) => {
      const netid = netidOf(m.prot);
      const e = netid === undefined ? undefined : this.find(m.prog, m.vers, netid);
      this.lookups(2, m.prog, m.vers, netid ?? String(m.prot), e !== undefined);
      return this.counted(2, 3, e === undefined ? 0 : parseUniversalAddress(e.r_addr).port);
    },
    PMAPPROC_DUMP: (): PmapList => {
      let list: PmapList = null;
      for (const e of [...this.entries].reverse()) {
        const prot = e.r_netid === "tcp" ? ipprotoTcp : e.r_netid === "udp" ? ipprotoUdp : undefined;
        if (prot === undefined) continue;
        list = {
          map: { prog: e.r_prog, vers: e.r_vers, prot, port: parseUniversalAddress(e.r_addr).port },
          next: list,
        };
      }
      return this.counted(2, 4, list);
    },
  };

  /** The handlers of version 3 or 4 (4 has them all; 3 the first ones). */
  versions34(vers: 3 | 4) {
    const getaddr = (r: Rpcb) => {
      const addr = this.find(r.r_prog, r.r_vers, r.r_netid)?.r_addr;
      this.lookups(vers, r.r_prog, r.r_vers, r.r_netid, addr !== undefined);
      return addr ?? "";
    };
    return {
      RPCBPROC_NULL: () => this.counted(vers, 0, undefined),
      RPCBPROC_SET: (r: Rpcb, ctx: HandlerContext) => this.counted(vers, 1, isLocal(ctx) && this.set(r)),
      RPCBPROC_UNSET: (r: Rpcb, ctx: HandlerContext) =>
        this.counted(vers, 2, isLocal(ctx) && this.unset(r.r_prog, r.r_vers, r.r_netid)),
      RPCBPROC_GETADDR: (r: Rpcb) => this.counted(vers, 3, getaddr(r)),
      RPCBPROC_DUMP: (): RpcbList => {
        let list: RpcbList = null;
        for (const e of [...this.entries].reverse()) list = { rpcb_map: { ...e }, rpcb_next: list };
        return this.counted(vers, 4, list);
      },
      RPCBPROC_GETTIME: () => this.counted(vers, 6, Math.floor(Date.now() / 1000) >>> 0),
      RPCBPROC_UADDR2TADDR: (uaddr: string) => this.counted(vers, 7, uaddrToTaddr(uaddr)),
      RPCBPROC_TADDR2UADDR: (taddr: Netbuf) => this.counted(vers, 8, taddrToUaddr(taddr.buf)),
      RPCBPROC_GETVERSADDR: (r: Rpcb) => this.counted(vers, 9, getaddr(r)),
      // The addresses of the caller's protocol family only, as rpcbind answers.
      RPCBPROC_GETADDRLIST: (r: Rpcb, ctx: HandlerContext): RpcbEntryList => {
        let list: RpcbEntryList = null;
        const v6 = ctx.peer.address.includes(":") && !ctx.peer.address.startsWith("::ffff:");
        const family = (netid: string) =>
          netid === "tcp6" || netid === "udp6" ? v6 : netid === "tcp" || netid === "udp" ? !v6 : false;
        const matching = this.entries.filter(
          (e) => e.r_prog === r.r_prog && e.r_vers === r.r_vers && family(e.r_netid),
        );
        for (const e of matching.reverse()) {
          const udp = e.r_netid.startsWith("udp");
          const entry: RpcbEntry = {
            r_maddr: e.r_addr,
            r_nc_netid: e.r_netid,
            r_nc_semantics: udp ? 1 : 3, // NC_TPI_CLTS, NC_TPI_COTS_ORD
            r_nc_protofmly: e.r_netid.endsWith("6") ? "inet6" : "inet",
            r_nc_proto: udp ? "udp" : "tcp",
          };
          list = { rpcb_entry_map: entry, rpcb_entry_next: list };
        }
        return this.counted(vers, 11, list);
      },
      RPCBPROC_GETSTAT: () => this.counted(vers, 12, this.stats),
    };
  }
}

/**
 * An IPv4 universal address as the transport address libtirpc keeps in a netbuf: a Linux
 * `struct sockaddr_in` (family 2 in host byte order, port and address in network order, 8 zero
 * bytes); an empty netbuf for anything else (RFC 1833: the call "fails" with a zero length).
 */
export function uaddrToTaddr(uaddr: string): Netbuf {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(uaddr);
  const parts = m === null ? [] : m.slice(1).map(Number);
  if (parts.length !== 6 || parts.some((n) => n > 255)) return { maxlen: 0, buf: new Uint8Array(0) };
  const [a, b, c, d, p1, p2] = parts as [number, number, number, number, number, number];
  const buf = Uint8Array.of(2, 0, p1, p2, a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0);
  return { maxlen: buf.length, buf };
}

/** A `struct sockaddr_in` netbuf as a universal address; "" for anything else. */
export function taddrToUaddr(buf: Uint8Array): string {
  if (buf.length < 8 || buf[0] !== 2 || buf[1] !== 0) return "";
  return `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}.${buf[2]}.${buf[3]}`;
}

export interface PortmapperOptions {
  /** Where to listen: `tcp://` addresses (each also on UDP) and `unix://` paths. Default 127.0.0.1:111. */
  readonly listen?: readonly string[];
}

export interface Portmapper {
  readonly server: Server;
  readonly table: PortmapTable;
  /** The addresses bound. */
  readonly addresses: readonly string[];
  close(): Promise<void>;
}

/** Starts a port mapper; it registers itself (program 100000, versions 2–4) on its TCP and UDP ports. */
export async function createPortmapper(options: PortmapperOptions = {}): Promise<Portmapper> {
  const table = new PortmapTable();
  const server = createServer()
    .add(Portmap2, table.v2)
    .add(Rpcbind3, table.versions34(3))
    .add(Rpcbind4, table.versions34(4));
  const addresses: string[] = [];
  const own: PortmapEntry[] = [];
  try {
    for (const address of options.listen ?? ["tcp://127.0.0.1:111"]) {
      const tcp = address.startsWith("tcp://");
      const bound = await server.listen(address, { udp: tcp, protocols: ["oncrpc"] });
      addresses.push(bound);
      const entry = (netid: string, r_addr: string) => {
        for (const vers of [4, 3, 2])
          own.push({ r_prog: portmapProgram, r_vers: vers, r_netid: netid, r_addr, r_owner: "superuser" });
      };
      if (!tcp) {
        entry("local", bound.slice("unix://".length));
        continue;
      }
      const host = bound
        .slice("tcp://".length)
        .replace(/:\d+$/, "")
        .replace(/^\[|\]$/g, "");
      const port = Number(bound.split(":").pop());
      const v6 = host.includes(":");
      for (const netid of v6 ? ["tcp6", "udp6"] : ["tcp", "udp"]) {
        entry(netid, v6 ? `${host}.${port >> 8}.${port & 0xff}` : universalAddress(host, port));
      }
    }
    // In rpcbind's order: by transport (tcp6, udp6, tcp, udp, local), each version from 4 down.
    const order = ["tcp6", "udp6", "tcp", "udp", "local"];
    own.sort((a, b) => order.indexOf(a.r_netid) - order.indexOf(b.r_netid));
    for (const e of own) table.set(e);
  } catch (err) {
    await server.close();
    throw err;
  }
  return { server, table, addresses, close: () => server.close({ graceMs: 1_000 }) };
}
