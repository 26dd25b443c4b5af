// `npm run bench`: farcall against raw node:net (the physical limit here) and alternatives, in one
// run. Each cell gets a fresh server child per system (dist/bench/server.js); clients run in this process.
// Prints the tables and writes bench/results/latest.{json,md} and chart.svg.
//   BENCH_QUICK=1        1 repetition, 0.2 s warm-up, 0.4 s window, 128 MiB stream (smoke test)
//   BENCH_SYSTEMS=a,b    only these systems  } development runs: tables printed,
//   BENCH_CELLS=add@1,stream   only these cells  } bench/results not written
//   --profile <cell>     CPU profiles of that cell's server and client, per system (bench/profile.ts)

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { makeCerts } from "./certs.js";
import { chart } from "./chart.js";
import { Child } from "./child.js";
import { codecTable, runCodecs } from "./codecs.js";
import { type Call, type LoadResult, runLoad } from "./load.js";
import { profileDir, profileThisProcess, serverProfileFlags, topFunctions } from "./profile.js";
import { type CellResult, judge, markdown, type Report, type StealSummary, type StreamResult } from "./report.js";
import { median } from "./stats.js";
import { StealGuard, type StealPolicy } from "./steal.js";
import type { BenchClient, BenchSystem } from "./system.js";
import { loadSystem, streamingSystems, systemNames } from "./systems/index.js";
import {
  cells as allCells,
  benchStructJson,
  type Concurrency,
  cellKey,
  echoBytes,
  echoPayload,
  type PayloadName,
  payloads,
  sameBytes,
  streamChunkBytes,
  streamTimeoutMs,
  type WorkloadName,
} from "./workloads.js";

const quick = process.env.BENCH_QUICK === "1";
// A full run: 0.3 s of warm-up lets V8 optimise the call path before the window opens; 1 s windows
// and 5 repetitions (interleaved, see runCell) keep 54 cells and the streams under 10 minutes while
// giving each paired ratio five samples for its median.
const settings = {
  warmupMs: quick ? 200 : 300,
  measureMs: quick ? 400 : 1_000,
  repetitions: quick ? 1 : 5,
  structJsonBytes: benchStructJson.byteLength,
  echoBytes,
};
/**
 * Windows taken again when the hypervisor stole more than 10% of the machine's CPU time during
 * them. A quiet spell here shows 1–7%; over 10%, add@64 figures fall by a third or more. At most
 * 60 retakes (~80 s) keep a full run under 10 minutes; when they run out, windows stay as taken and
 * the report says so.
 */
const stealPolicy: StealPolicy = { maxPercent: 10, takesPerWindow: 3, maxRetakes: quick ? 10 : 60 };
const stealGuard = new StealGuard(stealPolicy);
const streamBytes = (quick ? 128 : 1024) * 2 ** 20;
/**
 * Most calls in one window (and in one warm-up): a window also ends when it has this many. A bound
 * on the work of one repetition whatever the machine; 2M is ~10 s of the fastest cell here.
 */
const maxCalls = 2_000_000;
/** A repetition that has not finished this long after its window should have closed fails the run. */
const graceMs = 30_000;
const only = process.env.BENCH_SYSTEMS?.split(",");
const profileAt = process.argv.indexOf("--profile");
/** The cell `--profile` names; it is then the only one run. */
const profileCell = profileAt === -1 ? undefined : process.argv[profileAt + 1];
if (profileAt !== -1 && (profileCell === undefined || profileCell.startsWith("-"))) {
  throw new Error("--profile needs a cell, e.g. --profile struct@64");
}
const onlyCells = profileCell !== undefined ? [profileCell] : process.env.BENCH_CELLS?.split(",");
const wanted = (cell: string) => onlyCells === undefined || onlyCells.includes(cell);
/** A development run on some systems or cells prints its tables but leaves bench/results alone. */
const partial = only !== undefined || onlyCells !== undefined;
if (profileCell === "stream") throw new Error("--profile takes a unary cell (add@64, struct@1, …), not the stream");
const chosen = await Promise.all(systemNames.filter((n) => only === undefined || only.includes(n)).map(loadSystem));
const resultsDir = new URL("../../bench/results/", import.meta.url);

/** A payload round trip: the value sent, the same value expected back. */
function payloadCall(payload: PayloadName): Call {
  const { value, same } = payloads[payload];
  return {
    send: (client) => client.value(payload, value),
    check(reply) {
      if (!same(reply)) throw new Error(`${payload} reply differs from the request`);
    },
  };
}

const calls: Record<WorkloadName, Call> = {
  add: {
    send: (client, seq) => client.add(seq & 0xffff, 7),
    check(sum, seq) {
      if (sum !== (seq & 0xffff) + 7) throw new Error(`add(${seq & 0xffff}, 7) returned ${sum}`);
    },
  },
  struct: payloadCall("struct"),
  records: payloadCall("records"),
  nested: payloadCall("nested"),
  text: payloadCall("text"),
  echo: {
    send: (client) => client.echo(echoPayload),
    check(reply) {
      if (!sameBytes(reply as Uint8Array, echoPayload)) throw new Error("echo reply differs from the request");
    },
  },
};

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

async function startServer(system: BenchSystem, execArgv: string[] = []): Promise<[Child, string]> {
  const [child, ready] = await Child.start("./server.js", [system.name], { execArgv });
  return [child, ready.address as string];
}

async function serverPeakRssMiB(server: Child): Promise<number> {
  return (await server.request({ type: "usage" })).peakRssMiB as number;
}

interface Contender {
  system: BenchSystem;
  server: Child;
  clients: BenchClient[];
  reps: LoadResult[];
}

/**
 * One cell for every system: all servers are started first, then repetition r of each system runs
 * before repetition r + 1 of any, so a slow spell of this shared machine falls on every system
 * alike rather than on whichever ran during it.
 */
async function runCell(
  systems: readonly BenchSystem[],
  workload: WorkloadName,
  concurrency: Concurrency,
  serverFlags: (system: BenchSystem) => string[] = () => [],
) {
  const cell = cellKey(workload, concurrency);
  const contenders: Contender[] = [];
  try {
    for (const system of systems) {
      const [server, address] = await startServer(system, serverFlags(system));
      const contender: Contender = { system, server, clients: [], reps: [] };
      contenders.push(contender);
      for (let i = 0; i < concurrency.connections; i++) contender.clients.push(await system.connect(address));
    }
    for (let r = 0; r < settings.repetitions; r++) {
      for (const { system, server, clients, reps } of contenders) {
        const serverCpu = async () => (await server.request({ type: "cpu" })).cpu as NodeJS.CpuUsage;
        const window = () =>
          withDeadline(
            runLoad(clients, concurrency.inflight, calls[workload], { ...settings, maxCalls, serverCpu }),
            settings.warmupMs + settings.measureMs + graceMs,
            `${system.name} ${cell}`,
          );
        reps.push(await stealGuard.take(window));
      }
    }
    const results: CellResult[] = [];
    for (const { system, server, reps } of contenders) {
      const m = (pick: (r: LoadResult) => number) => median(reps.map(pick));
      results.push({
        system: system.name,
        workload,
        concurrency: concurrency.label,
        cell,
        callsPerSec: m((r) => r.callsPerSec),
        p50Us: m((r) => r.p50Us),
        p99Us: m((r) => r.p99Us),
        p999Us: m((r) => r.p999Us),
        serverCpuUsPerCall: m((r) => r.serverCpuUsPerCall),
        clientCpuUsPerCall: m((r) => r.clientCpuUsPerCall),
        serverPeakRssMiB: await serverPeakRssMiB(server),
        reps: reps.map(({ callsPerSec, p50Us, p99Us, serverCpuUsPerCall, clientCpuUsPerCall, stealPercent }) => ({
          callsPerSec,
          p50Us,
          p99Us,
          serverCpuUsPerCall,
          clientCpuUsPerCall,
          stealPercent,
        })),
      });
    }
    return results;
  } finally {
    for (const { system, server, clients } of contenders) {
      await Promise.all(clients.map((c) => withDeadline(c.close(), 5_000, `closing ${system.name} client`)));
      await server.stop();
    }
  }
}

/**
 * The stream for every system, repetitions interleaved as in {@link runCell}: one server per
 * system for the whole run, a fresh client child per repetition (its own warm-up, then one stream).
 */
async function runStreams(systems: readonly BenchSystem[]): Promise<StreamResult[]> {
  const contenders: { system: BenchSystem; server: Child; address: string; seconds: number[]; clientRss: number }[] =
    [];
  try {
    for (const system of systems) {
      const [server, address] = await startServer(system);
      contenders.push({ system, server, address, seconds: [], clientRss: 0 });
    }
    // The warm-up and the measured stream, each bounded by the child itself, plus start-up.
    const timeoutMs = 2 * streamTimeoutMs + 10_000;
    for (let r = 0; r < settings.repetitions; r++) {
      for (const c of contenders) {
        const args = [c.system.name, c.address, String(streamBytes)];
        const [client, result] = await Child.start("./stream-client.js", args, { readyType: "result", timeoutMs });
        await client.stop();
        c.seconds.push(result.seconds as number);
        c.clientRss = Math.max(c.clientRss, result.peakRssMiB as number);
      }
    }
    const results: StreamResult[] = [];
    for (const c of contenders) {
      const reps = c.seconds.map((s) => streamBytes / s / 1e6);
      results.push({
        system: c.system.name,
        totalBytes: streamBytes,
        chunkBytes: streamChunkBytes,
        mbPerSec: median(reps),
        serverPeakRssMiB: await serverPeakRssMiB(c.server),
        clientPeakRssMiB: c.clientRss,
        repsMbPerSec: reps,
      });
    }
    return results;
  } finally {
    for (const c of contenders) await c.server.stop();
  }
}

/** The cell run once per system, each with both sides profiled; prints where the time went. */
async function profiled(
  systems: readonly BenchSystem[],
  workload: WorkloadName,
  concurrency: Concurrency,
): Promise<CellResult[]> {
  mkdirSync(profileDir, { recursive: true });
  const cell = cellKey(workload, concurrency).replace("/", "-");
  const results: CellResult[] = [];
  for (const system of systems) {
    const name = (side: string) => `${cell}-${system.name}-${side}`;
    const stop = await profileThisProcess();
    results.push(...(await runCell([system], workload, concurrency, () => serverProfileFlags(name("server")))));
    const client = await stop(name("client"));
    // The server child wrote its profile as it exited, when runCell stopped it.
    const server = JSON.parse(readFileSync(new URL(`${name("server")}.cpuprofile`, profileDir), "utf8"));
    console.log(`\n${system.name} ${cell}: bench/results/profiles/${name("{server,client}")}.cpuprofile`);
    console.log(`server, self time:\n${topFunctions(server).join("\n")}`);
    console.log(`client (the measuring process), self time:\n${topFunctions(client).join("\n")}`);
  }
  return results;
}

function machine(): Report["machine"] {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    totalMemoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

function stealSummary(cells: readonly CellResult[]): StealSummary {
  const steals = cells.flatMap((c) => c.reps.map((r) => r.stealPercent)).filter((p) => p !== undefined);
  return {
    ...stealPolicy,
    retakes: stealGuard.retakes,
    medianPercent: steals.length > 0 ? median(steals) : undefined,
    highestPercent: steals.length > 0 ? Math.max(...steals) : undefined,
    overLimit: steals.filter((p) => p > stealPolicy.maxPercent).length,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  // The TLS systems' certificates, in a temporary directory removed as this process exits.
  if (chosen.some((s) => s.tls === true)) makeCerts();
  console.log(
    `farcall bench${quick ? " (QUICK)" : ""}: ${chosen.map((s) => s.name).join(", ")}; ` +
      `warm-up ${settings.warmupMs} ms, window ${settings.measureMs} ms, ${settings.repetitions} repetition(s)`,
  );
  // The codecs first, on a quiet process: no server children or clients yet. Skipped by partial runs.
  const codecs = partial ? [] : runCodecs(quick);
  if (codecs.length > 0) console.log(`codecs:\n${codecTable(codecs)}`);
  const cells: CellResult[] = [];
  for (const { workload, concurrency } of allCells) {
    if (!wanted(cellKey(workload, concurrency))) continue;
    const systems = chosen.filter((s) => s.workloads === undefined || s.workloads.includes(workload));
    if (systems.length === 0) continue;
    const results =
      profileCell === undefined
        ? await runCell(systems, workload, concurrency)
        : await profiled(systems, workload, concurrency);
    for (const result of results) {
      cells.push(result);
      console.log(
        `  ${result.cell.padEnd(12)} ${result.system.padEnd(16)} ${Math.round(result.callsPerSec).toString().padStart(8)} calls/s` +
          `  p50 ${result.p50Us.toFixed(0)} µs  p99 ${result.p99Us.toFixed(0)} µs` +
          `  (repetitions: ${result.reps.map((x) => Math.round(x.callsPerSec / 1000)).join(" ")} k;` +
          ` steal ${result.reps.map((x) => (x.stealPercent === undefined ? "-" : x.stealPercent.toFixed(0))).join(" ")} %)`,
      );
    }
  }
  const streamers = chosen.filter((s) => wanted("stream") && streamingSystems.includes(s.name));
  const streams = streamers.length > 0 ? await runStreams(streamers) : [];
  for (const result of streams) {
    console.log(
      `  stream       ${result.system.padEnd(16)} ${Math.round(result.mbPerSec).toString().padStart(8)} MB/s`,
    );
  }
  const report: Report = {
    quick,
    machine: machine(),
    settings,
    cells,
    streams,
    codecs,
    targets: judge(cells, streams, codecs),
    steal: stealSummary(cells),
    totalSeconds: (performance.now() - started) / 1000,
  };
  const md = markdown(report);
  if (partial) {
    console.log(`\n${md}\npartial run: bench/results not written`);
    return;
  }
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(new URL("latest.json", resultsDir), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL("latest.md", resultsDir), md);
  const title = `farcall vs raw-net and alternatives, calls/s${quick ? " (QUICK RUN)" : ""} — ${report.machine.cpu}`;
  writeFileSync(new URL("chart.svg", resultsDir), chart(cells, title));
  console.log(`\n${md}`);
  console.log(`wrote bench/results/latest.json, latest.md, chart.svg; total ${report.totalSeconds.toFixed(1)} s`);
}

process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));
try {
  await main();
  process.exit(0);
} catch (err) {
  console.error("bench failed:", err);
  process.exit(1);
}
