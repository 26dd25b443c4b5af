// Fault tests with real processes (docs/cluster.md, "What each failure costs a caller"): replicas
// are child processes whose stdout is their execution log; one is SIGKILLed with calls in flight.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, createClient, type RpcError } from "../src/index.js";
import { Counter } from "./cluster-replica.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const script = fileURLToPath(new URL("./cluster-replica.js", import.meta.url));

interface Child {
  proc: ChildProcess;
  address: string;
  runs: Map<string, number>;
  exited: Promise<void>;
}

async function start(name: string): Promise<Child> {
  const proc = spawn(process.execPath, [script, "--replica", name], { stdio: ["ignore", "pipe", "inherit"] });
  const runs = new Map<string, number>();
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await exited;
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const address = await new Promise<string>((resolve, reject) => {
    proc.once("exit", () => reject(new Error(`${name} exited before listening`)));
    lines.on("line", (line) => {
      if (line.startsWith("listening ")) resolve(line.slice("listening ".length));
      else if (line.startsWith("ran ")) {
        const key = line.slice(4);
        runs.set(key, (runs.get(key) ?? 0) + 1);
      }
    });
  });
  return { proc, address, runs, exited };
}

test("SIGKILL of one of two replicas with 1,000 calls in flight: each call settles once, none runs twice", async () => {
  const a = await start("a");
  const b = await start("b");
  const client = createClient([a.address, b.address]);
  cleanups.push(() => client.close());
  const counter = client.service(Counter);
  await Promise.all([counter.who({ id: -1, ms: 0 }), counter.who({ id: -2, ms: 0 }), counter.who({ id: -3, ms: 0 })]);
  const timeoutMs = 10_000;
  const calls = Array.from({ length: 1_000 }, (_, id) => {
    const method = id % 2 === 0 ? "who" : "hit";
    const started = Date.now();
    const p =
      method === "who" ? counter.who({ id, ms: 200 }, { timeoutMs }) : counter.hit({ id, ms: 200 }, { timeoutMs });
    return p.then(
      (name) => ({ id, method, ok: true as const, name, ms: Date.now() - started }),
      (error: RpcError) => ({ id, method, ok: false as const, error, ms: Date.now() - started }),
    );
  });
  await new Promise((r) => setTimeout(r, 50));
  a.proc.kill("SIGKILL");
  const results = await Promise.all(calls);
  await a.exited;
  const runsOf = (key: string) => (a.runs.get(key) ?? 0) + (b.runs.get(key) ?? 0);
  for (const r of results) {
    assert.ok(r.ms <= timeoutMs + 1_000, `call ${r.id} settled within its deadline (${r.ms} ms)`);
    const key = `${r.method} ${r.id}`;
    if (r.method === "who") {
      assert.ok(r.ok, `idempotent call ${r.id} succeeded (${r.ok ? "" : r.error.message})`);
      continue;
    }
    assert.ok(runsOf(key) <= 1, `hit ${r.id} ran ${runsOf(key)} times`);
    if (r.ok) assert.equal(runsOf(key), 1, `a successful hit ${r.id} ran once`);
    else {
      assert.equal(r.error.code, Code.Unavailable, r.error.message);
      const detail = r.error.details.at(-1) as { outcome?: string; endpoint?: string };
      assert.equal(detail.outcome, "unknown", JSON.stringify(r.error.details));
      assert.equal(detail.endpoint, a.address);
    }
  }
  const lost = results.filter((r) => !r.ok).length;
  assert.ok(lost > 0 && lost < 500, `some hits on a were lost, not all: ${lost}`);
  // Afterwards, every call goes to b.
  const after = await Promise.all(Array.from({ length: 20 }, (_, i) => counter.hit({ id: 10_000 + i, ms: 0 })));
  assert.ok(after.every((n) => n === "b"));
});
