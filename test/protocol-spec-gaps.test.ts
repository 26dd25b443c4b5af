/**
 * Pins the rules of docs/protocol.md that say what the server does at the edges, talking to a real
 * server on loopback through a raw socket: each refusal of a bad preface (§2.1), byte for byte.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Arith, arithImpl, Time, timeImpl } from "../examples/demo/services.js";
import { createServer, defineService, type RpcError, type ServerOptions, unary } from "../src/index.js";
import { sleep } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { goAway, RawPeer, settings, T } from "./raw-farcall.js";

const cleanups = trackCleanups();

/** A method whose handler waits until it is aborted, and records why. */
const Probe = defineService("Probe", {
  hold: unary<string, string>(),
  /** After `ms`, answers "ok" with response metadata `tag` of `bytes` letters. */
  tagged: unary<{ ms: number; bytes: number }, string>(),
});

interface Started {
  port: number;
  /** `<key> <code> <message>` for each aborted `Probe/hold`. */
  aborts: string[];
}

async function start(options: ServerOptions = {}, listen?: { protocols: string[] }): Promise<Started> {
  const aborts: string[] = [];
  const server = createServer(options)
    .add(Arith, arithImpl())
    .add(Time, timeImpl)
    .add(Probe, {
      hold: (key, ctx) =>
        new Promise<string>((_resolve, reject) => {
          ctx.signal.addEventListener(
            "abort",
            () => {
              const reason = ctx.signal.reason as RpcError;
              aborts.push(`${key} ${reason.code} ${reason.rawMessage}`);
              reject(reason);
            },
            { once: true },
          );
        }),
      tagged: async ({ ms, bytes }, ctx) => {
        await sleep(ms);
        ctx.responseMetadata.tag = "x".repeat(bytes);
        return "ok";
      },
    });
  const address = await server.listen("tcp://127.0.0.1:0", listen);
  cleanups.push(() => server.close({ graceMs: 200 }));
  return { port: Number(address.slice(address.lastIndexOf(":") + 1)), aborts };
}

/** Sends `bytes` in `pieces` writes and resolves with everything received once the server has ended. */
async function answer(port: number, pieces: Uint8Array[]): Promise<string> {
  const peer = await RawPeer.open(port, cleanups);
  for (const piece of pieces) {
    await peer.send(piece);
    if (pieces.length > 1) await sleep(20);
  }
  await peer.whenEnded();
  return peer.bytes.toString("hex");
}

const hex = (text: string) => Buffer.from(text, "latin1").toString("hex");
const line = (reason: string) => hex(`farcall: unrecognised protocol (${reason})\n`);

/** A server preface with codec byte `codec`, then a GOAWAY with `code` and `message`, as hex. */
function refusal(codec: number, code: number, message: string): string {
  return Buffer.concat([Buffer.from([0x7f, 0x46, 0x41, 0x52, 1, codec, 0, 0]), goAway(code, message)]).toString("hex");
}

const badMagic = "protocol error: client did not send the farcall preface";
const codecs = "this server has json (1), msgpack (2)";

/** The `checked-example` blocks of docs/protocol.md, as hex (text after `#` is a comment). */
function checkedExamples(): Map<string, string> {
  const text = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
  const out = new Map<string, string>();
  for (const m of text.matchAll(/<!-- checked-example: ([a-z0-9-]+) -->\s*```hex\n([\s\S]*?)```/g)) {
    const body = (m[2] as string)
      .split("\n")
      .map((l) => l.replace(/#.*$/, ""))
      .join("");
    out.set(m[1] as string, body.replace(/\s+/g, ""));
  }
  return out;
}

describe("§2.1 a bad preface is answered with exact bytes, then FIN", () => {
  test("byte 0 not 7F: the unrecognised-protocol line", async () => {
    const { port } = await start();
    assert.equal(await answer(port, [Buffer.alloc(8)]), line("first byte 0x00"));
    assert.equal(await answer(port, [Buffer.from([0x80, 1, 2, 3])]), line("first byte 0x80"));
    assert.equal(await answer(port, [Buffer.from([0xff])]), line("first byte 0xff"));
    assert.equal(await answer(port, [Buffer.from([0x7e, 0x46, 0x41, 0x52, 1, 1, 0, 0])]), line("first byte 0x7e"));
    // Blanks are not skipped before 7F: the line names the first byte after them.
    assert.equal(
      await answer(port, [Buffer.from([0x20, 0x7f, 0x46, 0x41, 0x52, 1, 1, 0, 0])]),
      line("first byte 0x7f"),
    );
    assert.equal(await answer(port, [Buffer.alloc(65, 0x20)]), line("more than 64 blank bytes"));
  });

  test("byte 0 not 7F on a listener narrowed to farcall: the line for JSON and HTTP too", async () => {
    const { port } = await start({}, { protocols: ["farcall"] });
    assert.equal(await answer(port, [Buffer.from('{"jsonrpc":"2.0"}')]), line("first byte 0x7b"));
    assert.equal(await answer(port, [Buffer.from("GET / HTTP/1.1\r\n\r\n")]), line("first byte 0x47"));
  });

  test("7F then wrong magic: preface and GOAWAY 13, the codec byte as for any refusal", async () => {
    const { port } = await start();
    const examples = checkedExamples();
    const wrong = Buffer.from([0x7f, 0x46, 0x41, 0x53, 1, 1, 0, 0]);
    const got = await answer(port, [wrong]);
    assert.equal(got, refusal(1, 13, badMagic));
    assert.equal(got, examples.get("wrong-magic-reply"), "docs/protocol.md §11.13");
    // Split anywhere, the answer is the same, and it comes only once the 8th byte is in.
    assert.equal(await answer(port, [wrong.subarray(0, 1), wrong.subarray(1, 3), wrong.subarray(3)]), got);
    // A codec the server lacks makes byte 5 of the preface 00 here too.
    assert.equal(await answer(port, [Buffer.from([0x7f, 0, 0, 0, 1, 7, 0, 0])]), refusal(0, 13, badMagic));
    // Wrong magic is reported before a wrong version.
    assert.equal(await answer(port, [Buffer.from([0x7f, 0x46, 0x41, 0x53, 2, 1, 0, 0])]), refusal(1, 13, badMagic));
  });

  test("7F and fewer than 8 bytes: nothing, then closed at handshakeTimeoutMs", async () => {
    const { port } = await start({ handshakeTimeoutMs: 300 });
    const peer = await RawPeer.open(port, cleanups);
    const sent = Date.now();
    await peer.send(Buffer.from([0x7f, 0x46, 0x41, 0x52, 1, 1, 0]));
    await peer.whenEnded(3_000);
    assert.equal(peer.bytes.length, 0, "no byte is sent");
    assert.ok(Date.now() - sent >= 250, `closed after ${Date.now() - sent} ms`);
  });

  test("right magic, wrong version: preface (version 01) and GOAWAY 12; checked before the codec", async () => {
    const { port } = await start();
    const version = (v: number) => `client speaks farcall protocol version ${v}; this side speaks version 1`;
    assert.equal(await answer(port, [Buffer.from([0x7f, 0x46, 0x41, 0x52, 2, 1, 0, 0])]), refusal(1, 12, version(2)));
    assert.equal(await answer(port, [Buffer.from([0x7f, 0x46, 0x41, 0x52, 0, 7, 0, 0])]), refusal(0, 12, version(0)));
    assert.equal(
      await answer(port, [Buffer.from([0x7f, 0x46, 0x41, 0x52, 0xff, 2, 0, 0])]),
      refusal(2, 12, version(255)),
    );
  });

  test("unknown codec id (00 included): preface with codec 00 and GOAWAY 12", async () => {
    const { port } = await start();
    for (const id of [0, 3, 7, 0xff]) {
      const got = await answer(port, [Buffer.from([0x7f, 0x46, 0x41, 0x52, 1, id, 0, 0])]);
      assert.equal(got, refusal(0, 12, `codec ${id} is not supported; ${codecs}`), `codec ${id}`);
    }
  });

  test("reserved bytes are not checked, and the documented first-byte line matches", async () => {
    const { port } = await start();
    const peer = await RawPeer.open(port, cleanups);
    await peer.send(Buffer.from([0x7f, 0x46, 0x41, 0x52, 1, 1, 0xff, 0xff]), settings([]));
    await peer.frameCount(1);
    assert.equal(peer.preface?.toString("hex"), "7f46415201010000");
    assert.equal(peer.frames[0]?.type, T.Settings);
    assert.equal(await answer(port, [Buffer.alloc(8)]), checkedExamples().get("unrecognised-first-byte-reply"));
  });
});
