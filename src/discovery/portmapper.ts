// An embedded port mapper (program 100000 versions 2, 3 and 4, RFC 1833), for hosts where no
// rpcbind runs: `rpcinfo`, rpcgen's programs and farcall's ONC RPC use it as they would rpcbind.
// It is an ordinary farcall server of three services. CALLIT, BCAST and INDIRECT are not served
// (PROC_UNAVAIL): they make a port mapper forward calls, an amplifier for whoever can reach it.
import type { HandlerContext } from "../core/interceptor.js";
import {
  ipprotoTcp,
  ipprotoUdp,
  type Mapping,
  type PmapList,
  Portmap2,
  parseUniversalAddress,
  portmapProgram,
  type Rpcb,
  Rpcbind3,
  Rpcbind4,
  type RpcbList,
  universalAddress,
} from "../protocol/oncrpc/rpcbind.js";
import { createServer, type Server } from "../server/server.js";

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

  readonly v2 = {
    PMAPPROC_NULL: () => {},
    PMAPPROC_SET: (m: Mapping, ctx: HandlerContext) => {
      const netid = netidOf(m.prot);
      if (!isLocal(ctx) || netid === undefined) return false;
      return this.set({
        r_prog: m.prog,
        r_vers: m.vers,
        r_netid: netid,
        r_addr: universalAddress("0.0.0.0", m.port),
        r_owner: "unknown",
      });
    },
    // Version 2's UNSET takes back every protocol of the version (RFC 1833 §3.2).
    PMAPPROC_UNSET: (m: Mapping, ctx: HandlerContext) => isLocal(ctx) && this.unset(m.prog, m.vers, ""),
    PMAPPROC_GETPORT: (m: Mapping) => {
      const netid = netidOf(m.prot);
      const e = netid === undefined ? undefined : this.find(m.prog, m.vers, netid);
      return e === undefined ? 0 : parseUniversalAddress(e.r_addr).port;
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
      return list;
    },
  };

  readonly v34 = {
    RPCBPROC_NULL: () => {},
    RPCBPROC_SET: (r: Rpcb, ctx: HandlerContext) => isLocal(ctx) && this.set(r),
    RPCBPROC_UNSET: (r: Rpcb, ctx: HandlerContext) => isLocal(ctx) && this.unset(r.r_prog, r.r_vers, r.r_netid),
    RPCBPROC_GETADDR: (r: Rpcb) => this.find(r.r_prog, r.r_vers, r.r_netid)?.r_addr ?? "",
    RPCBPROC_DUMP: (): RpcbList => {
      let list: RpcbList = null;
      for (const e of [...this.entries].reverse()) list = { rpcb_map: { ...e }, rpcb_next: list };
      return list;
    },
    RPCBPROC_GETTIME: () => Math.floor(Date.now() / 1000) >>> 0,
  };
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
  const server = createServer().add(Portmap2, table.v2).add(Rpcbind3, table.v34).add(Rpcbind4, table.v34);
  const addresses: string[] = [];
  try {
    for (const address of options.listen ?? ["tcp://127.0.0.1:111"]) {
      const tcp = address.startsWith("tcp://");
      const bound = await server.listen(address, { udp: tcp, protocols: ["oncrpc"] });
      addresses.push(bound);
      if (!tcp) continue;
      const host = bound
        .slice("tcp://".length)
        .replace(/:\d+$/, "")
        .replace(/^\[|\]$/g, "");
      const port = Number(bound.split(":").pop());
      const v4host = host.includes(":") ? "0.0.0.0" : host;
      for (const netid of host.includes(":") ? ["tcp6", "udp6"] : ["tcp", "udp"]) {
        for (const vers of [4, 3, 2]) {
          table.set({
            r_prog: portmapProgram,
            r_vers: vers,
            r_netid: netid,
            r_addr: host.includes(":") ? `::.${port >> 8}.${port & 0xff}` : universalAddress(v4host, port),
            r_owner: "superuser",
          });
        }
      }
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  return { server, table, addresses, close: () => server.close({ graceMs: 1_000 }) };
}
