import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate } from "node:timers/promises";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { concat } from "../../../test/bytes.js";
import type { ByteStream } from "../byte-stream.js";
import { headerBytes } from "./constants.js";
import { FrameReader } from "./frame-reader.js";
import { FrameWriter, SharedSlab } from "./frame-writer.js";

/** A ByteStream that records writes and queues scheduled callbacks for the test to run. */
class FakeStream implements ByteStream {
  readonly peer = { transport: "memory", address: "fake" };
  readonly needDrain = false;
  writes: Uint8Array[][] = [];
  scheduled: (() => void)[] = [];
  write(chunks: Uint8Array[]): void {
    this.writes.push(chunks);
  }
  onDrain(cb: () => void): void {
    cb();
  }
  schedule(cb: () => void): void {
    this.scheduled.push(cb);
  }
  /** Runs what was scheduled so far, as the end of a tick would. */
  tick(): void {
    const cbs = this.scheduled;
    this.scheduled = [];
    for (const cb of cbs) cb();
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
}

/**
 * A writer with a slab of its own, so where a slab ends does not depend on what earlier tests
 * wrote into the process's shared one.
 */
function writerFor(stream: FakeStream): FrameWriter {
  return new FrameWriter(stream, new SharedSlab());
}

const preface = Uint8Array.of(0x7f, 0x46, 0x41, 0x52, 1, 2, 0, 0);

interface Parsed {
  preface: Uint8Array | undefined;
  frames: { type: number; flags: number; id: number; payload: Uint8Array }[];
}

/** Parses written bytes; a stream written without a preface gets one so FrameReader can start. */
function parse(bytes: Uint8Array): Parsed {
  const startsWithPreface = bytes[0] === 0x7f;
  const out: Parsed = { preface: undefined, frames: [] };
  const reader = new FrameReader(
    {
      onPreface(p) {
        out.preface = p;
      },
      onFrame(type, flags, id, payload) {
        out.frames.push({ type, flags, id, payload: payload.slice() });
      },
    },
    1 << 30,
  );
  reader.push(startsWithPreface ? bytes : concat([preface, bytes]));
  assert.equal(reader.idle, true, "stream ends mid-frame");
  return out;
}

function filled(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 255;
  return out;
}

describe("FrameWriter", () => {
  test("nothing is written until the scheduled flush runs", () => {
    const stream = new FakeStream();
    const writer = writerFor(stream);
    writer.raw(preface);
    writer.frame(8, 0, 0, Uint8Array.of(1, 2, 3));
    assert.equal(stream.writes.length, 0);
    assert.equal(stream.scheduled.length, 1, "one flush scheduled for the whole batch");
    stream.tick();
    assert.equal(stream.writes.length, 1);
  });

  test("frames queued before a flush go out as one write of one contiguous chunk", () => {
    const stream = new FakeStream();
    const writer = writerFor(stream);
    writer.raw(preface);
    writer.frame(1, 1, 1, Uint8Array.of(0xaa));
    writer.frame(2, 0, 1);
    writer.frame(5, 0xff, 0xffff_fffe, new Uint8Array(100).fill(7));
    stream.tick();
    assert.equal(stream.writes.length, 1);
    const chunks = stream.writes[0] ?? [];
    assert.equal(chunks.length, 1);
    const parsed = parse(concat(chunks));
    assert.deepEqual(parsed.preface, preface);
    assert.deepEqual(parsed.frames, [
      { type: 1, flags: 1, id: 1, payload: Uint8Array.of(0xaa) },
      { type: 2, flags: 0, id: 1, payload: new Uint8Array(0) },
      { type: 5, flags: 0xff, id: 0xffff_fffe, payload: new Uint8Array(100).fill(7) },
    ]);
  });

  test("the header is u32 length, u8 type, u8 flags, u32 id, big-endian", () => {
    const stream = new FakeStream();
    const writer = writerFor(stream);
    writer.frame(0x0b, 0x40, 0x01020304, Uint8Array.of(9, 8));
    stream.tick();
    assert.deepEqual(concat(stream.writes[0] ?? []), Uint8Array.of(0, 0, 0, 2, 0x0b, 0x40, 1, 2, 3, 4, 9, 8));
  });

  test("begin() leaves room for the prefix between the header and the message", () => {
    const stream = new FakeStream();
    const writer = writerFor(stream);
    const at = writer.begin(3, 0, 9, 3, Uint8Array.of(0xee));
    writer.view.setUint16(at, 0xabcd);
    writer.bytes[at + 2] = 0x42;
    writer.frameU32(3, 10, 0x01020304);
    writer.frame(3, 0, 11, Uint8Array.of(8), Uint8Array.of(7));
    stream.tick();
    const { frames } = parse(concat(stream.writes[0] ?? []));
    assert.deepEqual(frames, [
      { type: 3, flags: 0, id: 9, payload: Uint8Array.of(0xab, 0xcd, 0x42, 0xee) },
      { type: 3, flags: 0, id: 10, payload: Uint8Array.of(1, 2, 3, 4) },
      { type: 3, flags: 0, id: 11, payload: Uint8Array.of(7, 8) },
    ]);
  });

  test("payloads of 16 KiB and more are passed as their own chunk by reference", () => {
    const stream = new FakeStream();
    const writer = writerFor(stream);
    const big = filled(16 * 1024, 1);
    const small = filled(16 * 1024 - 1, 2);
    writer.frame(5, 0, 1, small);
    writer.view.setUint32(writer.begin(5, 0, 2, 4, big), 77);
    writer.frame(5, 0, 3, Uint8Array.of(1));
    stream.tick();
    const chunks = stream.writes[0] ?? [];
    assert.equal(stream.writes.length, 1);
    assert.equal(chunks.length, 3, "slab region, big payload, slab region");
    assert.equal(chunks[1], big, "the big payload is not copied");
    assert.ok(!chunks.includes(small), "a payload under 16 KiB is copied into the slab");
    const { frames } = parse(concat(chunks));
    assert.deepEqual(
      frames.map((f) => f.id),
      [1, 2, 3],
    );
    assert.deepEqual(frames[0]?.payload, small);
    assert.deepEqual(frames[1]?.payload, concat([Uint8Array.of(0, 0, 0, 77), big]));
  });

  test("a tick's worth of frames larger than the slab still parses back in order", () => {
    const stream = new FakeStream();
    const writer = writerFor(stream);
    const sent: Uint8Array[] = [];
    writer.raw(preface);
    for (let i = 0; i < 200; i++) {
      const payload = filled(((i * 997) % 16_000) + 1, i);
      sent.push(payload);
      writer.frame(5, 0, i, payload);
    }
    stream.tick();
    assert.equal(stream.writes.length, Math.ceil(200 / 16));
    const parsed = parse(concat(stream.writes.flat()));
    assert.deepEqual(parsed.preface, preface);
    assert.deepEqual(
      parsed.frames.map((f) => f.payload),
      sent,
    );
  });

  test("a tick of more than 16 frames goes out in writes of 16, each frame whole with its prefix", () => {
    // A socket sends at write time, so this stream keeps copies of what it was given then.
    const stream = new (class extends FakeStream {
      override write(chunks: Uint8Array[]): void {
        super.write(chunks.map((c) => c.slice()));
      }
    })();
    const writer = writerFor(stream);
    for (let i = 0; i < 40; i++) {
      const at = writer.begin(3, 0, i, 4, Uint8Array.of(i));
      writer.view.setUint32(at, i * 1000);
    }
    assert.deepEqual(
      stream.writes.map((w) => parse(concat(w)).frames.length),
      [16, 16],
      "the first 32 frames went out before the tick ended",
    );
    stream.tick();
    assert.equal(stream.writes.length, 3);
    const frames = parse(concat(stream.writes.flat())).frames;
    assert.deepEqual(
      frames.map((f) => [f.id, new DataView(f.payload.buffer).getUint32(0), f.payload[4]]),
      Array.from({ length: 40 }, (_, i) => [i, i * 1000, i]),
    );
  });

  test("a second batch goes out in a second write and leaves the first batch's bytes alone", () => {
    const stream = new FakeStream();
    const writer = writerFor(stream);
    writer.frame(8, 0, 0, filled(64, 1));
    stream.tick();
    const first = stream.writes[0] ?? [];
    const snapshot = first.map((c) => c.slice());
    writer.frame(9, 0, 0, filled(64, 2));
    writer.frame(9, 0, 1, filled(64, 3));
    assert.equal(stream.scheduled.length, 1);
    stream.tick();
    assert.equal(stream.writes.length, 2);
    assert.deepEqual(first, snapshot, "written chunks were rewritten");
    assert.deepEqual(
      parse(concat(stream.writes[1] ?? [])).frames.map((f) => [f.type, f.id]),
      [
        [9, 0],
        [9, 1],
      ],
    );
  });

  test("an explicit flush writes at once and the scheduled flush then writes nothing", () => {
    const stream = new FakeStream();
    const writer = writerFor(stream);
    writer.frame(8, 0, 0);
    writer.flush();
    assert.equal(stream.writes.length, 1);
    assert.equal(concat(stream.writes[0] ?? []).length, headerBytes);
    stream.tick();
    assert.equal(stream.writes.length, 1);
  });

  describe("the shared slab", () => {
    /** The 42 bytes a server writes on an accepted connection: preface, SETTINGS of 4 entries. */
    function handshake(writer: FrameWriter): void {
      writer.raw(preface);
      const at = writer.begin(0x0b, 0, 0, 24, undefined);
      for (let i = 0; i < 4; i++) {
        writer.view.setUint16(at + i * 6, i + 1);
        writer.view.setUint32(at + i * 6 + 2, 1000 + i);
      }
    }

    test("1,000 writers that each wrote a handshake hold under 1 MiB of slabs (one 128 KiB slab each before)", () => {
      const streams: FakeStream[] = [];
      const writers: FrameWriter[] = [];
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 1_000; i++) {
        const stream = new FakeStream();
        // The process's own slab, as sessions use it.
        const writer = new FrameWriter(stream);
        handshake(writer);
        stream.tick();
        streams.push(stream);
        writers.push(writer);
      }
      const grown = process.memoryUsage().arrayBuffers - before;
      assert.ok(grown < 1024 * 1024, `arrayBuffers grew by ${grown} bytes for ${writers.length} writers`);
      for (const stream of streams) {
        const { preface: p, frames } = parse(concat(stream.writes.flat()));
        assert.deepEqual(p, preface);
        assert.deepEqual(
          frames.map((f) => [f.type, f.payload.length]),
          [[0x0b, 24]],
        );
      }
    });

    /** A weak reference to the buffer of the stream's first chunk, which the stream then forgets. */
    function takeWritten(stream: FakeStream): WeakRef<ArrayBufferLike> {
      const chunk = stream.writes[0]?.[0];
      assert.ok(chunk !== undefined);
      stream.writes = [];
      return new WeakRef(chunk.buffer);
    }

    test("a writer lets go of its slab once its batch is written", async () => {
      v8.setFlagsFromString("--expose-gc");
      const gc = vm.runInNewContext("gc") as () => void;
      const shared = new SharedSlab(256);
      const stream = new FakeStream();
      const writer = new FrameWriter(stream, shared);
      handshake(writer);
      stream.tick();
      // The transport is done with the chunk, and another writer moves the slab on.
      const first = takeWritten(stream);
      const other = new FakeStream();
      new FrameWriter(other, shared).frame(5, 0, 1, filled(300, 1));
      other.tick();
      // A WeakRef keeps its target alive until the current job ends.
      await setImmediate();
      gc();
      assert.equal(first.deref(), undefined, "the idle writer still holds the slab it wrote its handshake into");
      writer.frame(8, 0, 0, filled(8, 2));
      stream.tick();
      assert.deepEqual(
        parse(concat(stream.writes.flat())).frames.map((f) => [f.type, f.payload]),
        [[8, filled(8, 2)]],
      );
    });

    test("writers taking turns in one tick each write their own frames, in order, and never rewrite what they handed out", () => {
      // A 1 KiB slab is renewed every few frames, so regions end at slab ends as well as at turns.
      const shared = new SharedSlab(1024);
      const streams = [new FakeStream(), new FakeStream(), new FakeStream()];
      const writers = streams.map((s) => new FrameWriter(s, shared));
      /** What each stream was given, copied when it was given: the bytes on the wire. */
      const copies = streams.map(() => [] as Uint8Array[]);
      streams.forEach((s, i) => {
        const write = s.write.bind(s);
        s.write = (chunks) => {
          copies[i]?.push(...chunks.map((c) => c.slice()));
          write(chunks);
        };
      });
      const sent = streams.map(() => [] as Uint8Array[]);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 100; i++) {
          const w = (i * 7 + round) % 3;
          const payload = filled(((i * 131 + round * 17) % 600) + 1, i);
          sent[w]?.push(payload);
          const at = (writers[w] as FrameWriter).begin(5, 0, i + 1, 2, payload);
          (writers[w] as FrameWriter).view.setUint16(at, i);
        }
        for (const s of streams) s.tick();
      }
      streams.forEach((s, i) => {
        const held = parse(concat(s.writes.flat())).frames;
        assert.deepEqual(
          held.map((f) => f.payload.subarray(2)),
          sent[i],
          `writer ${i}: frames as still held by its transport`,
        );
        assert.deepEqual(concat(s.writes.flat()), concat(copies[i] ?? []), `writer ${i}: bytes rewritten after write`);
      });
    });
  });

  describe("close", () => {
    test("drops queued frames", () => {
      const stream = new FakeStream();
      const writer = writerFor(stream);
      writer.frame(8, 0, 0, Uint8Array.of(1));
      writer.frame(5, 0, 1, filled(20_000, 1));
      writer.close();
      stream.tick();
      assert.equal(stream.writes.length, 0);
    });

    test("refuses frames and raw bytes afterwards", () => {
      const stream = new FakeStream();
      const writer = writerFor(stream);
      writer.frame(8, 0, 0, Uint8Array.of(1));
      stream.tick();
      writer.close();
      writer.raw(preface);
      writer.frame(8, 0, 1, Uint8Array.of(2));
      writer.frame(5, 0, 1, filled(20_000, 1));
      writer.flush();
      stream.tick();
      assert.equal(stream.writes.length, 1, "only the batch from before close");
      assert.equal(stream.scheduled.length, 0);
    });
  });
});
