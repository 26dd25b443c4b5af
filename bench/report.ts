// Results, the targets they are judged against, and their rendering as markdown tables.

import { type CodecRow, codecTable } from "./codecs.js";
import { median } from "./stats.js";
import { systemNames } from "./systems/index.js";

/** The figures of one repetition of a cell. */
export interface Figures {
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  serverCpuUsPerCall: number;
  clientCpuUsPerCall: number;
  /** The machine's steal over the window, in percent; absent where it cannot be read. */
  stealPercent?: number;
}

export interface CellResult extends Figures {
  system: string;
  workload: string;
  concurrency: string;
  /** `add@64` etc. */
  cell: string;
  p999Us: number;
  serverPeakRssMiB: number;
  /** Each repetition's figures; the ones above are medians over them. */
  reps: Figures[];
}

export interface StreamResult {
  system: string;
  totalBytes: number;
  chunkBytes: number;
  /** 10^6 bytes per second, median over the repetitions. */
  mbPerSec: number;
  serverPeakRssMiB: number;
  clientPeakRssMiB: number;
  repsMbPerSec: number[];
}

export interface TargetResult {
  name: string;
  value: number;
  /** e.g. "≥ 0.6×". */
  target: string;
  pass: boolean;
}

export interface Machine {
  cpu: string;
  cores: number;
  totalMemoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

export interface Report {
  quick: boolean;
  machine: Machine;
  settings: { warmupMs: number; measureMs: number; repetitions: number; structJsonBytes: number; echoBytes: number };
  cells: CellResult[];
  streams: StreamResult[];
  /** The codec micro-benchmarks (bench/codecs.ts), run first in the measuring process. */
  codecs: CodecRow[];
  targets: TargetResult[];
  steal: StealSummary;
  totalSeconds: number;
}

/** How steal was handled in a run (see bench/steal.ts). */
export interface StealSummary {
  maxPercent: number;
  takesPerWindow: number;
  maxRetakes: number;
  /** Extra takes made. */
  retakes: number;
  /** Over the kept windows of all cells; undefined where steal cannot be read. */
  medianPercent?: number;
  highestPercent?: number;
  /** Kept windows over {@link maxPercent} (their retakes ran out). */
  overLimit: number;
}

const FARCALL = "farcall-msgpack";
const RAW = "raw-net";

function find(cells: readonly CellResult[], system: string, cell: string): CellResult | undefined {
  return cells.find((c) => c.system === system && c.cell === cell);
}

/** Judges the project's targets, each a ratio of farcall (MessagePack) to another system in this run. */
export function judge(
  cells: readonly CellResult[],
  streams: readonly StreamResult[],
  codecs: readonly CodecRow[] = [],
): TargetResult[] {
  const out: TargetResult[] = [];
  const push = (name: string, value: number | undefined, target: string, ok: (r: number) => boolean) => {
    if (value !== undefined && Number.isFinite(value)) out.push({ name, value, target, pass: ok(value) });
  };
  /**
   * The median of the per-repetition ratios: repetition r of both systems ran back to back, so a
   * slow spell of the machine cancels out of each ratio instead of landing on one system's median.
   */
  const paired = (a: readonly number[] | undefined, b: readonly number[] | undefined) =>
    a === undefined || b === undefined || a.length !== b.length
      ? undefined
      : median(a.map((v, i) => v / (b[i] as number)));
  const ratio = (
    name: string,
    a: CellResult | undefined,
    b: CellResult | undefined,
    pick: (f: Figures) => number,
    target: string,
    ok: (r: number) => boolean,
  ) => push(name, paired(a?.reps.map(pick), b?.reps.map(pick)), target, ok);
  const f = (cell: string) => find(cells, FARCALL, cell);
  const r = (cell: string) => find(cells, RAW, cell);
  const calls = (x: Figures) => x.callsPerSec;
  const cpu = (x: Figures) => x.serverCpuUsPerCall + x.clientCpuUsPerCall;
  ratio("add@64 calls/s, farcall / raw-net", f("add@64"), r("add@64"), calls, "≥ 0.6×", (v) => v >= 0.6);
  const p50 = (x: Figures) => x.p50Us;
  const p99 = (x: Figures) => x.p99Us;
  ratio("add@1 p50, farcall / raw-net", f("add@1"), r("add@1"), p50, "≤ 1.25×", (v) => v <= 1.25);
  ratio("add@1 p99, farcall / raw-net", f("add@1"), r("add@1"), p99, "≤ 1.5×", (v) => v <= 1.5);
  ratio("echo@64 calls/s, farcall / raw-net", f("echo@64"), r("echo@64"), calls, "≥ 0.8×", (v) => v >= 0.8);
  const fs = streams.find((s) => s.system === FARCALL);
  const rs = streams.find((s) => s.system === RAW);
  push("stream MB/s, farcall / raw-net", paired(fs?.repsMbPerSec, rs?.repsMbPerSec), "≥ 0.8×", (v) => v >= 0.8);
  if (fs !== undefined) {
    out.push({
      name: "stream peak RSS, farcall server (MiB)",
      value: fs.serverPeakRssMiB,
      target: "< 64",
      pass: fs.serverPeakRssMiB < 64,
    });
    out.push({
      name: "stream peak RSS, farcall client (MiB)",
      value: fs.clientPeakRssMiB,
      target: "< 64",
      pass: fs.clientPeakRssMiB < 64,
    });
  }
  ratio("add@64 CPU/call (server + client), farcall / raw-net", f("add@64"), r("add@64"), cpu, "≤ 2×", (v) => v <= 2);
  const other = (system: string) => find(cells, system, "add@64");
  ratio("add@64 calls/s, farcall / grpc-js", f("add@64"), other("grpc-js"), calls, "≥ 20×", (v) => v >= 20);
  ratio("add@64 calls/s, farcall / jayson", f("add@64"), other("jayson"), calls, "≥ 2×", (v) => v >= 2);
  // Same client and wire format on both sides, so the servers' CPU per call compares them directly.
  ratio(
    "add@64 server CPU/call, farcall JSON-RPC / jayson",
    other("farcall-jsonrpc"),
    other("jayson"),
    (x) => x.serverCpuUsPerCall,
    "≤ 1×",
    (v) => v <= 1,
  );
  // Realistic messages: the struct (issue targets of the struct cells and the codecs).
  ratio("struct@64 calls/s, farcall / raw-net", f("struct@64"), r("struct@64"), calls, "≥ 0.5×", (v) => v >= 0.5);
  const structCpu = f("struct@64")?.serverCpuUsPerCall;
  push("struct@64 server CPU/call, farcall (µs)", structCpu, "≤ 8", (v) => v <= 8);
  ratio("struct@1 p50, farcall / raw-net", f("struct@1"), r("struct@1"), p50, "≤ 1.15×", (v) => v <= 1.15);
  ratio(
    "struct@256/4 calls/s, farcall / raw-net",
    f("struct@256/4"),
    r("struct@256/4"),
    calls,
    "≥ 0.4×",
    (v) => v >= 0.4,
  );
  // Against raw sockets that encode the value too (msgpackr on both sides): what framing costs.
  const m = (cell: string) => find(cells, "raw-msgpackr", cell);
  ratio("struct@64 calls/s, farcall / raw-msgpackr", f("struct@64"), m("struct@64"), calls, "≥ 1×", (v) => v >= 1);
  ratio("struct@1 p50, farcall / raw-msgpackr", f("struct@1"), m("struct@1"), p50, "≤ 1.15×", (v) => v <= 1.15);
  // TLS: farcall over tls:// against raw-net's frames over node:tls.
  const tlsCell = (system: string) => find(cells, system, "add@64");
  ratio(
    "add@64 calls/s, farcall-tls / raw-tls",
    tlsCell("farcall-tls"),
    tlsCell("raw-tls"),
    calls,
    "≥ 0.6×",
    (v) => v >= 0.6,
  );
  // Cluster: through a registry-resolved set of three replicas (p2c) against one replica dialled directly.
  ratio(
    "add@64 calls/s, farcall-cluster / farcall",
    tlsCell("farcall-cluster"),
    f("add@64"),
    calls,
    "≥ 0.9×",
    (v) => v >= 0.9,
  );
  // HMAC: the CPU a call's signing and verification add, the median of the per-repetition differences.
  const signed = tlsCell("farcall-hmac")?.reps.map(cpu);
  const unsigned = f("add@64")?.reps.map(cpu);
  if (signed !== undefined && unsigned !== undefined && signed.length === unsigned.length) {
    const extra = median(signed.map((v, i) => v - (unsigned[i] as number)));
    push("add@64 CPU/call (server + client), farcall-hmac − farcall (µs)", extra, "≤ 2", (v) => v <= 2);
  }
  const structRss = cells.filter((c) => c.system === FARCALL && c.workload === "struct").map((c) => c.serverPeakRssMiB);
  if (structRss.length > 0)
    push("struct server peak RSS, farcall (MiB)", Math.max(...structRss), "≤ 80", (v) => v <= 80);
  const codec = codecs.find((c) => c.payload === "struct");
  const codecTargets: [string, keyof CodecRow, keyof CodecRow, number][] = [
    ["MessagePack decode, farcall / msgpackr unpack", "farcallMsgpackDecode", "msgpackrUnpack", 1],
    ["MessagePack encode, farcall / msgpackr pack", "farcallMsgpackEncode", "msgpackrPack", 1],
    ["JSON encode, farcall / JSON.stringify", "farcallJsonEncode", "jsonStringify", 1.3],
    ["JSON decode, farcall / JSON.parse", "farcallJsonDecode", "jsonParse", 1.3],
  ];
  for (const [name, ours, theirs, most] of codec === undefined ? [] : codecTargets) {
    const value = (codec?.[ours] as number) / (codec?.[theirs] as number);
    push(`struct ${name}`, value, `≤ ${most}×`, (v) => v <= most);
  }
  return out;
}

/** A markdown table with columns padded so that it also reads well in a terminal. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly boolean[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (right[i] ? `${"-".repeat(Math.max(1, w - 1))}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

export function cellsTable(cells: readonly CellResult[]): string {
  return table(
    [
      "cell",
      "system",
      "calls/s",
      "p50 µs",
      "p99 µs",
      "p99.9 µs",
      "server CPU µs/call",
      "client CPU µs/call",
      "server peak RSS MiB",
    ],
    cells.map((c) => [
      c.cell,
      c.system,
      int(c.callsPerSec),
      fixed(c.p50Us),
      fixed(c.p99Us),
      fixed(c.p999Us),
      fixed(c.serverCpuUsPerCall, 2),
      fixed(c.clientCpuUsPerCall, 2),
      fixed(c.serverPeakRssMiB),
    ]),
    [false, false, true, true, true, true, true, true, true],
  );
}

/** Calls/s at a glance: a row per cell, a column per system ("–" where a system sits a cell out). */
export function callsMatrix(cells: readonly CellResult[]): string {
  const order = (system: string) => systemNames.indexOf(system);
  const systems = [...new Set(cells.map((c) => c.system))].sort((a, b) => order(a) - order(b));
  const keys = [...new Set(cells.map((c) => c.cell))];
  return table(
    ["calls/s", ...systems],
    keys.map((key) => [
      key,
      ...systems.map((system) => {
        const c = find(cells, system, key);
        return c === undefined ? "–" : int(c.callsPerSec);
      }),
    ]),
    [false, ...systems.map(() => true)],
  );
}

export function streamsTable(streams: readonly StreamResult[]): string {
  return table(
    ["stream", "system", "MB/s", "server peak RSS MiB", "client peak RSS MiB"],
    streams.map((s) => [
      `${s.totalBytes / 2 ** 20} MiB in ${s.chunkBytes / 1024} KiB chunks`,
      s.system,
      int(s.mbPerSec),
      fixed(s.serverPeakRssMiB),
      fixed(s.clientPeakRssMiB),
    ]),
    [false, false, true, true, true],
  );
}

export function targetsTable(targets: readonly TargetResult[]): string {
  return table(
    ["target", "value", "wanted", ""],
    targets.map((t) => [
      t.name,
      // A ratio's target ends in ×; an absolute one (MiB, µs) is shown as it is.
      t.target.endsWith("×") ? `${t.value.toFixed(2)}×` : fixed(t.value, 2),
      t.target,
      t.pass ? "PASS" : "MISS",
    ]),
    [false, true, false, false],
  );
}

function stealParagraph(st: StealSummary): string {
  if (st.medianPercent === undefined) return "Steal: not measured (no /proc/stat on this system).";
  return `Steal (CPU time the hypervisor gave to other guests, from /proc/stat) is measured over every window;
a window with more than ${st.maxPercent}% is taken again, at most ${st.takesPerWindow} takes a window and ${st.maxRetakes} extra takes a
run, and the least-stolen take is kept. This run: ${st.retakes} extra takes; steal over the kept windows median
${st.medianPercent.toFixed(1)}%, highest ${(st.highestPercent ?? 0).toFixed(1)}%; ${st.overLimit} kept window(s) over ${st.maxPercent}%.`;
}

export function markdown(report: Report): string {
  const m = report.machine;
  const s = report.settings;
  const kind = report.quick
    ? "**QUICK RUN (BENCH_QUICK=1): 1 repetition, short windows, a 128 MiB stream. Indicative only.**"
    : `Full run: each figure is the median of ${s.repetitions} repetitions.`;
  return `# farcall benchmark results

${kind}

Machine: ${m.cpu}, ${m.cores} cores, ${m.totalMemoryGiB.toFixed(1)} GiB RAM, Node ${m.node} on ${m.platform}, ${m.date}.
Total run time ${report.totalSeconds.toFixed(0)} s.

Each cell: a fresh server child process per system, client(s) in the measuring process, loopback
TCP; warm-up ${s.warmupMs} ms then a ${s.measureMs} ms window, ${s.repetitions} repetition(s), interleaved: repetition r
of every system runs before repetition r + 1 of any, so a slow spell of the machine hits all alike.
\`add\`: two small ints → int. \`struct\`: a ${s.structJsonBytes}-byte (as JSON) object round trip.
\`records\`: a ~16 KiB page of 100 flat records; \`nested\`: a ~10 KiB binary tree, 14 levels of
objects within arrays; \`text\`: ~4 KiB of non-ASCII prose in six scripts. farcall-zod is farcall-msgpack with a zod
schema checking the server's input on \`struct\`, measured in the same cells. raw-net echoes each payload's JSON
bytes without encoding anything; raw-msgpackr is raw-net's framing with msgpackr encoding and
decoding the value on both sides. raw-tls, farcall-tls and grpc-js-tls are raw-net, farcall-msgpack and
grpc-js over TLS (node's defaults, certificates made for the run by scripts/make-certs.sh);
farcall-hmac is farcall-msgpack with every call HMAC-signed by the client and verified by the server. \`echo\`: ${s.echoBytes / 1024} KiB of bytes round trip. \`@1\`: one call in flight; \`@64\`: 64 in flight on
one connection; \`@256/4\`: 64 in flight on each of 4 connections. CPU is per call, over the window.
Server peak RSS is the server child's RSS over the whole cell, sampled every 20 ms (\`maxRSS\` is not
used: on Linux a child inherits its parent's RSS at fork time as its starting \`maxRSS\`).

${stealParagraph(report.steal)}

## Unary calls

${callsMatrix(report.cells)}

Every figure of every cell:

${cellsTable(report.cells)}

## Codecs

In the measuring process, before the cells: µs per operation on each payload, the median of
interleaved repetitions. msgpackr is its default \`pack\`/\`unpack\`; JSON.stringify/JSON.parse work
on strings, farcall's JSON codec on UTF-8 bytes (with its depth, key and \`__proto__\` checks).

${report.codecs.length > 0 ? codecTable(report.codecs) : "Not run (a partial run)."}

## Streaming (server → client)

Each repetition's client is a child process of its own (one warm-up stream of 1/8 the size, then
the measured one); client peak RSS is the highest of those children's, sampled every 20 ms, server
peak RSS the server child's over all repetitions. Repetitions are interleaved as above. MB = 10^6 bytes.
farcall's client reads the stream with \`reuseBuffers\` (each chunk is checked, then dropped).

${streamsTable(report.streams)}

## Targets (farcall = farcall-msgpack; each ratio is the median of the per-repetition ratios)

${targetsTable(report.targets)}
`;
}
