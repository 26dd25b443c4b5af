/** Targets for the codecs: JSON, MessagePack and XDR. */
import { decodeMsgpack } from "../../src/codec/msgpack-decode.js";
import { defaultLimits } from "../../src/core/limits.js";
import { decodeXdr, encodeXdr, jsonCodec, msgpackCodec, xdrFromJson, xdrToJson } from "../../src/index.js";
import { unmeasured } from "../alloc-guard.js";
import type { FuzzTarget } from "../engine.js";
import { jsonVectors, msgpackVectors, xdrVectors } from "../vectors.js";
import { CheckFailed, check, sameBytes, sameValue, show, utf8 } from "./check.js";

const limits = { maxDepth: defaultLimits.maxDepth, maxKeys: defaultLimits.maxKeys };

/** What JSON text can carry of a number: -0 is written 0, and infinities (from 1e400) null. */
function jsonCarried(value: unknown): unknown {
  if (typeof value === "number") return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
  if (value instanceof Uint8Array || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(jsonCarried);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = jsonCarried(v);
  return out;
}

/**
 * What MessagePack carries of a number: -0 is written as the integer 0, by farcall's encoder and
 * by msgpackr for the values it leaves to it (src/codec/msgpack-encode.test.ts pins `-0` → `00`).
 */
function msgpackCarried(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (value === null || typeof value !== "object" || value instanceof Uint8Array || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(msgpackCarried);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = msgpackCarried(v);
  return out;
}

/** JSON codec: bytes decode or are refused; what decodes encodes and decodes back to itself. */
export const jsonTarget: FuzzTarget = {
  name: "json",
  description: "jsonCodec.decode (src/codec/json.ts); a decoded value must survive encode → decode",
  seeds: jsonVectors,
  tokens: [
    "__proto__",
    '"$bytes"',
    "\\u005f",
    "\\ud800",
    "1e400",
    "-0",
    "[",
    "{",
    '":',
    "true",
    "null",
    "\xef\xbb\xbf",
  ].map((s) => utf8.encode(s)),
  maxLength: 16 * 1024,
  // The key scan's counters (one Int32 per level), the text's copy and the values JSON.parse builds.
  allocLimit: (n) => 8 * n + 4096,
  run(bytes) {
    const value = jsonCodec.decode(bytes, limits);
    let again: unknown;
    try {
      // The encoder writes into a shared 64 KiB slab: not the decoder's allocation.
      again = unmeasured(() => jsonCodec.decode(jsonCodec.encode(value), limits));
    } catch (err) {
      throw new CheckFailed(`decoded value ${show(value)} does not survive encode → decode: ${String(err)}`);
    }
    check(sameValue(jsonCarried(value), again), () => `round trip changed ${show(value)} into ${show(again)}`);
  },
};

/** MessagePack: farcall's own decoder; what decodes encodes (farcall's encoder) and decodes back to itself. */
export const msgpackTarget: FuzzTarget = {
  name: "msgpack",
  description: "decodeMsgpack (src/codec/msgpack-decode.ts); a decoded value must survive msgpackCodec encode → decode",
  seeds: msgpackVectors,
  tokens: [
    [0xdc, 0xff, 0xff],
    [0xdd, 0xff, 0xff, 0xff, 0xff],
    [0xdf, 0x00, 0x00, 0x27, 0x11],
    [0xdb, 0x7f, 0xff, 0xff, 0xff],
    [0xc6, 0xff, 0xff, 0xff, 0xff],
    [0xc7, 0x0c, 0xff],
    [0xd7, 0xff],
    [0xd6, 0xff],
    [0xd4, 0x00, 0x00],
    [0xa9, ...utf8.encode("__proto__")],
    [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
    [0x91],
    [0x81],
  ].map((b) => Uint8Array.from(b)),
  maxLength: 16 * 1024,
  // Arrays of at most one element per byte left (8 bytes each), views for byte strings.
  allocLimit: (n) => 8 * n + 1024,
  run(bytes) {
    const value = decodeMsgpack(bytes, limits);
    let again: unknown;
    try {
      again = unmeasured(() => msgpackCodec.decode(msgpackCodec.encode(value), limits));
    } catch (err) {
      throw new CheckFailed(`decoded value ${show(value)} does not survive encode → decode: ${String(err)}`);
    }
    check(sameValue(msgpackCarried(value), again), () => `round trip changed ${show(value)} into ${show(again)}`);
  },
};

function hasNaN(value: unknown): boolean {
  if (typeof value === "number") return Number.isNaN(value);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return false;
  return Object.values(value).some(hasNaN);
}

const xdrTable = xdrVectors();

/**
 * XDR: the first byte picks one of the vectors' types, the rest is decoded as it; what decodes
 * must encode to the same bytes (strict decoding, docs/xdr.md) and survive the JSON mapping.
 */
export const xdrTarget: FuzzTarget = {
  name: "xdr",
  description: "decodeXdr (src/codec/xdr/) over the vectors' types; decode → encode gives the same bytes",
  seeds: () => xdrTable.cases.map((c) => Uint8Array.of(c.type, ...c.bytes)),
  tokens: [
    [0, 0, 0, 0],
    [0, 0, 0, 1],
    [0xff, 0xff, 0xff, 0xff],
    [0x80, 0, 0, 0],
    [0x7f, 0xff, 0xff, 0xff],
    [0x61, 0x62, 0x63, 0x64],
    [0xef, 0xbb, 0xbf, 0],
  ].map((b) => Uint8Array.from(b)),
  maxLength: 8 * 1024,
  allocLimit: (n) => 8 * n + 1024,
  run(input) {
    if (input.length === 0) return;
    const type = xdrTable.types[(input[0] as number) % xdrTable.types.length];
    if (type === undefined) return;
    const bytes = input.subarray(1);
    const value = decodeXdr(type, bytes);
    if (hasNaN(value)) return; // NaN payloads need not survive
    const back = unmeasured(() => encodeXdr(type, value));
    check(sameBytes(back, bytes), () => `decoded ${show(value)} encodes to other bytes`);
    let viaJson: Uint8Array;
    try {
      viaJson = unmeasured(() => encodeXdr(type, xdrFromJson(type, xdrToJson(type, value))));
    } catch (err) {
      throw new CheckFailed(`decoded ${show(value)} does not survive the JSON mapping: ${String(err)}`);
    }
    check(sameBytes(viaJson, bytes), () => `decoded ${show(value)} changes through the JSON mapping`);
  },
};
