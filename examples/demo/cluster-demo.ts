// The demo's cluster part (docs/cluster.md): an embedded registry in this process, three
// replicas of the demo server as child processes announcing themselves in it, and a client that
// knows only the name. Calls flow while one replica is stopped (SIGTERM: it deregisters, drains,
// exits) and another is killed (SIGKILL); every call is accounted for.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { codeToString, createClient, createRegistry, RpcError } from "../../src/index.js";
import { Arith } from "./services.js";

const serverProgram = fileURLToPath(new URL("./server.js", import.meta.url));

interface Replica {
  child: ChildProcess;
  address: string;
}

/** Starts one demo server process that announces itself at `registry`; resolves once it has. */
function startReplica(registry: string): Promise<Replica> {
  const child = spawn(
    process.execPath,
    [serverProgram, "--port", "0", "--no-udp", "--registry", registry, "--service-version", "1.0.0"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    let address: string | undefined;
    // A replica starts in well under a second here; 10 s says it will not.
    const timer = setTimeout(() => reject(new Error("a replica did not start within 10 s")), 10_000);
    const early = (code: number | null) =>
      reject(new Error(`a replica exited with ${code} before it announced itself`));
    child.once("close", early);
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      out += chunk;
      address ??= /listening on (tcp:\/\/\S+)/.exec(out)?.[1];
      if (address !== undefined && out.includes("announcing")) {
        clearTimeout(timer);
        child.off("close", early);
        resolve({ child, address });
      }
    });
  });
}

/** Resolves once the process has ended and its output is read ('close': 'exit' may already have passed). */
const closed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.stdout?.closed === true && (child.exitCode !== null || child.signalCode !== null)) resolve();
    else child.once("close", () => resolve());
  });

export async function clusterDemo(): Promise<void> {
  const registry = createRegistry();
  const at = await registry.listen("tcp://127.0.0.1:0");
  console.log(`  registry listening on ${at}`);
  const replicas = await Promise.all([startReplica(at), startReplica(at), startReplica(at)]);
  for (const [i, r] of replicas.entries()) console.log(`  replica ${i + 1} (pid ${r.child.pid}) at ${r.address}`);
  const names = new Map(replicas.map((r, i) => [r.address, `replica ${i + 1}`]));

  const client = createClient(`registry://${at.slice("tcp://".length)}/Arith?version=^1`);
  const arith = client.service(Arith);
  try {
    for (let i = 0; i < 100 && client.endpoints().length < 3; i++) {
      await arith.add({ a: 0, b: 0 });
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log(`  the client resolved Arith to ${client.endpoints().length} replicas`);

    const served = new Map<string, number>();
    let sent = 0;
    let wrong = 0;
    const failures = new Map<string, number>();
    /** Calls, 50 at a time, for `ms` (and at most 100,000); `during` runs once, a third of the way in. */
    const phase = async (title: string, ms: number, during?: () => void) => {
      const before = sent;
      const end = Date.now() + ms;
      let fired = during === undefined;
      while (Date.now() < end && sent - before < 100_000) {
        if (!fired && Date.now() > end - (2 * ms) / 3) {
          fired = true;
          during?.();
        }
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            const a = sent++;
            let replica = "?";
            try {
              const sum = await arith.add(
                { a, b: 1 },
                {
                  timeoutMs: 5_000,
                  onResponseMetadata: (md) => {
                    replica = names.get(md["served-by"] ?? "") ?? "?";
                  },
                },
              );
              if (sum !== a + 1) wrong++;
              served.set(replica, (served.get(replica) ?? 0) + 1);
            } catch (err) {
              const code = err instanceof RpcError ? codeToString(err.code) : String(err);
              failures.set(code, (failures.get(code) ?? 0) + 1);
            }
          }),
        );
      }
      console.log(`  ${title}: ${sent - before} calls`);
    };

    await phase("three replicas", 600);
    const [first, second] = replicas as [Replica, Replica, Replica];
    await phase("replica 1 stopped (SIGTERM: deregisters, drains, exits)", 900, () => first.child.kill("SIGTERM"));
    await phase("replica 2 killed (SIGKILL: connections cut mid-call)", 900, () => second.child.kill("SIGKILL"));

    const failed = [...failures.values()].reduce((n, x) => n + x, 0);
    const ok = [...served.values()].reduce((n, x) => n + x, 0);
    console.log(`  ${sent} calls: ${ok} answered (${wrong} wrong), ${failed} failed`);
    for (const [name, n] of [...served].sort()) console.log(`    ${name}: ${n}`);
    for (const [code, n] of failures) console.log(`    failed with ${code}: ${n}`);
    console.log(`  every call accounted for: ${ok + failed === sent}`);
  } finally {
    await client.close();
    for (const r of replicas) r.child.kill("SIGTERM");
    await Promise.all(replicas.map((r) => closed(r.child)));
    await registry.close();
  }
}
