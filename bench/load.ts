// The closed-loop load generator: `inflight` calls kept going on each client, a warm-up, then a
// measured window. Both phases are bounded in time and in calls; every reply is checked by
// `call`, which throws on a wrong answer.

import { cpuDeltaUs, LatencyHistogram, type Percentiles } from "./stats.js";
import { cpuTimes, stealPercent } from "./steal.js";
import type { BenchClient } from "./system.js";

export interface LoadOptions {
  warmupMs: number;
  measureMs: number;
  /** Most calls recorded in the window (and made in the warm-up). */
  maxCalls: number;
  /** Reads the server's process.cpuUsage(); called when the window opens and when it closes. */
  serverCpu(): Promise<NodeJS.CpuUsage>;
}

export interface LoadResult extends Percentiles {
  calls: number;
  seconds: number;
  callsPerSec: number;
  clientCpuUsPerCall: number;
  serverCpuUsPerCall: number;
  /** The machine's steal over the window, in percent (undefined where it cannot be read). */
  stealPercent?: number;
}

/**
 * One call of a workload: `send` makes call number `seq` on `client`, `check` throws if its reply
 * is wrong. Two plain functions rather than one async one: the harness adds no promise of its own.
 */
export interface Call {
  send(client: BenchClient, seq: number): Promise<unknown>;
  check(reply: unknown, seq: number): void;
}

export async function runLoad(
  clients: readonly BenchClient[],
  inflight: number,
  call: Call,
  options: LoadOptions,
): Promise<LoadResult> {
  const cap = options.maxCalls;
  const latencies = new LatencyHistogram();
  let phase: "warmup" | "measure" | "done" = "warmup";
  let warmupCalls = 0;
  let seq = 0;
  let windowStart = 0n;
  let windowEnd = 0n;
  let clientCpuStart = process.cpuUsage();
  let clientCpuEnd = clientCpuStart;
  let machineStart = cpuTimes();
  let machineEnd = machineStart;
  let serverCpuStart: Promise<NodeJS.CpuUsage> | undefined;
  let serverCpuEnd: Promise<NodeJS.CpuUsage> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const finish = () => {
    if (phase !== "measure") return;
    windowEnd = process.hrtime.bigint();
    clientCpuEnd = process.cpuUsage();
    machineEnd = cpuTimes();
    serverCpuEnd = options.serverCpu();
    phase = "done";
    clearTimeout(timer);
  };
  const startMeasuring = () => {
    if (phase !== "warmup") return;
    clearTimeout(timer);
    phase = "measure";
    serverCpuStart = options.serverCpu();
    clientCpuStart = process.cpuUsage();
    machineStart = cpuTimes();
    windowStart = process.hrtime.bigint();
    timer = setTimeout(finish, options.measureMs);
  };
  timer = setTimeout(startMeasuring, options.warmupMs);

  const worker = async (client: BenchClient) => {
    try {
      while (phase !== "done") {
        const started = process.hrtime.bigint();
        const n = seq++;
        call.check(await call.send(client, n), n);
        if (phase === "measure") {
          latencies.record(Number(process.hrtime.bigint() - started));
          if (latencies.count === cap) finish();
        } else if (phase === "warmup" && ++warmupCalls === cap) {
          startMeasuring();
        }
      }
    } catch (err) {
      phase = "done"; // stops the other workers after their call in flight
      throw err;
    }
  };
  const workers: Promise<void>[] = [];
  for (const client of clients) for (let i = 0; i < inflight; i++) workers.push(worker(client));
  try {
    await Promise.all(workers);
  } finally {
    clearTimeout(timer);
  }
  if (serverCpuStart === undefined || serverCpuEnd === undefined) throw new Error("load ended outside its window");
  const serverCpuUs = cpuDeltaUs(await serverCpuStart, await serverCpuEnd);
  const calls = latencies.count;
  if (calls === 0) throw new Error("no call completed in the measured window");
  const seconds = Number(windowEnd - windowStart) / 1e9;
  return {
    calls,
    seconds,
    callsPerSec: calls / seconds,
    clientCpuUsPerCall: cpuDeltaUs(clientCpuStart, clientCpuEnd) / calls,
    serverCpuUsPerCall: serverCpuUs / calls,
    stealPercent: stealPercent(machineStart, machineEnd),
    ...latencies.percentiles(),
  };
}
