/**
 * Pins the rules of docs/protocol.md that say what the server does at the edges: each refusal of a
 * bad preface (§2.1, byte for byte), SETTINGS before and after the first (§4.8), WINDOW on odd ids
 * (§4.7), what may follow a CANCEL and when a call id is free again (§3.3, §4.4), a reply over the
 * client's MAX_MESSAGE_BYTES (§4.8), and the client's GOAWAY (§9.2). A raw socket talks to a real
 * server on loopback.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Arith, arithImpl, Time, timeImpl } from "../examples/demo/services.js";
import { createServer, defineService, type RpcError, type ServerOptions, unary } from "../src/index.js";
import { sleep } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { data, F, frame, goAway, K, ping, preface, RawPeer, request, settings, show, T, u32 } from "./raw-farcall.js";

const cleanups = trackCleanups();

/** Methods to watch the server with: `hold` waits until aborted and records why. */
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
    // 00 and 80-FF may start an ONC RPC record (docs/protocols.md): refused once bytes 8-11 are
    // neither CALL nor REPLY.
    const notOnc = [0, 0, 0, 0, 0, 0, 0, 9];
    assert.equal(await answer(port, [Buffer.from([0, 0, 0, 0, ...notOnc])]), line("first byte 0x00"));
    assert.equal(await answer(port, [Buffer.from([0x80, 1, 2, 3, ...notOnc])]), line("first byte 0x80"));
    assert.equal(await answer(port, [Buffer.from([0xff, 0, 0, 0, ...notOnc])]), line("first byte 0xff"));
    assert.equal(await answer(port, [Buffer.from([0x01])]), line("first byte 0x01"));
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
    const example = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(await answer(port, [example]), checkedExamples().get("unrecognised-first-byte-reply"));
  });
});

describe("§4.8 SETTINGS before and after the first", () => {
  test("a REQUEST before any SETTINGS is served, under the server's own limits as the client's", async () => {
    const { port } = await start();
    const peer = await RawPeer.open(port, cleanups);
    await peer.send(
      preface(),
      request(1, "Time/printTime", '"hi"'),
      request(2, "Arith/count", '{"to":2}', F.ResponseStream),
    );
    await peer.frameCount(5);
    assert.equal(peer.frames[0]?.type, T.Settings);
    assert.match(peer.shown(1)[0] ?? "", /^RESPONSE 1 "Current time is: .{24} \(hi\)"$/);
    assert.deepEqual(peer.shown(2), ["DATA 2 1", "DATA 2 2", "END 2"]);
  });

  test("SETTINGS that arrive while a call is open apply to its reply", async () => {
    const { port } = await start();
    const peer = await RawPeer.open(port, cleanups);
    await peer.send(preface(), request(1, "Arith/sleep", '{"ms":100}'), settings([[K.MaxMessageBytes, 10]]));
    await peer.frameCount(2);
    assert.deepEqual(peer.shown(), ["ERROR 1 8 reply size 14 exceeds the client's maxMessageBytes 10"]);
    // The same for MAX_METADATA_BYTES: the reply's metadata block (2 + 1 + 3 + 2 + 20 bytes) no longer fits.
    await peer.send(request(2, "Probe/tagged", '{"ms":100,"bytes":20}'), settings([[K.MaxMetadataBytes, 27]]));
    await peer.frameCount(3);
    assert.deepEqual(peer.shown(2), ["ERROR 2 8 metadata size 28 exceeds maxMetadataBytes 27"]);
    assert.equal(peer.frames[2]?.flags, 0, "the ERROR carries no metadata");
  });

  test("a second SETTINGS replaces only the keys it names", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups, [
      [K.MaxMessageBytes, 10],
      [K.StreamWindowBytes, 4_194_304],
    ]);
    await peer.send(settings([[K.StreamWindowBytes, 1000]]), request(1, "Time/printTime", '"hi"'));
    await peer.frameCount(2);
    assert.deepEqual(peer.shown(1), ["ERROR 1 8 reply size 48 exceeds the client's maxMessageBytes 10"]);
    await peer.send(settings([[K.MaxMessageBytes, 100]]), request(2, "Time/printTime", '"hi"'));
    await peer.frameCount(3);
    assert.match(peer.shown(2)[0] ?? "", /^RESPONSE 2 "Current time is: /);
    assert.ok(!peer.frames.some((f) => f.type === T.GoAway));
  });

  test("a new STREAM_WINDOW_BYTES starts later streams; an open stream's credit changes only by WINDOW", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups, [[K.StreamWindowBytes, 30]]);
    // Each DATA "n" costs 11: credit 30 → 19 → 8 → -3, then the stream waits.
    await peer.send(request(1, "Arith/count", '{"to":100}', F.ResponseStream));
    await peer.frameCount(4);
    await peer.send(
      settings([[K.StreamWindowBytes, 4_194_304]]),
      request(3, "Arith/count", '{"to":3}', F.ResponseStream),
    );
    await peer.waitFor(() => peer.shown(3).length === 4, 2_000, "call 3 to end");
    assert.deepEqual(peer.shown(3), ["DATA 3 1", "DATA 3 2", "DATA 3 3", "END 3"]);
    await sleep(100);
    assert.deepEqual(peer.shown(1), ["DATA 1 1", "DATA 1 2", "DATA 1 3"], "call 1 still waits for WINDOW");
    // An increment of 0 changes nothing; 22 more bring credit -3 to 19: two more DATA.
    await peer.send(frame(T.Window, 0, 1, u32(0)));
    await sleep(100);
    assert.equal(peer.shown(1).length, 3);
    await peer.send(frame(T.Window, 0, 1, u32(22)));
    await peer.waitFor(() => peer.shown(1).length === 5, 2_000, "two more DATA");
    await sleep(100);
    assert.deepEqual(peer.shown(1).slice(3), ["DATA 1 4", "DATA 1 5"]);
  });
});

describe("§4.7 WINDOW on odd ids", () => {
  test("on an id with no open call: ignored, whatever its size", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    await peer.send(
      frame(T.Window, 0, 99, u32(100)),
      frame(T.Window, 0, 98, Buffer.alloc(3)),
      frame(T.Window, 0, 97, Buffer.alloc(0)),
      request(1, "Arith/add", '{"a":1,"b":2}'),
    );
    await peer.frameCount(2);
    // A call that has ended counts as unknown too.
    await peer.send(frame(T.Window, 0, 1, Buffer.alloc(7)), request(2, "Arith/add", '{"a":2,"b":2}'));
    await peer.frameCount(3);
    assert.deepEqual(peer.shown(), ["RESPONSE 1 3", "RESPONSE 2 4"]);
  });

  test("on an open call without a reply stream: ignored if 4 bytes, else a connection error", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    await peer.send(request(1, "Arith/sleep", '{"ms":50}'), frame(T.Window, 0, 1, u32(100)));
    await peer.frameCount(2);
    assert.deepEqual(peer.shown(), ['RESPONSE 1 "slept 50 ms"']);
    await peer.send(request(2, "Arith/sleep", '{"ms":50}'), frame(T.Window, 0, 2, Buffer.alloc(2)));
    await peer.whenEnded();
    assert.deepEqual(peer.shown(), [
      'RESPONSE 1 "slept 50 ms"',
      "GOAWAY 0 13 protocol error: WINDOW must carry 4 bytes",
    ]);
  });

  test("on id 0: a connection error, whatever its size", async () => {
    const { port } = await start();
    for (const payload of [u32(100), Buffer.alloc(0)]) {
      const peer = await RawPeer.handshake(port, cleanups);
      await peer.send(frame(T.Window, 0, 0, payload), request(1, "Arith/add", '{"a":1,"b":2}'));
      await peer.whenEnded();
      assert.deepEqual(peer.shown(), ["GOAWAY 0 13 protocol error: WINDOW frame on id 0"]);
    }
  });
});

describe("§4.4 after CANCEL, §3.3 when an id is free again", () => {
  test("a stream waiting for credit: its DATA are all that came; after the PONG nothing", async () => {
    const { port, aborts } = await start();
    const peer = await RawPeer.handshake(port, cleanups, [[K.StreamWindowBytes, 100]]);
    await peer.send(request(1, "Arith/count", '{"to":100000}', F.ResponseStream));
    // Credit 100: DATA "1".."9" cost 11 each (credit 1 left), DATA "10" costs 12 (credit -11).
    await peer.waitFor(() => peer.shown(1).length === 10, 2_000, "10 DATA");
    await sleep(50);
    assert.equal(peer.shown(1).length, 10, "the stream waits for WINDOW");
    await peer.send(frame(T.Cancel, 0, 1), ping(7));
    await peer.waitFor(() => peer.frames.some((f) => f.type === T.Pong), 2_000, "PONG");
    await sleep(150);
    assert.equal(peer.shown(1).length, 10, "nothing for call 1 after the CANCEL");
    assert.equal(peer.frames.at(-1)?.type, T.Pong, "the PONG is the last frame");
    assert.deepEqual(aborts, []);
  });

  test("a CANCEL that crosses a running stream: late DATA within the credit, none after the PONG", async () => {
    const { port } = await start();
    const window = 1000;
    const peer = await RawPeer.handshake(port, cleanups, [[K.StreamWindowBytes, window]]);
    await peer.send(request(1, "Arith/count", '{"to":1000000}', F.ResponseStream), frame(T.Cancel, 0, 1), ping(1));
    await peer.waitFor(() => peer.frames.some((f) => f.type === T.Pong), 2_000, "PONG");
    const pong = peer.frames.findIndex((f) => f.type === T.Pong);
    const late = peer.frames.slice(0, pong).filter((f) => f.id === 1);
    assert.ok(
      late.every((f) => f.type === T.Data),
      late.map(show).join(" "),
    );
    const cost = late.reduce((n, f) => n + 10 + f.payload.length, 0);
    assert.ok(cost <= window + 10 + 7, `late DATA cost ${cost} is within the credit plus one frame`);
    await sleep(150);
    assert.equal(peer.frames.length, pong + 1, "nothing after the PONG");
  });

  test("a unary call answered before its CANCEL was read: one RESPONSE, before the PONG", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    await peer.send(request(1, "Arith/add", '{"a":1,"b":1}'));
    await peer.frameCount(2); // SETTINGS and the RESPONSE
    await peer.send(frame(T.Cancel, 0, 1), ping(2));
    await peer.waitFor(() => peer.frames.some((f) => f.type === T.Pong), 2_000, "PONG");
    await sleep(100);
    assert.deepEqual(peer.shown(), ["RESPONSE 1 2", "PONG 0 0000000000000002"]);
  });

  test("a unary call whose CANCEL arrives in the same read never runs: nothing for it before the PONG", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    await peer.send(request(1, "Arith/add", '{"a":1,"b":1}'), frame(T.Cancel, 0, 1), ping(2));
    await peer.waitFor(() => peer.frames.some((f) => f.type === T.Pong), 2_000, "PONG");
    await sleep(100);
    assert.deepEqual(peer.shown(), ["PONG 0 0000000000000002"]);
  });

  test("an id may be reused right after CANCEL: the server ran the old call down first", async () => {
    const { port, aborts } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    await peer.send(request(1, "Probe/hold", '"first"'));
    await sleep(50);
    await peer.send(frame(T.Cancel, 0, 1), request(1, "Arith/add", '{"a":1,"b":1}'));
    await peer.frameCount(2);
    await sleep(100);
    assert.deepEqual(peer.shown(), ["RESPONSE 1 2"]);
    assert.deepEqual(aborts, ["first 1 call canceled by client"]);
  });

  test("an id may be reused as soon as the call's RESPONSE, END or ERROR has arrived", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    const steps: [Buffer, number][] = [
      [request(1, "Arith/add", '{"a":1,"b":1}'), 1],
      [request(1, "Arith/add", '{"a":2,"b":1}'), 1],
      [request(1, "Arith/count", '{"to":2}', F.ResponseStream), 3],
      [request(1, "Arith/divide", '{"a":1,"b":0}'), 1],
      [request(1, "Arith/sum", undefined, F.Stream), 0],
      [Buffer.concat([data(1, "4"), frame(T.End, 0, 1)]), 1],
      [request(1, "Arith/multiply", '{"a":6,"b":7}'), 1],
    ];
    let expected = 1;
    for (const [bytes, replies] of steps) {
      await peer.send(bytes);
      expected += replies;
      await peer.frameCount(expected);
    }
    assert.deepEqual(peer.shown(), [
      "RESPONSE 1 2",
      "RESPONSE 1 3",
      "DATA 1 1",
      "DATA 1 2",
      "END 1",
      "ERROR 1 3 divide by zero",
      "RESPONSE 1 4",
      "RESPONSE 1 42",
    ]);
  });
});

describe("§4.8 a reply over the client's MAX_MESSAGE_BYTES", () => {
  test("unary: ERROR 8 instead of the RESPONSE; the connection carries on", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups, [[K.MaxMessageBytes, 10]]);
    await peer.send(request(1, "Time/printTime", '"hi"'), request(2, "Arith/add", '{"a":1,"b":2}'));
    await peer.frameCount(3);
    assert.deepEqual(peer.shown(), ["ERROR 1 8 reply size 48 exceeds the client's maxMessageBytes 10", "RESPONSE 2 3"]);
  });

  test("an ERROR's text is not limited by MAX_MESSAGE_BYTES", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups, [[K.MaxMessageBytes, 1]]);
    await peer.send(request(1, "Arith/divide", '{"a":1,"b":0}'));
    await peer.frameCount(2);
    assert.deepEqual(peer.shown(), ["ERROR 1 3 divide by zero"]);
  });

  test("server stream: the DATA that fit, then ERROR 8 ends the call", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups, [[K.MaxMessageBytes, 1]]);
    await peer.send(request(1, "Arith/count", '{"to":20}', F.ResponseStream));
    await peer.frameCount(11);
    await sleep(100);
    assert.deepEqual(peer.shown(), [
      ...Array.from({ length: 9 }, (_, i) => `DATA 1 ${i + 1}`),
      "ERROR 1 8 reply size 2 exceeds the client's maxMessageBytes 1",
    ]);
  });

  test("bidi stream: ERROR 8 ends the call; later DATA from the client are ignored", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups, [[K.MaxMessageBytes, 10]]);
    await peer.send(
      request(1, "Arith/chat", undefined, F.Stream | F.ResponseStream),
      data(1, '"abc"'),
      data(1, '"abcdefghijkl"'),
    );
    await peer.frameCount(3);
    await peer.send(data(1, '"x"'), frame(T.End, 0, 1), request(2, "Arith/add", '{"a":1,"b":2}'));
    await peer.frameCount(4);
    await sleep(100);
    assert.deepEqual(peer.shown(), [
      'DATA 1 "ABC"',
      "ERROR 1 8 reply size 14 exceeds the client's maxMessageBytes 10",
      "RESPONSE 2 3",
    ]);
  });
});

describe("§9.2 a GOAWAY from the client", () => {
  test("code 14: calls in flight finish, later REQUESTs are served, the server does not close", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    await peer.send(request(1, "Arith/sleep", '{"ms":150}'));
    await peer.send(
      goAway(14, "client closing"),
      request(2, "Arith/add", '{"a":1,"b":2}'),
      request(3, "Arith/count", '{"to":2}', F.ResponseStream),
      ping(3),
    );
    await peer.frameCount(7);
    assert.deepEqual(peer.shown(1), ['RESPONSE 1 "slept 150 ms"']);
    assert.deepEqual(peer.shown(2), ["RESPONSE 2 3"]);
    assert.deepEqual(peer.shown(3), ["DATA 3 1", "DATA 3 2", "END 3"]);
    assert.deepEqual(peer.shown(0), ["PONG 0 0000000000000003"]);
    await sleep(200);
    assert.equal(peer.ended, false, "the server does not end the connection");
    assert.ok(!peer.frames.some((f) => f.type === T.GoAway), "nor send GOAWAY");
  });

  test("code 0 is the same as 14", async () => {
    const { port } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    await peer.send(goAway(0, ""), request(1, "Arith/add", '{"a":1,"b":2}'));
    await peer.frameCount(2);
    await sleep(100);
    assert.deepEqual(peer.shown(), ["RESPONSE 1 3"]);
    assert.equal(peer.ended, false);
  });

  test("the client's FIN ends the connection: open calls are aborted with 14 and get no reply", async () => {
    const { port, aborts } = await start();
    const peer = await RawPeer.handshake(port, cleanups);
    await peer.send(request(1, "Probe/hold", '"held"'), request(2, "Arith/sleep", '{"ms":100}'));
    await sleep(50);
    await peer.send(goAway(14, "client closing"));
    peer.socket.end();
    await peer.whenEnded();
    await sleep(200);
    assert.deepEqual(peer.shown(), []);
    assert.deepEqual(aborts, ["held 14 connection closed by peer"]);
  });
});
