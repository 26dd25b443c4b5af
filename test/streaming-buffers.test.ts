// Byte buffers read off a farcall TCP connection: bodies of every size the reader treats apart
// (copied into its slab, a buffer of their own, spanning reads) arrive whole and unshared, with
// and without `reuseBuffers`.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { createClient, createServer, defineService, serverStream, unary } from "../src/index.js";
import { sleep } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";
import { chunkBytes, maxAhead } from "./stream-bounds.js";

afterEach(() => assertNoLeaks());

/** Bytes of `length` whose every byte is `i & 0xff`, so a chunk overwritten by another shows. */
function filled(length: number, i: number): Uint8Array {
  return new Uint8Array(length).fill(i & 0xff);
}

function isFilled(bytes: Uint8Array, length: number, i: number): boolean {
  return bytes.length === length && bytes.every((b) => b === (i & 0xff));
}

const Sizes = defineService("Sizes", {
  download: serverStream<{ sizes: number[] }, Uint8Array>(),
  echo: unary<Uint8Array, Uint8Array>(),
});

describe("byte buffers read from a farcall TCP connection", () => {
  // 300 B bodies are copied into the reader's shared slab, 20 000 B ones (over the 16 KiB copy
  // limit) into a buffer of their own, and 64 KiB ones span several socket reads.
  const chunkSizes = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 300 : i % 3 === 1 ? chunkBytes : 20_000));

  async function sizesServer() {
    const server = createServer().add(Sizes, {
      async *download({ sizes }) {
        for (let i = 0; i < sizes.length; i++) yield filled(sizes[i] as number, i);
      },
      echo: (bytes) => bytes,
    });
    return { server, address: await server.listen("tcp://127.0.0.1:0") };
  }

  for (const codec of ["msgpack", "json"] as const) {
    test(`[${codec}] kept stream chunks and unary replies stay intact while later ones are read`, async () => {
      const { server, address } = await sizesServer();
      const client = createClient(address, { codec });
      try {
        const sizes = client.service(Sizes);
        const kept: Uint8Array[] = [];
        for await (const chunk of sizes.download({ sizes: chunkSizes })) kept.push(chunk);
        // 60 echoes at once: every size, several replies to one read.
        const replies = await Promise.all(chunkSizes.slice(0, 60).map((n, i) => sizes.echo(filled(n, i))));
        assert.equal(kept.length, chunkSizes.length);
        for (const [i, chunk] of kept.entries())
          assert.ok(isFilled(chunk, chunkSizes[i] as number, i), `stream chunk ${i}`);
        for (const [i, reply] of replies.entries())
          assert.ok(isFilled(reply, chunkSizes[i] as number, i), `echo reply ${i}`);
      } finally {
        await client.close();
        await server.close();
      }
    });
  }

  test("with reuseBuffers, each chunk is whole when it is taken and the stream reuses about a window of buffers", async () => {
    const { server, address } = await sizesServer();
    const client = createClient(address);
    try {
      const n = 400;
      const buffers = new Set<ArrayBufferLike>();
      let i = 0;
      for await (const chunk of client
        .service(Sizes)
        .download({ sizes: Array(n).fill(chunkBytes) }, { reuseBuffers: true })) {
        assert.ok(isFilled(chunk, chunkBytes, i), `chunk ${i}`);
        buffers.add(chunk.buffer);
        i++;
        if (i % 50 === 0) await sleep(20); // let the sender run a window ahead
      }
      assert.equal(i, n);
      // Without reuse every chunk has a buffer of its own (n of them). With it: a window's worth in
      // flight, plus the one the loop holds and the one being read into.
      assert.ok(buffers.size <= maxAhead + 2, `${buffers.size} buffers for ${n} chunks (bound ${maxAhead + 2})`);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
