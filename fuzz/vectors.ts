/**
 * The conformance vectors of testdata/vectors/ as seed inputs, and the fuzz regression vectors of
 * testdata/vectors/fuzz-regressions/ (one file per target).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { type XdrType, xdr } from "../src/index.js";

/** testdata/vectors/, from dist/fuzz/ (this file's compiled place) two levels below the root. */
const vectorsDir = new URL("../../testdata/vectors/", import.meta.url);

const text = new TextEncoder();

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function load<T>(rel: string): T {
  return JSON.parse(readFileSync(new URL(rel, vectorsDir), "utf8")) as T;
}

interface BytesVector {
  readonly hex?: string;
  readonly text?: string;
}

function bytesOf(v: BytesVector): Uint8Array {
  return v.hex !== undefined ? fromHex(v.hex) : text.encode(v.text ?? "");
}

/** The JSON codec's valid and invalid texts. */
export function jsonVectors(): Uint8Array[] {
  return ["json/valid.json", "json/invalid.json"].flatMap((f) =>
    load<{ vectors: BytesVector[] }>(f).vectors.map(bytesOf),
  );
}

/** The MessagePack valid and invalid encodings. */
export function msgpackVectors(): Uint8Array[] {
  return ["msgpack/valid.json", "msgpack/invalid.json"].flatMap((f) =>
    load<{ vectors: BytesVector[] }>(f).vectors.map(bytesOf),
  );
}

/** The request texts of the JSON-RPC 2.0 specification's examples. */
export function jsonRpcRequests(): Uint8Array[] {
  return load<{ vectors: { request: string }[] }>("jsonrpc/spec.json").vectors.map((v) => text.encode(v.request));
}

/** farcall framing: the preface, each frame, and the whole stream. */
export interface FramingVectors {
  readonly preface: Uint8Array;
  readonly frames: { type: number; flags: number; id: number; payload: Uint8Array }[];
  readonly stream: Uint8Array;
}

export function framingVectors(): FramingVectors {
  const d = load<{
    preface: string;
    stream: string;
    frames: { type: number; flags: number; id: number; payload: string }[];
  }>("framing/frames.json");
  return {
    preface: fromHex(d.preface),
    stream: fromHex(d.stream),
    frames: d.frames.map((f) => ({ ...f, payload: fromHex(f.payload) })),
  };
}

/** A frame's bytes: the 10-byte header and the payload. */
export function frameBytes(type: number, flags: number, id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(10 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  out[4] = type;
  out[5] = flags;
  view.setUint32(6, id >>> 0);
  out.set(payload, 10);
  return out;
}

/** struct node { int value; node *next; }: the recursive type the XDR vectors name `intList`. */
export const intList: XdrType = xdr.struct("node", [
  ["value", xdr.int],
  ["next", xdr.optional(xdr.lazy(() => intList))],
]);

/** The XDR vectors: every distinct type, and each encoding with the index of its type. */
export function xdrVectors(): { types: XdrType[]; cases: { type: number; bytes: Uint8Array }[] } {
  const types: XdrType[] = [];
  const index = new Map<string, number>();
  const cases: { type: number; bytes: Uint8Array }[] = [];
  for (const f of ["xdr/valid.json", "xdr/invalid.json"]) {
    for (const v of load<{ vectors: { type?: unknown; typeRef?: string; hex: string }[] }>(f).vectors) {
      const key = v.typeRef ?? JSON.stringify(v.type);
      let i = index.get(key);
      if (i === undefined) {
        i = types.length;
        index.set(key, i);
        types.push(v.typeRef === "intList" ? intList : (v.type as XdrType));
      }
      cases.push({ type: i, bytes: fromHex(v.hex) });
    }
  }
  return { types, cases };
}

/** One input a fuzzer or a property test found, kept so that it is replayed on every run. */
export interface RegressionVector {
  readonly name: string;
  readonly hex: string;
  /** What went wrong and where, and how it was fixed (or why it is not). */
  readonly note: string;
  /**
   * `fixed`: the target must now accept or refuse it with RpcError. `open`: a bug outside the
   * files this harness may change; the replay asserts what should happen and fails until it is fixed.
   */
  readonly status: "fixed" | "open";
}

const regressionsDir = new URL("fuzz-regressions/", vectorsDir);

/** The regression vectors of `target` (none when it has no file). */
export function regressionVectors(target: string): RegressionVector[] {
  const file = new URL(`${target}.json`, regressionsDir);
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, "utf8")) as { vectors: RegressionVector[] }).vectors;
}

/** Appends vectors to `target`'s file (skipping inputs already there). Returns how many were new. */
export function saveRegressions(target: string, add: RegressionVector[]): number {
  const file = new URL(`${target}.json`, regressionsDir);
  const have = regressionVectors(target);
  const known = new Set(have.map((v) => v.hex));
  const fresh = add.filter((v) => !known.has(v.hex));
  if (fresh.length === 0) return 0;
  const doc = {
    description: `Inputs the fuzzer or the property tests found for the ${target} target (fuzz/targets/), replayed by test/fuzz-short.test.ts.`,
    vectors: [...have, ...fresh],
  };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return fresh.length;
}
