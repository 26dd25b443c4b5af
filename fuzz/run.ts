/**
 * The long fuzzing pass (`npm run fuzz`): each target in a worker thread of its own, for a number
 * of seconds, with block coverage as feedback; a watchdog ends a worker whose current input runs
 * too long and reports that input as a hang. Prints executions, corpus, coverage and findings per
 * target; `--save` appends findings to testdata/vectors/fuzz-regressions/.
 *
 *   node dist/fuzz/run.js [--seconds N] [--target a,b] [--seed N] [--no-coverage] [--save]
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { installAllocGuard } from "./alloc-guard.js";
import { BlockCoverage } from "./coverage.js";
import { type Finding, type FuzzStats, fuzz } from "./engine.js";
import { targetNamed, targets } from "./targets/index.js";
import { saveRegressions, toHex } from "./vectors.js";

interface Job {
  target: string;
  seconds: number;
  seed: number;
  coverage: boolean;
  /** Shared: [0] executions so far, [1] length of the current input, then its bytes. */
  shared: SharedArrayBuffer;
}

const maxShared = 64 * 1024;
/** A worker whose current input has run this long is stopped and the input reported as a hang. */
const hangMs = 10_000;

type Report = Omit<FuzzStats, "findings"> & { findings: (Omit<Finding, "input"> & { hex: string })[] };

async function work(job: Job): Promise<void> {
  installAllocGuard();
  const counters = new Int32Array(job.shared, 0, 2);
  const current = new Uint8Array(job.shared, 8, maxShared);
  const target = targetNamed(job.target);
  const coverage = job.coverage ? new BlockCoverage() : undefined;
  coverage?.start();
  const stats = await fuzz(target, {
    seconds: job.seconds,
    seed: job.seed,
    coverage,
    onInput(input) {
      const n = Math.min(input.length, maxShared);
      current.set(input.subarray(0, n));
      Atomics.store(counters, 1, n);
      Atomics.add(counters, 0, 1);
    },
  });
  coverage?.stop();
  const report: Report = { ...stats, findings: stats.findings.map(({ input, ...f }) => ({ ...f, hex: toHex(input) })) };
  parentPort?.postMessage(report);
}

function runWorker(job: Omit<Job, "shared">): Promise<Report> {
  const shared = new SharedArrayBuffer(8 + maxShared);
  const counters = new Int32Array(shared, 0, 2);
  const worker = new Worker(new URL(import.meta.url), { workerData: { ...job, shared } });
  return new Promise((resolve, reject) => {
    let last = -1;
    let since = Date.now();
    let report: Report | undefined;
    const watch = setInterval(() => {
      const n = Atomics.load(counters, 0);
      if (n !== last) {
        last = n;
        since = Date.now();
      } else if (Date.now() - since > hangMs) {
        const len = Atomics.load(counters, 1);
        const hex = toHex(new Uint8Array(shared, 8, len));
        report = {
          target: job.target,
          execs: n,
          seconds: job.seconds,
          refused: 0,
          corpus: 0,
          features: 0,
          findings: [{ target: job.target, kind: "hang", message: `an input ran over ${hangMs} ms`, hex }],
        };
        void worker.terminate();
      }
    }, 250);
    worker.on("message", (m: Report) => {
      report = m;
    });
    worker.on("error", reject);
    worker.on("exit", () => {
      clearInterval(watch);
      if (report !== undefined) resolve(report);
      else reject(new Error(`worker for ${job.target} exited without a report`));
    });
  });
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help")) {
    console.log("usage: node dist/fuzz/run.js [--seconds N per target, default 20] [--target name,name]");
    console.log("       [--seed N] [--no-coverage] [--save: append findings to testdata/vectors/fuzz-regressions/]");
    console.log(`targets: ${targets.map((t) => t.name).join(", ")}`);
    return;
  }
  const seconds = Number(argValue(args, "--seconds") ?? 20);
  const seed = Number(argValue(args, "--seed") ?? Date.now() % 1_000_000);
  const names = argValue(args, "--target")?.split(",") ?? targets.map((t) => t.name);
  const coverage = !args.includes("--no-coverage");
  console.log(
    `fuzzing ${names.length} targets for ${seconds} s each, seed ${seed}, coverage ${coverage ? "on" : "off"}`,
  );
  const rows: Report[] = [];
  for (const name of names) {
    targetNamed(name);
    const r = await runWorker({ target: name, seconds, seed, coverage });
    rows.push(r);
    const rate = Math.round(r.execs / Math.max(r.seconds, 0.001));
    console.log(
      `${name.padEnd(16)} ${String(r.execs).padStart(9)} execs ${String(rate).padStart(7)}/s  corpus ${String(r.corpus).padStart(5)}  blocks ${String(r.features).padStart(5)}  findings ${r.findings.length}`,
    );
    for (const f of r.findings)
      console.log(`  ${f.kind}: ${f.message}\n    input ${f.hex.slice(0, 400)}${f.hex.length > 400 ? "…" : ""}`);
    if (args.includes("--save") && r.findings.length > 0) {
      const n = saveRegressions(
        name,
        r.findings.map((f) => ({
          name: `${f.kind}: ${f.message.slice(0, 80)}`,
          hex: f.hex,
          note: `found by npm run fuzz (seed ${seed}): ${f.message}`,
          status: "open" as const,
        })),
      );
      console.log(`  saved ${n} new regression vectors`);
    }
  }
  const total = rows.reduce((n, r) => n + r.execs, 0);
  const found = rows.reduce((n, r) => n + r.findings.length, 0);
  console.log(`total ${total} execs, ${found} findings`);
  if (found > 0) process.exitCode = 1;
}

if (isMainThread) await main();
else await work(workerData as Job);
