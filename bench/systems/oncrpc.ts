// ONC RPC: rpcgen's C server (interop/oncrpc/rich_server, built by interop/oncrpc/build.sh when the
// system is served: rpcgen, libtirpc and a C compiler are needed) against farcall's ONC RPC
// server, both driven by the same client, farcall's `oncrpc+tcp://` one, calling rich.x's
// SUM(int, int) of version 1. The C server's CPU is read from /proc, since it is not the child's own.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, createServer, defineService, unary, xdr, xdrWire } from "../../src/index.js";
import type { BenchClient, BenchServer, BenchSystem } from "../system.js";

const Rich = defineService("RICHPROG.RICHVERS", {
  SUM: unary<{ arg1: number; arg2: number }, number>({
    program: 0x20000101,
    version: 1,
    id: 4,
    wire: xdrWire(
      xdr.struct(undefined, [
        ["arg1", xdr.int],
        ["arg2", xdr.int],
      ]),
      xdr.int,
    ),
  }),
});

const unsupported = () => Promise.reject(new Error("ONC RPC systems take the add workload only"));

function client(address: string): Promise<BenchClient> {
  const c = createClient(address.replace(/^tcp:/, "oncrpc+tcp:"));
  const rich = c.service(Rich);
  return Promise.resolve({
    add: (a, b) => rich.SUM({ arg1: a, arg2: b }),
    value: unsupported,
    echo: unsupported,
    close: () => c.close(),
  });
}

/** A loopback port nobody listens on (bound and let go), for a server that takes its port as an argument. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A process's user and system CPU from /proc, in microseconds, as process.cpuUsage() gives them. */
function procCpu(pid: number): NodeJS.CpuUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const tick = 1e6 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  return { user: Number(fields[11]) * tick, system: Number(fields[12]) * tick };
}

export const oncrpcC: BenchSystem = {
  name: "oncrpc-c",
  description: "rpcgen's C server (libtirpc, svc_run) for rich.x, farcall's oncrpc+tcp client",
  workloads: ["add"],
  async serve(): Promise<BenchServer> {
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "farcall-bench-onc-"));
    execFileSync("bash", [join(root, "interop/oncrpc/build.sh"), dir], { stdio: "ignore" });
    const child: ChildProcess = spawn(join(dir, "rich_server"), [String(await freePort())], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening tcp=(\d+)/.exec(out);
        if (m !== null) resolve(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`rich_server exited with ${code}`)));
    });
    return {
      address: `tcp://127.0.0.1:${port}`,
      cpu: () => procCpu(child.pid as number),
      close: async () => {
        child.kill("SIGTERM");
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  connect: client,
};

export const oncrpcFarcall: BenchSystem = {
  name: "oncrpc-farcall",
  description: "farcall's ONC RPC server (XDR, record marking) for rich.x's SUM, the same client",
  workloads: ["add"],
  async serve(): Promise<BenchServer> {
    const server = createServer().add(Rich, { SUM: ({ arg1, arg2 }) => (arg1 + arg2) | 0 });
    const address = await server.listen("tcp://127.0.0.1:0");
    return { address, close: () => server.close({ graceMs: 500 }) };
  },
  connect: client,
};
