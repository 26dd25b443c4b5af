/**
 * Targets for the framers: farcall frames and their payloads, the JSON stream splitter (and the
 * raw-JSON scanners JSON-RPC uses on what it cuts), ONC RPC record marking and call headers.
 * Each framer is fed its input in chunks cut where the input's hash says, and its output is
 * compared with a reference reading of the same bytes.
 */
import { fromJsonText, utf8Text } from "../../src/codec/json.js";
import { XdrReader } from "../../src/codec/xdr/decode.js";
import { defaultLimits } from "../../src/core/limits.js";
import { RpcError } from "../../src/core/rpc-error.js";
import { jsonCodec, msgpackCodec } from "../../src/index.js";
import { Flag, FrameType } from "../../src/protocol/farcall/constants.js";
import { FrameReader } from "../../src/protocol/farcall/frame-reader.js";
import {
  decodeMessage,
  decodeMetadata,
  PayloadReader,
  parseError,
  parseRequest,
} from "../../src/protocol/farcall/payload.js";
import { JsonSplitter } from "../../src/protocol/json/json-splitter.js";
import { arraySpans, rawElements, rawMember } from "../../src/protocol/json/raw-json.js";
import { answerCall, type CallSite } from "../../src/protocol/oncrpc/call.js";
import { RecordReader } from "../../src/protocol/oncrpc/records.js";
import { unmeasured } from "../alloc-guard.js";
import type { FuzzTarget } from "../engine.js";
import { frameBytes, framingVectors, jsonRpcRequests, jsonVectors, xdrVectors } from "../vectors.js";
import { check, chunksOf, hashBytes, sameBytes, sameValue, show, utf8 } from "./check.js";
import { failingProc, fuzzProgram, fuzzRouter, fuzzVersion, laterProc, throwingProc } from "./fixtures.js";

// ---------------------------------------------------------------------------------------------
// farcall frames

const limits = defaultLimits;
/** docs/protocol.md §3: maxMessageBytes + maxMetadataBytes + 512. */
const maxFrameBytes = limits.maxMessageBytes + limits.maxMetadataBytes + 512;

/** Parses a frame's payload with payload.ts, as the sessions do for each type. */
function parsePayload(type: number, flags: number, payload: Uint8Array, json: boolean): void {
  const codec = json ? jsonCodec : msgpackCodec;
  switch (type) {
    case FrameType.Request: {
      const head = parseRequest(flags, payload, limits.maxMetadataBytes);
      decodeMessage(codec, head.message, limits);
      return;
    }
    case FrameType.Response:
    case FrameType.End: {
      const r = new PayloadReader(payload);
      if ((flags & Flag.Metadata) !== 0) decodeMetadata(r.block(limits.maxMetadataBytes, "metadata"));
      decodeMessage(codec, r.rest(), limits);
      return;
    }
    case FrameType.Error:
      parseError(flags, payload, limits.maxMetadataBytes, (bytes) => decodeMessage(codec, bytes, limits));
      return;
    case FrameType.Data:
      decodeMessage(codec, payload, limits);
      return;
    case FrameType.Window:
      new PayloadReader(payload).u32("window increment");
      return;
    case FrameType.GoAway: {
      const r = new PayloadReader(payload);
      r.u8("code");
      r.take(r.u16("message length"), "message");
      return;
    }
    default:
      return;
  }
}

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Uint8Array;
}

/** The frames a correct reader finds in `bytes`, and whether it must stop on an oversized length. */
function referenceFrames(bytes: Uint8Array): { frames: Frame[]; oversized: boolean; rest: number } {
  const frames: Frame[] = [];
  if (bytes.length < 8) return { frames, oversized: false, rest: bytes.length };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 8;
  while (bytes.length - at >= 10) {
    const length = view.getUint32(at);
    if (length > maxFrameBytes) return { frames, oversized: true, rest: 0 };
    if (bytes.length - at - 10 < length) break;
    frames.push({
      type: bytes[at + 4] as number,
      flags: bytes[at + 5] as number,
      id: view.getUint32(at + 6),
      payload: bytes.subarray(at + 10, at + 10 + length),
    });
    at += 10 + length;
  }
  return { frames, oversized: false, rest: bytes.length - at };
}

const framing = framingVectors();

export const farcallFramesTarget: FuzzTarget = {
  name: "farcall-frames",
  description: "FrameReader (src/protocol/farcall/frame-reader.ts) in random chunks, each payload through payload.ts",
  seeds: () => {
    const { preface, frames, stream } = framing;
    const one = frames.map((f) => Uint8Array.of(...preface, ...frameBytes(f.type, f.flags, f.id, f.payload)));
    const jsonPreface = Uint8Array.of(...preface.subarray(0, 5), 1, 0, 0);
    const jsonFrames = jsonVectors().map((v) => Uint8Array.of(...jsonPreface, ...frameBytes(FrameType.Data, 0, 1, v)));
    return [stream, ...one, ...jsonFrames];
  },
  tokens: [
    [0x7f, 0x46, 0x41, 0x52, 0x01, 0x02, 0x00, 0x00],
    [0x00, 0x40, 0x22, 0x00],
    [0x00, 0x00, 0x00, 0x00, 0x01, 0x07, 0x00, 0x00, 0x00, 0x01],
    [0x00, 0x02, 0x00, 0x01, 0x61],
    [0x00, 0x01, 0x01, 0x61, 0x00, 0x01, 0x62],
  ].map((b) => Uint8Array.from(b)),
  maxLength: 64 * 1024,
  // Eager bodies up to 128 KiB, the 64 KiB slab, and a larger body's buffer at most 4 times the
  // bytes received (docs/architecture.md); messages decode to at most 8 bytes an input byte.
  allocLimit: (n) => Math.max(128 * 1024, 8 * n) + 1024,
  run(bytes) {
    const h = hashBytes(bytes);
    const transient = (h & 0x100) !== 0;
    const got: Frame[] = [];
    let json = false;
    let prefaces = 0;
    const reader = new FrameReader(
      {
        onPreface(p) {
          prefaces++;
          check(sameBytes(p, bytes.subarray(0, 8)), "preface differs from the first 8 bytes");
          json = p[5] === 1;
        },
        onFrame(type, flags, id, payload) {
          check(payload.length <= maxFrameBytes, `payload of ${payload.length} bytes passed the limit`);
          got.push({ type, flags, id, payload });
          try {
            parsePayload(type, flags, payload, json);
          } catch (err) {
            if (!(err instanceof RpcError)) throw err;
          }
        },
      },
      maxFrameBytes,
      transient,
    );
    let failed: RpcError | undefined;
    for (const chunk of chunksOf(bytes)) {
      // A transient chunk is valid only during push: scribble over it after, so a kept view shows.
      const c = transient ? chunk.slice() : chunk;
      try {
        reader.push(c);
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        failed = err;
        break;
      }
      if (transient) c.fill(0xee);
    }
    const want = unmeasured(() => referenceFrames(bytes));
    check(prefaces === (bytes.length >= 8 ? 1 : 0), `${prefaces} prefaces for ${bytes.length} bytes`);
    check(
      want.oversized === (failed !== undefined),
      () => `reader ${failed ? `failed: ${failed.message}` : "went on"}`,
    );
    check(got.length === want.frames.length, `${got.length} frames read, ${want.frames.length} in the bytes`);
    for (const [i, w] of want.frames.entries()) {
      const g = got[i] as Frame;
      check(
        g.type === w.type && g.flags === w.flags && g.id === w.id && sameBytes(g.payload, w.payload),
        `frame ${i} differs from the bytes`,
      );
    }
    if (failed === undefined && bytes.length >= 8) {
      check(reader.idle === (want.rest === 0), `idle is ${reader.idle} with ${want.rest} bytes of a frame left`);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// JSON splitter and raw JSON

const splitterLimits = { maxMessageBytes: 4096, maxDepth: 64 };
const isBlank = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Checks the raw-JSON scanners against JSON.parse on a text that parsed. */
function checkRaw(text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  if (Array.isArray(parsed)) {
    const raw = rawElements(text);
    check(raw.length === parsed.length, `rawElements found ${raw.length} of ${parsed.length} elements`);
    for (const [i, r] of raw.entries()) {
      check(sameValue(JSON.parse(r), parsed[i]), () => `rawElements[${i}] ${show(r)} is not ${show(parsed[i])}`);
    }
    const spans = arraySpans(text, 1000);
    if (parsed.length <= 1000) {
      check(spans !== undefined && spans.length === 2 * raw.length, "arraySpans disagrees with rawElements");
      for (let i = 0; i < raw.length; i++) {
        check(text.slice(spans[2 * i], spans[2 * i + 1]) === raw[i], `arraySpans element ${i} differs`);
      }
    } else check(spans === undefined, "arraySpans took an array over its maximum");
  } else if (typeof parsed === "object" && parsed !== null) {
    const keys = new Set(["id", "method", "jsonrpc", ...Object.keys(parsed).slice(0, 3)]);
    for (const key of keys) {
      const raw = rawMember(text, key);
      if (!Object.hasOwn(parsed, key)) check(raw === undefined, `rawMember found ${key}, which is absent`);
      else {
        const want = (parsed as Record<string, unknown>)[key];
        check(
          raw !== undefined && sameValue(JSON.parse(raw), want),
          () => `rawMember(${key}) ${show(raw)} is not ${show(want)}`,
        );
      }
    }
  }
}

export const jsonSplitterTarget: FuzzTarget = {
  name: "json-splitter",
  description: "JsonSplitter (src/protocol/json/json-splitter.ts) in random chunks; raw-json.ts on each text",
  seeds: () => {
    const requests = jsonRpcRequests();
    return [...requests, ...jsonVectors(), utf8.encode(requests.map((r) => new TextDecoder().decode(r)).join("\n"))];
  },
  tokens: ["{", "}", "[", "]", '"', "\\", '\\"', "\\\\", " \n", '{"jsonrpc":"2.0","id":1,"method":"x"}', '"id":'].map(
    (s) => utf8.encode(s),
  ),
  maxLength: 16 * 1024,
  // A value that spans chunks is joined once (its size is bounded by maxMessageBytes).
  allocLimit: (n) => Math.min(n, splitterLimits.maxMessageBytes) + 8 * n + 1024,
  run(bytes) {
    const splitter = new JsonSplitter(splitterLimits);
    const texts: Uint8Array[] = [];
    let failed = false;
    for (const chunk of chunksOf(bytes)) {
      try {
        texts.push(...splitter.push(chunk));
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        failed = true;
        break;
      }
      if (splitter.error !== undefined) {
        failed = true;
        break;
      }
    }
    // Each text must be the input's next value, with only blanks before it.
    let pos = 0;
    for (const t of texts) {
      while (isBlank(bytes[pos])) pos++;
      check(sameBytes(bytes.subarray(pos, pos + t.length), t), `text at ${pos} is not the input's bytes`);
      check(t[0] === 0x7b || t[0] === 0x5b, `text at ${pos} does not open with { or [`);
      const last = t[t.length - 1];
      check(last === (t[0] as number) + 2, `text at ${pos} does not close with its bracket`);
      check(t.length <= splitterLimits.maxMessageBytes, `text of ${t.length} bytes passed maxMessageBytes`);
      pos += t.length;
      try {
        fromJsonText(utf8Text(t), defaultLimits);
        unmeasured(() => checkRaw(new TextDecoder().decode(t)));
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
      }
    }
    if (!failed) {
      while (isBlank(bytes[pos])) pos++;
      check(splitter.buffered === bytes.length - pos, `${splitter.buffered} bytes held, ${bytes.length - pos} left`);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// ONC RPC record marking

const maxRecordBytes = 4096;

/** The records a correct reader finds, and whether it must stop on a record over the limit. */
function referenceRecords(bytes: Uint8Array): { records: Uint8Array[]; over: boolean } {
  const records: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 0;
  let parts: Uint8Array[] = [];
  let size = 0;
  while (bytes.length - at >= 4) {
    const word = view.getUint32(at);
    const length = word & 0x7fff_ffff;
    size += 4 + length;
    if (size > maxRecordBytes) return { records, over: true };
    at += 4;
    if (bytes.length - at < length) break;
    parts.push(bytes.subarray(at, at + length));
    at += length;
    if (word >= 0x8000_0000) {
      const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        whole.set(p, o);
        o += p.length;
      }
      records.push(whole);
      parts = [];
      size = 0;
    }
  }
  return { records, over: false };
}

/** ONC RPC calls: the echo procedures of the fuzz program over the vectors' encodings. */
function callSeeds(): Uint8Array[] {
  const { cases } = xdrVectors();
  const header = (proc: number, cred: number[] = [0, 0]) => {
    const words = [0x1234_5678, 0, 2, fuzzProgram, fuzzVersion, proc, ...cred, 0, 0];
    const out = new Uint8Array(words.length * 4);
    const v = new DataView(out.buffer);
    for (const [i, w] of words.entries()) v.setUint32(4 * i, w >>> 0);
    return out;
  };
  // AUTH_SYS: stamp, machinename "fz", uid, gid, one gid.
  const sys = [1, 24, 7, 2, 0x667a_0000, 1000, 1000, 1, 27];
  const out = cases.map((c) => Uint8Array.of(...header(c.type + 1), ...c.bytes));
  out.push(
    header(0),
    Uint8Array.of(...header(failingProc), 0, 0, 0, 1),
    Uint8Array.of(...header(throwingProc), 0, 0, 0, 1),
    Uint8Array.of(...header(laterProc, sys), 0, 0, 0, 1),
    Uint8Array.of(...header(999), 0, 0, 0, 0),
  );
  return out;
}

/** A mark for a one-fragment record of `record`, and the record. */
function marked(record: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + record.length);
  new DataView(out.buffer).setUint32(0, (0x8000_0000 | record.length) >>> 0);
  out.set(record, 4);
  return out;
}

export const oncRecordsTarget: FuzzTarget = {
  name: "oncrpc-records",
  description: "RecordReader (src/protocol/oncrpc/records.ts) in random chunks against a reference reading",
  seeds: () => {
    const calls = callSeeds().map(marked);
    // The same call in two fragments, and two records back to back.
    const first = callSeeds()[0] ?? new Uint8Array(8);
    const split = new Uint8Array(8 + first.length);
    const v = new DataView(split.buffer);
    v.setUint32(0, 4);
    split.set(first.subarray(0, 4), 4);
    v.setUint32(8, (0x8000_0000 | (first.length - 4)) >>> 0);
    split.set(first.subarray(4), 12);
    return [...calls, split.subarray(0, 8 + first.length), Uint8Array.of(...(calls[0] ?? []), ...(calls[1] ?? []))];
  },
  tokens: [
    [0x80, 0, 0, 0],
    [0, 0, 0, 0],
    [0x80, 0, 0x10, 0x00],
    [0xff, 0xff, 0xff, 0xff],
    [0x7f, 0xff, 0xff, 0xff],
  ].map((b) => Uint8Array.from(b)),
  maxLength: 16 * 1024,
  allocLimit: (n) => Math.min(n, maxRecordBytes) + 1024,
  run(bytes) {
    const copy = (hashBytes(bytes) & 0x100) !== 0;
    const reader = new RecordReader(maxRecordBytes, copy);
    const got: Uint8Array[] = [];
    let stopped = false;
    for (const chunk of chunksOf(bytes)) {
      const c = copy ? chunk.slice() : chunk;
      const why = reader.push(c, (record) => {
        got.push(record);
        return true;
      });
      if (copy) c.fill(0xee);
      if (why !== undefined) {
        stopped = true;
        break;
      }
    }
    const want = unmeasured(() => referenceRecords(bytes));
    check(stopped === want.over, `reader ${stopped ? "stopped" : "went on"}; the limit says otherwise`);
    check(got.length === want.records.length, `${got.length} records read, ${want.records.length} in the bytes`);
    for (const [i, r] of want.records.entries()) {
      check(sameBytes(got[i] as Uint8Array, r), `record ${i} differs from the bytes`);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// ONC RPC call header

const site: CallSite = { dispatcher: fuzzRouter(), peer: { transport: "tcp", address: "fuzz" } };

/** Where the arguments start in a call whose header is well formed, else undefined. */
function argsOffset(message: Uint8Array): number | undefined {
  try {
    const r = new XdrReader(message);
    for (let i = 0; i < 6; i++) r.u32();
    r.u32();
    r.fixed(r.u32(), "cred");
    r.u32();
    r.fixed(r.u32(), "verf");
    return r.pos;
  } catch {
    return undefined;
  }
}

function checkReply(message: Uint8Array, reply: Uint8Array): void {
  check(reply.length >= 12 && reply.length % 4 === 0, `reply of ${reply.length} bytes`);
  check(sameBytes(reply.subarray(0, 4), message.subarray(0, 4)), "reply xid differs from the call's");
  const v = new DataView(reply.buffer, reply.byteOffset, reply.length);
  check(v.getUint32(4) === 1, "reply is not a REPLY");
  const stat = v.getUint32(8);
  check(stat === 0 || stat === 1, `reply_stat ${stat}`);
  if (stat !== 0 || reply.length < 24 || v.getUint32(20) !== 0) return;
  // SUCCESS of an echo procedure: the results are the arguments, byte for byte (strict XDR).
  const proc = new DataView(message.buffer, message.byteOffset, message.length).getUint32(20);
  const at = argsOffset(message);
  if (proc === 0 || proc >= failingProc || at === undefined) return;
  check(sameBytes(reply.subarray(24), message.subarray(at)), "echoed results differ from the arguments");
}

export const oncCallTarget: FuzzTarget = {
  name: "oncrpc-call",
  description: "answerCall (src/protocol/oncrpc/call.ts, auth.ts): call header, credentials, XDR arguments, reply",
  seeds: callSeeds,
  tokens: [
    [0, 0, 0, 0],
    [0, 0, 0, 1],
    [0, 0, 0, 2],
    [0x20, 0, 0, 0x99],
    [0, 0, 1, 0x90],
    [0, 0, 1, 0x91],
    [0xff, 0xff, 0xff, 0xff],
  ].map((b) => Uint8Array.from(b)),
  maxLength: 8 * 1024,
  allocLimit: (n) => 8 * n + 1024,
  async run(bytes) {
    const outcome = answerCall(bytes, site);
    if (outcome === "close") {
      const v = bytes.length >= 8 ? new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4) : -1;
      check(bytes.length < 8 || v !== 0, "a CALL was answered by closing");
      return;
    }
    const reply = await outcome.reply;
    check(reply instanceof Uint8Array, "reply is not bytes");
    checkReply(bytes, reply);
  },
};
