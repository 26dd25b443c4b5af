import { readFileSync } from "node:fs";
import { stdout } from "node:process";
import { parseArgs } from "node:util";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import type { MethodDescriptor } from "../core/service.js";
import { callOnce, type PmapList, Portmap2, portmapPort, programNames } from "../protocol/oncrpc/rpcbind.js";
import { connect } from "../transport/tcp.js";
import type { Command } from "./main.js";

export const rpcinfoCommand: Command = {
  name: "rpcinfo",
  summary: "list what a host's port mapper has registered, as rpcinfo -p does",
  help: `usage: farcall rpcinfo [-p] [host[:port]]

Asks the port mapper of host (default 127.0.0.1, port 111) for its mappings (version 2 DUMP, over
TCP) and prints them in rpcinfo -p's columns: program, version, protocol, port and service name.

options:
  -p          list the mappings (the only listing there is; accepted as rpcinfo takes it)
  -h, --help  this text
`,
  async run(args) {
    const { positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { p: { type: "boolean", short: "p" } },
    });
    if (positionals.length > 1)
      throw new RpcError(Code.InvalidArgument, "rpcinfo takes one host (farcall rpcinfo --help)");
    const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(positionals[0] ?? "127.0.0.1");
    if (m === null) throw new RpcError(Code.InvalidArgument, `not a host: ${positionals[0]}`);
    const host = m[1] as string;
    const port = m[2] === undefined ? portmapPort : Number(m[2]);
    const dump = Portmap2.methods.get("PMAPPROC_DUMP") as MethodDescriptor;
    let list = await callOnce<PmapList>(() => connect(`tcp://${host}:${port}`, 5_000), dump, undefined);
    const names = serviceNames();
    const rows = ["   program vers proto   port  service"];
    for (; list !== null; list = list.next) {
      const { prog, vers, prot, port: p } = list.map;
      const proto = prot === 6 ? "tcp" : prot === 17 ? "udp" : String(prot);
      rows.push(
        `${String(prog).padStart(10)}${String(vers).padStart(5)}${proto.padStart(6)}${String(p).padStart(7)}  ${names.get(prog) ?? ""}`.trimEnd(),
      );
    }
    stdout.write(`${rows.join("\n")}\n`);
    return 0;
  },
};

/** Program names from /etc/rpc where the host has it, else the few well-known ones. */
function serviceNames(): Map<number, string> {
  const names = new Map(Object.entries(programNames).map(([k, v]) => [Number(k), v]));
  try {
    for (const line of readFileSync("/etc/rpc", "utf8").split("\n")) {
      const m = /^([A-Za-z0-9_.-]+)\s+(\d+)/.exec(line);
      if (m !== null) names.set(Number(m[2]), m[1] as string);
    }
  } catch {
    // no /etc/rpc: the built-in names
  }
  return names;
}
