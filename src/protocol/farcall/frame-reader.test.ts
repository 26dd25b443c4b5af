import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { concat, fromHex, toHex } from "../../../test/bytes.js";
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { copyLimit, headerBytes, prefaceBytes } from "./constants.js";
import { FrameReader, type FrameSink } from "./frame-reader.js";

interface FrameVector {
  name: string;
  type: number;
  flags: number;
  id: number;
  payload: string;
}
interface FramingVectors {
  preface: string;
  frames: FrameVector[];
  stream: string;
}

/** dist/src/protocol/farcall/x.test.js sits four levels below the repo root. */
const vectors = JSON.parse(
  readFileSync(new URL("../../../../testdata/vectors/framing/frames.json", import.meta.url), "utf8"),
) as FramingVectors;

function header(length: number, type: number, flags: number, id: number): Uint8Array {
  const out = new Uint8Array(headerBytes);
  const v = new DataView(out.buffer);
  v.setUint32(0, length);
  v.setUint8(4, type);
  v.setUint8(5, flags);
  v.setUint32(6, id);
  return out;
}

/** Records what the reader reports, copying payloads so later chunks cannot change them. */
class Recorder implements FrameSink {
  bodyBuffer?: FrameSink["bodyBuffer"];
  events: string[] = [];
  payloads: Uint8Array[] = [];
  onPreface(preface: Uint8Array): void {
    this.events.push(`preface ${toHex(preface)}`);
  }
  onFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    this.payloads.push(payload);
    this.events.push(`frame type=${type} flags=${flags} id=${id} payload=${toHex(payload)}`);
  }
}

const stream = fromHex(vectors.stream);
const expectedEvents = [
  `preface ${vectors.preface}`,
  ...vectors.frames.map((f) => `frame type=${f.type} flags=${f.flags} id=${f.id} payload=${f.payload}`),
];

function assertRpcError(err: unknown, code: Code): true {
  assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
  assert.equal(err.code, code);
  return true;
}

describe("FrameReader", () => {
  test("the golden stream is the preface followed by each frame's header and payload", () => {
    const built = concat([
      fromHex(vectors.preface),
      ...vectors.frames.flatMap((f) => [header(f.payload.length / 2, f.type, f.flags, f.id), fromHex(f.payload)]),
    ]);
    assert.equal(toHex(built), vectors.stream);
  });

  test("parses the golden stream in one chunk", () => {
    const sink = new Recorder();
    new FrameReader(sink, 1024).push(stream);
    assert.deepEqual(sink.events, expectedEvents);
  });

  test("parses the golden stream split into two chunks at every byte", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const sink = new Recorder();
      const reader = new FrameReader(sink, 1024);
      reader.push(stream.slice(0, cut));
      reader.push(stream.slice(cut));
      assert.deepEqual(sink.events, expectedEvents, `split at ${cut}`);
      assert.equal(reader.idle, true, `split at ${cut}`);
    }
  });

  test("parses the golden stream split into three chunks at every pair of positions", () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const sink = new Recorder();
        const reader = new FrameReader(sink, 1024);
        reader.push(stream.slice(0, a));
        reader.push(stream.slice(a, b));
        reader.push(stream.slice(b));
        assert.deepEqual(sink.events, expectedEvents, `split at ${a} and ${b}`);
      }
    }
  });

  test("parses the golden stream fed one byte at a time", () => {
    const sink = new Recorder();
    const reader = new FrameReader(sink, 1024);
    for (let i = 0; i < stream.length; i++) reader.push(stream.slice(i, i + 1));
    assert.deepEqual(sink.events, expectedEvents);
  });

  test("payloads stay valid after the chunk they came from is reused", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const sink = new Recorder();
      const reader = new FrameReader(sink, 1024);
      const first = stream.slice(0, cut);
      const second = stream.slice(cut);
      reader.push(first);
      reader.push(second);
      // A transport that hands out a fresh chunk each time never rewrites old ones, but a payload
      // assembled across chunks must not alias either of them.
      first.fill(0xee);
      second.fill(0xee);
      const spanning = sink.payloads.filter((p) => p.buffer !== first.buffer && p.buffer !== second.buffer);
      for (const p of spanning) assert.equal(p.includes(0xee), false, `split at ${cut}`);
    }
  });

  describe("transient chunks", () => {
    /** Feeds `bytes` cut at `cuts` through one reused buffer, scribbled over after each push. */
    function feedTransient(reader: FrameReader, bytes: Uint8Array, cuts: number[]): void {
      const buffer = new Uint8Array(bytes.length);
      let from = 0;
      for (const to of [...cuts, bytes.length]) {
        buffer.set(bytes.subarray(from, to));
        reader.push(buffer.subarray(0, to - from));
        buffer.fill(0xee);
        from = to;
      }
    }

    test("every payload is a copy: the golden stream read through one reused buffer, split at every byte", () => {
      for (let cut = 0; cut <= stream.length; cut++) {
        const sink = new Recorder();
        feedTransient(new FrameReader(sink, 1024, true), stream, [cut]);
        assert.deepEqual(
          sink.payloads.map((p) => toHex(p)),
          vectors.frames.map((f) => f.payload),
          `split at ${cut}`,
        );
      }
    });

    test("and fed one byte at a time", () => {
      const sink = new Recorder();
      feedTransient(
        new FrameReader(sink, 1024, true),
        stream,
        Array.from({ length: stream.length }, (_, i) => i),
      );
      assert.deepEqual(
        sink.payloads.map((p) => toHex(p)),
        vectors.frames.map((f) => f.payload),
      );
    });

    const big = copyLimit + 3;
    const bigFrames = concat([
      fromHex(vectors.preface),
      header(big, 5, 0, 7),
      new Uint8Array(big).fill(0x42),
      header(2, 5, 0, 7),
      Uint8Array.of(1, 2),
    ]);

    test("a body of copyLimit bytes or more is read into the sink's buffer, in one chunk or across chunks", () => {
      for (const cuts of [[], [prefaceBytes + headerBytes + 100], [prefaceBytes + headerBytes + big + 1]]) {
        const asked: string[] = [];
        const given: Uint8Array[] = [];
        const sink = new Recorder();
        sink.bodyBuffer = (type, id, length) => {
          asked.push(`${type}/${id}/${length}`);
          const b = new Uint8Array(length);
          given.push(b);
          return b;
        };
        feedTransient(new FrameReader(sink, 1 << 20, true), bigFrames, cuts);
        assert.deepEqual(asked, [`5/7/${big}`], `cuts ${cuts}`);
        assert.equal(sink.payloads[0], given[0]);
        assert.equal(
          sink.payloads[0]?.every((b) => b === 0x42),
          true,
        );
        assert.deepEqual([...(sink.payloads[1] ?? [])], [1, 2]);
      }
    });

    test("without a sink buffer, a large body gets one of its own", () => {
      const sink = new Recorder();
      feedTransient(new FrameReader(sink, 1 << 20, true), bigFrames, []);
      assert.equal(sink.payloads[0]?.length, big);
      assert.equal(
        sink.payloads[0]?.every((b) => b === 0x42),
        true,
      );
    });
  });

  test("a frame wholly inside one chunk is passed as a view of that chunk", () => {
    const sink = new Recorder();
    const reader = new FrameReader(sink, 1024);
    reader.push(stream);
    for (const payload of sink.payloads) assert.equal(payload.buffer, stream.buffer);
  });

  test("an empty chunk changes nothing", () => {
    const sink = new Recorder();
    const reader = new FrameReader(sink, 1024);
    reader.push(new Uint8Array(0));
    reader.push(stream.subarray(0, 3));
    reader.push(new Uint8Array(0));
    reader.push(stream.subarray(3));
    reader.push(new Uint8Array(0));
    assert.deepEqual(sink.events, expectedEvents);
  });

  describe("maxFrameBytes", () => {
    const preface = fromHex(vectors.preface);

    test("a payload of exactly maxFrameBytes is accepted", () => {
      const sink = new Recorder();
      const reader = new FrameReader(sink, 16);
      reader.push(concat([preface, header(16, 5, 0, 1)]));
      reader.push(new Uint8Array(16).fill(1));
      assert.deepEqual(sink.events.at(-1), `frame type=5 flags=0 id=1 payload=${"01".repeat(16)}`);
    });

    test("a declared length of 0xFFFFFFFF throws ResourceExhausted before any body arrives", () => {
      const sink = new Recorder();
      const reader = new FrameReader(sink, 4 * 1024 * 1024);
      const before = process.memoryUsage().arrayBuffers;
      assert.throws(
        () => reader.push(concat([preface, header(0xffff_ffff, 5, 0, 1)])),
        (err) => assertRpcError(err, Code.ResourceExhausted),
      );
      assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024, "allocated for the declared length");
      assert.deepEqual(sink.events, [`preface ${vectors.preface}`]);
    });

    test("one byte over the limit throws even when the header arrives a byte at a time", () => {
      const sink = new Recorder();
      const reader = new FrameReader(sink, 16);
      const bytes = concat([preface, header(17, 5, 0, 1)]);
      for (let i = 0; i < bytes.length - 1; i++) reader.push(bytes.subarray(i, i + 1));
      assert.throws(
        () => reader.push(bytes.subarray(bytes.length - 1)),
        (err) => assertRpcError(err, Code.ResourceExhausted),
      );
    });

    test("after the error every later chunk is ignored", () => {
      const sink = new Recorder();
      const reader = new FrameReader(sink, 16);
      assert.throws(() => reader.push(concat([preface, header(0xffff_ffff, 5, 0, 1)])), RpcError);
      reader.push(concat([header(1, 2, 0, 3), Uint8Array.of(9)]));
      reader.push(stream);
      assert.deepEqual(sink.events, [`preface ${vectors.preface}`]);
    });

    test("frames before the oversized one in the same chunk are delivered", () => {
      const sink = new Recorder();
      const reader = new FrameReader(sink, 16);
      const bytes = concat([preface, header(1, 2, 0, 3), Uint8Array.of(9), header(0xffff_ffff, 5, 0, 1)]);
      assert.throws(() => reader.push(bytes), RpcError);
      assert.deepEqual(sink.events, [`preface ${vectors.preface}`, "frame type=2 flags=0 id=3 payload=09"]);
    });

    test("an error thrown by the sink stops the reader too", () => {
      let frames = 0;
      const reader = new FrameReader(
        {
          onPreface() {},
          onFrame() {
            frames++;
            throw new Error("sink failed");
          },
        },
        1024,
      );
      assert.throws(() => reader.push(stream), /sink failed/);
      reader.push(stream);
      assert.equal(frames, 1);
    });
  });

  describe("a large body that spans chunks", () => {
    const MiB = 1024 * 1024;
    const preface = fromHex(vectors.preface);

    /** A body of `n` bytes that differ from their neighbours, so a misplaced piece shows. */
    function patterned(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = (i * 131 + (i >>> 8)) & 255;
      return out;
    }

    test("a declared 4 MiB body takes no buffer of that size before its bytes arrive", () => {
      // Eight readers, as eight connections: 32 MiB when each took its declared size at once.
      const readers = Array.from({ length: 8 }, () => new FrameReader(new Recorder(), 4 * MiB + 1024));
      const before = process.memoryUsage().arrayBuffers;
      for (const reader of readers) reader.push(concat([preface, header(4 * MiB, 1, 0, 1), new Uint8Array(20)]));
      const grown = process.memoryUsage().arrayBuffers - before;
      assert.ok(grown < MiB, `arrayBuffers grew by ${grown} bytes for 8 × 20 bytes received`);
      for (const reader of readers) assert.equal(reader.idle, false);
    });

    test("is delivered whole and in order however it is cut, from kept or transient chunks", () => {
      const big = patterned(300 * 1024 + 7);
      const bytes = concat([preface, header(big.length, 5, 0, 9), big, header(2, 6, 0, 9), Uint8Array.of(1, 2)]);
      const bodyAt = prefaceBytes + headerBytes;
      // Cut lists: a byte of the body, then socket-sized reads; a header cut in two; many small pieces.
      const cutLists = [
        [bodyAt + 1, ...Array.from({ length: 5 }, (_, i) => bodyAt + 1 + (i + 1) * 64 * 1024)],
        [prefaceBytes + 4, bodyAt + 100_000, bodyAt + big.length - 1],
        Array.from({ length: 200 }, (_, i) => bodyAt + i * 1531),
        [bodyAt + 200_000],
      ];
      for (const transient of [false, true]) {
        for (const cuts of cutLists) {
          const sink = new Recorder();
          const reader = new FrameReader(sink, MiB, transient);
          const chunks: Uint8Array[] = [];
          let from = 0;
          for (const to of [...cuts, bytes.length]) {
            const chunk = bytes.slice(from, to);
            chunks.push(chunk);
            reader.push(chunk);
            if (transient) chunk.fill(0xee);
            from = to;
          }
          const what = `transient ${transient}, cuts ${cuts.slice(0, 3)}…`;
          assert.equal(sink.payloads.length, 2, what);
          assert.deepEqual(sink.payloads[0], big, what);
          assert.ok(!chunks.some((c) => c.buffer === sink.payloads[0]?.buffer), `${what}: the body aliases a chunk`);
          assert.deepEqual([...(sink.payloads[1] ?? [])], [1, 2], what);
          assert.equal(reader.idle, true, what);
        }
      }
    });

    test("the sink's buffer is asked for once, when a quarter of the body is in, and the body is read into it", () => {
      const big = patterned(MiB);
      const bytes = concat([preface, header(big.length, 5, 0, 7), big]);
      const sink = new Recorder();
      let received = 0;
      const asked: { length: number; received: number }[] = [];
      let given: Uint8Array | undefined;
      sink.bodyBuffer = (_type, _id, length) => {
        asked.push({ length, received });
        given = new Uint8Array(length);
        return given;
      };
      const reader = new FrameReader(sink, 2 * MiB, true);
      for (let at = 0; at < bytes.length; at += 64 * 1024) {
        const chunk = bytes.slice(at, at + 64 * 1024);
        received += chunk.length;
        reader.push(chunk);
      }
      assert.equal(asked.length, 1);
      assert.equal(asked[0]?.length, MiB);
      const at = asked[0]?.received ?? 0;
      // A quarter of the body, rounded up to the 64 KiB chunk it completes in.
      assert.ok(at >= MiB / 4 && at <= MiB / 4 + 64 * 1024, `asked after ${at} bytes of ${bytes.length}`);
      assert.equal(sink.payloads[0], given);
      assert.deepEqual(sink.payloads[0], big);
    });
  });

  describe("idle", () => {
    test("is true only at frame boundaries after the preface", () => {
      // Offsets where a frame (or the preface) ends, so the stream may end cleanly there.
      const boundaries = new Set<number>();
      let at = vectors.preface.length / 2;
      boundaries.add(at);
      for (const f of vectors.frames) {
        at += headerBytes + f.payload.length / 2;
        boundaries.add(at);
      }
      const reader = new FrameReader(new Recorder(), 1024);
      assert.equal(reader.idle, false, "before the preface");
      for (let i = 0; i < stream.length; i++) {
        reader.push(stream.subarray(i, i + 1));
        assert.equal(reader.idle, boundaries.has(i + 1), `after ${i + 1} bytes`);
      }
    });

    test("is false while a spanning body is being assembled", () => {
      const reader = new FrameReader(new Recorder(), 1024);
      reader.push(concat([fromHex(vectors.preface), header(4, 5, 0, 1), Uint8Array.of(1, 2)]));
      assert.equal(reader.idle, false);
      reader.push(Uint8Array.of(3, 4));
      assert.equal(reader.idle, true);
    });
  });
});
