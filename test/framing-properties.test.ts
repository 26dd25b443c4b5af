/**
 * Properties of the framers over random values and splits: farcall frames, metadata blocks and
 * REQUEST payloads, the JSON splitter, ONC RPC record marking and call headers and AUTH_SYS come
 * back as they were sent, whatever the chunk boundaries; and every fuzz target (fuzz/targets/),
 * the HTTP routes, WebSocket sessions and the sniffer included, given random bytes or a mutated
 * seed, only returns or throws RpcError, within its allocation bound.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import fc from "fast-check";
import { installAllocGuard } from "../fuzz/alloc-guard.js";
import { runInput } from "../fuzz/engine.js";
import { mutate, Rng } from "../fuzz/mutate.js";
import { fuzzProgram, fuzzRouter, fuzzVersion } from "../fuzz/targets/fixtures.js";
import { targets } from "../fuzz/targets/index.js";
import { frameBytes } from "../fuzz/vectors.js";
import { XdrReader } from "../src/codec/xdr/decode.js";
import { XdrWriter } from "../src/codec/xdr/encode.js";
import { Flag } from "../src/protocol/farcall/constants.js";
import { FrameReader } from "../src/protocol/farcall/frame-reader.js";
import { decodeMetadata, encodeMetadata, parseRequest } from "../src/protocol/farcall/payload.js";
import { JsonSplitter } from "../src/protocol/json/json-splitter.js";
import { readAuthSys, writeCredential } from "../src/protocol/oncrpc/auth.js";
import { answerCall } from "../src/protocol/oncrpc/call.js";
import { RecordReader } from "../src/protocol/oncrpc/records.js";
import { concat, toHex } from "./bytes.js";

const SEED = 20_240_613;

before(() => installAllocGuard());

/** `bytes` cut at the given points (taken modulo its length). */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => (bytes.length === 0 ? 0 : p % bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of at) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out.filter((c) => c.length > 0);
}

const splits = fc.array(fc.nat(), { maxLength: 12 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

test("farcall frames come back whole and in order, however the stream is split", () => {
  const frame = fc.record({
    type: fc.integer({ min: 1, max: 11 }),
    flags: fc.integer({ min: 0, max: 255 }),
    id: u32,
    payload: fc.uint8Array({ maxLength: 300 }),
  });
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 8 }), splits, fc.boolean(), (frames, points, transient) => {
      const preface = Uint8Array.of(0x7f, 0x46, 0x41, 0x52, 1, 2, 0, 0);
      const stream = concat([preface, ...frames.map((f) => frameBytes(f.type, f.flags, f.id, f.payload))]);
      const got: { type: number; flags: number; id: number; payload: string }[] = [];
      let seenPreface = "";
      const reader = new FrameReader(
        {
          onPreface: (p) => {
            seenPreface = toHex(p);
          },
          onFrame: (type, flags, id, payload) => got.push({ type, flags, id, payload: toHex(payload) }),
        },
        4096,
        transient,
      );
      for (const chunk of cut(stream, points)) {
        const c = chunk.slice();
        reader.push(c);
        c.fill(0xee); // a transient chunk is reused once push returns
      }
      assert.equal(seenPreface, toHex(preface));
      assert.deepEqual(
        got,
        frames.map((f) => ({ ...f, payload: toHex(f.payload) })),
      );
      assert.ok(reader.idle);
    }),
    { seed: SEED, numRuns: 800 },
  );
});

const mdKey = fc.stringMatching(/^[0-9a-z_.-]{1,20}$/);
const metadata = fc.dictionary(mdKey, fc.string({ maxLength: 30 }), { maxKeys: 6 });

test("a metadata block decodes to the metadata encoded", () => {
  fc.assert(
    fc.property(metadata, (md) => {
      assert.deepEqual({ ...decodeMetadata(encodeMetadata(md, 8192)) }, { ...md });
    }),
    { seed: SEED + 1, numRuns: 800 },
  );
});

test("a metadata value of any UTF-16 text is written as TextEncoder writes it (lone surrogates as U+FFFD)", () => {
  const utf8 = new TextEncoder();
  const anyText = fc.string({ unit: "binary", maxLength: 40 });
  fc.assert(
    fc.property(fc.dictionary(mdKey, anyText, { maxKeys: 4 }), (md) => {
      const block = encodeMetadata(md, 8192);
      let at = 2;
      for (const [key, value] of Object.entries(md)) {
        const want = utf8.encode(value);
        at += 1 + key.length;
        assert.equal((block[at] as number) * 256 + (block[at + 1] as number), want.length);
        assert.equal(toHex(block.subarray(at + 2, at + 2 + want.length)), toHex(want));
        at += 2 + want.length;
      }
      assert.equal(at, block.length);
      assert.deepEqual(
        { ...decodeMetadata(block) },
        Object.fromEntries(
          Object.entries(md)
            .map(([k, v]) => [k, utf8.encode(v)])
            .map(([k, b]) => [k, new TextDecoder().decode(b as Uint8Array)]),
        ),
      );
    }),
    { seed: SEED + 7, numRuns: 800 },
  );
});

test("a REQUEST payload parses to the head it was built from", () => {
  const head = fc.record({
    methodId: fc.integer({ min: 1, max: 0xffff }),
    name: fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined }),
    timeoutMs: fc.option(u32, { nil: undefined }),
    metadata: fc.option(metadata, { nil: undefined }),
    message: fc.uint8Array({ maxLength: 60 }),
  });
  fc.assert(
    fc.property(head, (h) => {
      const enc = new TextEncoder();
      const name = h.name === undefined ? undefined : enc.encode(h.name);
      if (name !== undefined && name.length > 256) return;
      const parts: Uint8Array[] = [Uint8Array.of(h.methodId >> 8, h.methodId & 255)];
      let flags = 0;
      if (name !== undefined) {
        flags |= Flag.Name;
        parts.push(Uint8Array.of(name.length >> 8, name.length & 255), name);
      }
      if (h.timeoutMs !== undefined) {
        flags |= Flag.Deadline;
        const t = new Uint8Array(4);
        new DataView(t.buffer).setUint32(0, h.timeoutMs);
        parts.push(t);
      }
      if (h.metadata !== undefined) {
        flags |= Flag.Metadata;
        const block = encodeMetadata(h.metadata, 8192);
        parts.push(Uint8Array.of(block.length >> 8, block.length & 255), block);
      }
      parts.push(h.message);
      const got = parseRequest(flags, concat(parts), 8192);
      assert.equal(got.methodId, h.methodId);
      assert.equal(got.name, h.name);
      assert.equal(got.timeoutMs, h.timeoutMs);
      assert.deepEqual(
        got.metadata === undefined ? undefined : { ...got.metadata },
        h.metadata === undefined ? undefined : { ...h.metadata },
      );
      assert.equal(toHex(got.message), toHex(h.message));
    }),
    { seed: SEED + 2, numRuns: 800 },
  );
});

test("the JSON splitter cuts out each text exactly, whatever the blanks and the splits", () => {
  const container = fc.oneof(
    fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }),
    fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  );
  const blanks = fc.stringMatching(/^[ \t\r\n]{0,3}$/);
  fc.assert(
    fc.property(fc.array(fc.tuple(container, blanks), { maxLength: 6 }), splits, (items, points) => {
      const enc = new TextEncoder();
      const texts = items.map(([v]) => JSON.stringify(v));
      const stream = enc.encode(items.map(([, b], i) => `${b}${texts[i]}`).join(""));
      const splitter = new JsonSplitter({ maxMessageBytes: 1 << 20, maxDepth: 64 });
      const got: string[] = [];
      const dec = new TextDecoder();
      for (const chunk of cut(stream, points)) for (const t of splitter.push(chunk)) got.push(dec.decode(t));
      assert.deepEqual(got, texts);
      assert.equal(splitter.buffered, 0);
    }),
    { seed: SEED + 3, numRuns: 800 },
  );
});

test("ONC RPC records come back whole, however they are cut into fragments and the stream split", () => {
  const record = fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 4 }));
  fc.assert(
    fc.property(fc.array(record, { maxLength: 5 }), splits, fc.boolean(), (records, points, copy) => {
      const parts: Uint8Array[] = [];
      for (const [bytes, fragmentPoints] of records) {
        const fragments = cut(bytes, fragmentPoints);
        if (fragments.length === 0) fragments.push(new Uint8Array(0));
        fragments.forEach((f, i) => {
          const mark = new Uint8Array(4);
          new DataView(mark.buffer).setUint32(0, ((i === fragments.length - 1 ? 0x8000_0000 : 0) | f.length) >>> 0);
          parts.push(mark, f);
        });
      }
      const reader = new RecordReader(4096, copy);
      const got: string[] = [];
      for (const chunk of cut(concat(parts), points)) {
        const c = chunk.slice();
        assert.equal(
          reader.push(c, (r) => {
            got.push(toHex(r));
            return true;
          }),
          undefined,
        );
        if (copy) c.fill(0xee);
      }
      assert.deepEqual(
        got,
        records.map(([b]) => toHex(b)),
      );
      assert.equal(reader.inRecord, false);
    }),
    { seed: SEED + 4, numRuns: 800 },
  );
});

const credentials = fc.record({
  flavor: fc.constant("auth_sys" as const),
  stamp: u32,
  machineName: fc.string({ unit: "binary-ascii", maxLength: 40 }),
  uid: u32,
  gid: u32,
  gids: fc.array(u32, { maxLength: 16 }),
});

test("an ONC RPC call with any xid and AUTH_SYS credentials is answered with its xid, and AUTH_SYS round-trips", () => {
  const site = { dispatcher: fuzzRouter(), peer: { transport: "tcp" as const, address: "test" } };
  fc.assert(
    fc.property(u32, fc.option(credentials, { nil: undefined }), (xid, cred) => {
      const w = new XdrWriter();
      for (const word of [xid, 0, 2, fuzzProgram, fuzzVersion, 0]) w.u32(word);
      writeCredential(w, cred);
      w.u32(0);
      w.u32(0);
      const call = w.finish();
      if (cred !== undefined) {
        const r = new XdrReader(call.subarray(24));
        r.u32();
        const body = r.variable(400, "cred");
        assert.deepEqual({ ...readAuthSys(body) }, { ...cred });
      }
      const outcome = answerCall(call, site);
      assert.notEqual(outcome, "close");
      const reply = (outcome as { reply: Uint8Array }).reply;
      assert.ok(reply instanceof Uint8Array);
      const v = new DataView(reply.buffer, reply.byteOffset, reply.length);
      // xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS
      assert.deepEqual([v.getUint32(0), v.getUint32(4), v.getUint32(8), v.getUint32(20)], [xid, 1, 0, 0]);
    }),
    { seed: SEED + 5, numRuns: 500 },
  );
});

for (const target of targets) {
  test(`${target.name}: random and mutated inputs only return or throw RpcError, within the allocation bound`, async () => {
    const seeds = target.seeds();
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.nat(seeds.length - 1), fc.integer({ min: 1 })).map(([i, seed]) =>
        mutate(seeds[i] ?? new Uint8Array(0), {
          rng: new Rng(seed),
          corpus: seeds,
          tokens: target.tokens,
          maxLength: target.maxLength,
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(input, async (bytes) => {
        const got = await runInput(target, bytes, 2000);
        assert.ok(
          typeof got !== "object",
          typeof got === "object" ? `${got.kind}: ${got.message} for ${toHex(bytes)}` : "",
        );
      }),
      { seed: SEED + 6, numRuns: target.name === "websocket" || target.name === "http" ? 150 : 400 },
    );
  });
}
