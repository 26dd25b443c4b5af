// `node dist/bench/codecs.js`, and the codec table of a full `npm run bench`: farcall's codecs against
// msgpackr and V8's JSON on the bench payloads, in one process. Each figure is the median of
// interleaved repetitions of a fixed number of operations, in µs per operation.
//   BENCH_QUICK=1   3 repetitions of fewer operations (smoke test)

import { pack, unpack } from "msgpackr";
import { jsonCodec } from "../src/codec/json.js";
import { msgpackCodec } from "../src/codec/msgpack.js";
import { defaultLimits } from "../src/core/limits.js";
import { median } from "./stats.js";
import { benchNested, benchRecords, benchStruct, benchText } from "./workloads.js";

export interface CodecRow {
  payload: string;
  /** MessagePack bytes, as farcall writes them. */
  msgpackBytes: number;
  jsonBytes: number;
  /** µs per operation. */
  farcallMsgpackEncode: number;
  msgpackrPack: number;
  farcallMsgpackDecode: number;
  msgpackrUnpack: number;
  farcallJsonEncode: number;
  jsonStringify: number;
  farcallJsonDecode: number;
  jsonParse: number;
}

export const codecPayloads: readonly [string, unknown][] = [
  ["struct", benchStruct],
  ["records", benchRecords],
  ["nested", benchNested],
  ["text", benchText],
];

const limits = { maxDepth: defaultLimits.maxDepth, maxKeys: defaultLimits.maxKeys };
/** Keeps results alive so no operation can be optimised away. */
let sink: unknown;

/** µs per call of `op`, over `n` calls. */
function time(op: () => unknown, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink = op();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

/**
 * Every operation on one payload, `repetitions` times, interleaved so that a slow spell of the
 * machine falls on all of them alike; about `budgetUs` of work per operation and repetition.
 */
function measure(payload: string, value: unknown, repetitions: number, budgetUs: number): CodecRow {
  const packed = msgpackCodec.encode(value).slice();
  const json = jsonCodec.encode(value).slice();
  const text = new TextDecoder().decode(json);
  const ops = {
    farcallMsgpackEncode: () => msgpackCodec.encode(value),
    msgpackrPack: () => pack(value),
    farcallMsgpackDecode: () => msgpackCodec.decode(packed, limits),
    msgpackrUnpack: () => unpack(packed),
    farcallJsonEncode: () => jsonCodec.encode(value),
    jsonStringify: () => JSON.stringify(value),
    farcallJsonDecode: () => jsonCodec.decode(json, limits),
    jsonParse: () => JSON.parse(text),
  };
  const names = Object.keys(ops) as (keyof typeof ops)[];
  // Warm-up, and an estimate of each operation's cost to size the repetitions.
  const n: Record<string, number> = {};
  for (const name of names) {
    time(ops[name], 2_000);
    n[name] = Math.max(1_000, Math.round(budgetUs / time(ops[name], 2_000)));
  }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < repetitions; r++) {
    for (const name of names) samples[name]?.push(time(ops[name], n[name] as number));
  }
  const row = { payload, msgpackBytes: packed.length, jsonBytes: json.length } as CodecRow;
  for (const name of names) row[name] = median(samples[name] as number[]);
  return row;
}

export function runCodecs(quick: boolean): CodecRow[] {
  const rows = codecPayloads.map(([name, value]) => measure(name, value, quick ? 3 : 7, quick ? 20_000 : 150_000));
  void sink;
  return rows;
}

const f = (us: number) => us.toFixed(2);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

/** The codec table, in markdown. */
export function codecTable(rows: readonly CodecRow[]): string {
  const lines = [
    "| payload | msgpack B | JSON B | msgpack encode µs | msgpackr pack µs | ratio | msgpack decode µs | msgpackr unpack µs | ratio | JSON encode µs | JSON.stringify µs | ratio | JSON decode µs | JSON.parse µs | ratio |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.payload} | ${r.msgpackBytes} | ${r.jsonBytes} | ${f(r.farcallMsgpackEncode)} | ${f(r.msgpackrPack)} | ${ratio(r.farcallMsgpackEncode, r.msgpackrPack)}` +
        ` | ${f(r.farcallMsgpackDecode)} | ${f(r.msgpackrUnpack)} | ${ratio(r.farcallMsgpackDecode, r.msgpackrUnpack)}` +
        ` | ${f(r.farcallJsonEncode)} | ${f(r.jsonStringify)} | ${ratio(r.farcallJsonEncode, r.jsonStringify)}` +
        ` | ${f(r.farcallJsonDecode)} | ${f(r.jsonParse)} | ${ratio(r.farcallJsonDecode, r.jsonParse)} |`,
    );
  }
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("codecs.js")) {
  console.log(codecTable(runCodecs(process.env.BENCH_QUICK === "1")));
}
