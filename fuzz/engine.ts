/**
 * The fuzzing loop. Each target is a function of bytes that must return or throw `RpcError`, and
 * nothing else, within its allocation bound and in bounded time. The loop mutates corpus entries
 * (fuzz/mutate.ts), runs them, and keeps an input when V8 block coverage (fuzz/coverage.ts) says
 * it ran a block of farcall's source that no input ran before.
 *
 * Coverage is taken once per batch of {@link batchSize} inputs, not per input: taking it costs far
 * more than most executions. A batch that covered something new is run again input by input, to
 * find the inputs that did; after the first seconds few batches do, so the cost is about one take
 * per batch.
 */
import { RpcError } from "../src/core/rpc-error.js";
import { beginMeasure, endMeasure } from "./alloc-guard.js";
import type { BlockCoverage } from "./coverage.js";
import { mutate, Rng } from "./mutate.js";

/** A decoder, sniffer or framer under test. */
export interface FuzzTarget {
  readonly name: string;
  /** One line: what is fed and what is checked. */
  readonly description: string;
  /** Valid and invalid inputs to start from (the conformance vectors). */
  seeds(): Uint8Array[];
  /** Magic numbers and keywords the mutator may insert. */
  readonly tokens: readonly Uint8Array[];
  /** Inputs never grow past this many bytes. */
  readonly maxLength: number;
  /** The largest single allocation allowed while an input of `n` bytes runs. */
  allocLimit(n: number): number;
  /** Runs one input; throws anything but an `RpcError` only on a bug. */
  run(bytes: Uint8Array): void | Promise<void>;
}

/** Something a target did that it must not. */
export interface Finding {
  readonly target: string;
  readonly kind: "error" | "allocation" | "slow" | "hang";
  /** The error, or what was allocated, or how long it took. */
  readonly message: string;
  readonly input: Uint8Array;
}

export interface FuzzOptions {
  /** Stop after this many executions (seeds included). */
  readonly execs?: number | undefined;
  /** Stop after this many seconds. */
  readonly seconds?: number | undefined;
  readonly seed?: number | undefined;
  /** Coverage feedback; without it the corpus stays the seeds (blind mutation). */
  readonly coverage?: BlockCoverage | undefined;
  /** An execution that takes longer is a finding. Default 1,000 ms. */
  readonly slowMs?: number | undefined;
  /** Called with each input before it runs (the runner's hang watchdog keeps the last). */
  readonly onInput?: ((input: Uint8Array) => void) | undefined;
  /** Shrink findings before reporting them (default true). */
  readonly minimize?: boolean | undefined;
}

export interface FuzzStats {
  readonly target: string;
  readonly execs: number;
  readonly seconds: number;
  /** Executions that ended with an RpcError (the input was refused). */
  readonly refused: number;
  readonly corpus: number;
  /** Blocks covered by the end (0 without coverage). */
  readonly features: number;
  readonly findings: Finding[];
}

export const batchSize = 16;

function describe(err: unknown): string {
  if (err instanceof Error) {
    const frame = err.stack?.split("\n").find((l) => l.trim().startsWith("at "));
    return `${err.name}: ${err.message}${frame === undefined ? "" : ` (${frame.trim()})`}`;
  }
  return `non-error thrown: ${String(err)}`;
}

/** The outcome of one input: undefined when it returned, "refused" on an RpcError, else a finding. */
export async function runInput(
  target: FuzzTarget,
  input: Uint8Array,
  slowMs = 1000,
): Promise<Finding | "refused" | undefined> {
  let error: unknown;
  let threw = false;
  const started = performance.now();
  beginMeasure();
  try {
    const r = target.run(input);
    if (r !== undefined) await r;
  } catch (err) {
    threw = true;
    error = err;
  }
  const alloc = endMeasure();
  const ms = performance.now() - started;
  if (threw && !(error instanceof RpcError)) {
    return { target: target.name, kind: "error", message: describe(error), input };
  }
  const limit = target.allocLimit(input.length);
  if (alloc.largest > limit) {
    const message = `${alloc.what} (${alloc.largest} bytes) for ${input.length} input bytes; the bound is ${limit}`;
    return { target: target.name, kind: "allocation", message, input };
  }
  if (ms > slowMs) {
    return { target: target.name, kind: "slow", message: `took ${Math.round(ms)} ms (over ${slowMs})`, input };
  }
  return threw ? "refused" : undefined;
}

/** Findings with the same signature are one bug: the kind and the message without its numbers. */
export function signature(f: Finding): string {
  return `${f.kind}|${f.message.replace(/0x[0-9a-f]+|\d+/gi, "#")}`;
}

/** Removes pieces of a finding's input while it still gives the same signature (at most `budget` runs). */
async function shrink(target: FuzzTarget, finding: Finding, slowMs: number, budget = 400): Promise<Finding> {
  const want = signature(finding);
  let best = finding;
  let runs = 0;
  for (let chunk = Math.max(1, best.input.length >> 1); chunk >= 1 && runs < budget; chunk >>= 1) {
    let at = 0;
    while (at < best.input.length && runs < budget) {
      const bytes = best.input;
      const candidate = new Uint8Array(bytes.length - Math.min(chunk, bytes.length - at));
      candidate.set(bytes.subarray(0, at));
      candidate.set(bytes.subarray(at + chunk), at);
      runs++;
      const got = await runInput(target, candidate, slowMs);
      if (typeof got === "object" && signature(got) === want) best = got;
      else at += chunk;
    }
  }
  return best;
}

/** Fuzzes one target until the execution or time budget is spent. */
export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzStats> {
  const rng = new Rng(options.seed ?? 1);
  const slowMs = options.slowMs ?? 1000;
  const maxExecs = options.execs ?? Number.POSITIVE_INFINITY;
  const started = performance.now();
  const deadline = options.seconds === undefined ? Number.POSITIVE_INFINITY : started + options.seconds * 1000;
  const coverage = options.coverage;
  const findings = new Map<string, Finding>();
  let execs = 0;
  let refused = 0;

  const record = (got: Finding | "refused" | undefined) => {
    if (got === "refused") refused++;
    else if (got !== undefined) {
      const key = signature(got);
      const known = findings.get(key);
      if (known === undefined || got.input.length < known.input.length) findings.set(key, got);
    }
  };
  const exec = async (input: Uint8Array) => {
    options.onInput?.(input);
    execs++;
    record(await runInput(target, input, slowMs));
  };

  const seen = new Set<string>();
  const corpus: Uint8Array[] = [];
  const addSeed = (s: Uint8Array) => {
    const key = Buffer.from(s).toString("hex");
    if (seen.has(key)) return;
    seen.add(key);
    corpus.push(s);
  };
  for (const s of target.seeds()) addSeed(s.length > target.maxLength ? s.subarray(0, target.maxLength) : s);
  if (corpus.length === 0) addSeed(new Uint8Array(0));
  coverage?.takeNew(false);
  for (const s of corpus) {
    if (execs >= maxExecs) break;
    await exec(s);
  }
  coverage?.takeNew(true);

  const ctx = { rng, corpus, tokens: target.tokens, maxLength: target.maxLength };
  while (execs < maxExecs && performance.now() < deadline) {
    const batch: Uint8Array[] = [];
    for (let i = 0; i < batchSize && execs < maxExecs; i++) {
      const input = mutate(rng.pick(corpus), ctx);
      batch.push(input);
      await exec(input);
    }
    if (coverage === undefined || coverage.takeNew(false) === 0) continue;
    for (const input of batch) {
      if (execs >= maxExecs) break;
      await exec(input);
      if (coverage.takeNew(true) > 0) corpus.push(input);
    }
  }

  let list = [...findings.values()];
  if (options.minimize !== false) {
    const shrunk: Finding[] = [];
    for (const f of list) shrunk.push(f.kind === "slow" ? f : await shrink(target, f, slowMs));
    list = shrunk;
  }
  return {
    target: target.name,
    execs,
    seconds: (performance.now() - started) / 1000,
    refused,
    corpus: corpus.length,
    features: coverage?.size ?? 0,
    findings: list,
  };
}
