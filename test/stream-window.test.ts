/**
 * The stream window is farcall framing's own setting (docs/protocol.md §5, §10): set on
 * `farcallProtocol`, announced in SETTINGS key 4, and refused among the shared limits.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Arith, arithImpl } from "../examples/demo/services.js";
import { createClient, createServer } from "../src/index.js";
import { builtinProtocols, defaultStreamWindowBytes, farcallProtocol } from "../src/protocol/index.js";
import { F, FarcallPeer, frame, request, T } from "./farcall-peer.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const streamWindowKey = 4;

async function announcedWindow(protocols?: ReturnType<typeof builtinProtocols>): Promise<number | undefined> {
  const server = createServer(protocols ? { protocols } : {}).add(Arith, arithImpl());
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  const peer = await FarcallPeer.open(Number(new URL(address).port), cleanups, 65_536);
  return peer.settings.get(streamWindowKey);
}

test("a server announces a stream's 32 KiB start in SETTINGS, or farcallProtocol's streamWindowBytes if smaller", async () => {
  assert.equal(defaultStreamWindowBytes, 4 * 1024 * 1024);
  assert.equal(await announcedWindow(), 32 * 1024);
  assert.equal(await announcedWindow(builtinProtocols({ farcall: { streamWindowBytes: 16_384 } })), 16_384);
});

test("a client with a small window still gets a whole stream", async () => {
  const server = createServer({ protocols: builtinProtocols({ farcall: { streamWindowBytes: 1_024 } }) }).add(
    Arith,
    arithImpl(),
  );
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  const client = createClient(address, { protocols: [farcallProtocol({ streamWindowBytes: 1_024 })] });
  cleanups.push(() => client.close());
  const got: number[] = [];
  for await (const n of client.service(Arith).count({ to: 500 })) got.push(n);
  assert.equal(got.length, 500);
  assert.equal(got[499], 500);
});

test("streamWindowBytes is refused among the shared limits, and out of range on the protocol", () => {
  assert.throws(
    () => createServer({ limits: { streamWindowBytes: 1_024 } as never }),
    /unknown limit streamWindowBytes; the stream window is farcall framing's: farcallProtocol/,
  );
  assert.throws(
    () => createClient("tcp://127.0.0.1:1", { limits: { maxMesageBytes: 1 } as never }),
    /unknown limit maxMesageBytes/,
  );
  assert.throws(() => farcallProtocol({ streamWindowBytes: 0 }), /streamWindowBytes must be an integer/);
  assert.throws(() => farcallProtocol({ streamWindowBytes: 2 ** 32 }), /streamWindowBytes must be an integer/);
});

/**
 * Sends `count` DATA messages `payload` to Arith/sum (client_stream) as credit allows, then END,
 * over a raw connection; returns the server's WINDOW grants, the most credit this side held, and
 * the RESPONSE.
 */
async function sumOverWire(payload: string, count: number) {
  const server = createServer().add(Arith, arithImpl());
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  const peer = await FarcallPeer.open(Number(new URL(address).port), cleanups, 65_536);
  let credit = peer.settings.get(streamWindowKey) ?? 0;
  let mostCredit = credit;
  const grants: number[] = [];
  let reply: string | undefined;
  const data = frame(T.Data, 0, 1, Buffer.from(payload));
  let sent = 0;
  const pump = () => {
    const parts: Buffer[] = [];
    for (; credit > 0 && sent < count; sent++) {
      parts.push(data);
      credit -= data.length;
    }
    if (sent === count) parts.push(frame(T.End, 0, 1));
    if (parts.length > 0) peer.send(...parts);
  };
  peer.onFrame = (f) => {
    if (f.type === T.Window) {
      grants.push(f.payload.readUInt32BE(0));
      credit += grants.at(-1) ?? 0;
      mostCredit = Math.max(mostCredit, credit);
      if (sent < count) pump();
    } else reply = `${f.type} ${f.payload.toString("utf8")}`;
  };
  peer.send(request({ id: 1, methodId: 1, name: "Arith/sum", flags: F.Stream }));
  pump();
  await peer.until(() => reply !== undefined, 10_000, "the reply");
  return { grants, mostCredit, reply };
}

test("a stream of small messages never has more than 32 KiB of credit", async () => {
  const { grants, mostCredit, reply } = await sumOverWire("1", 20_000);
  assert.equal(reply, `${T.Response} 20000`);
  assert.ok(mostCredit <= 32 * 1024, `the sender held ${mostCredit} bytes of credit`);
  // One WINDOW per half window (16 KiB) of the 220,000 bytes taken, less the 32 KiB announced.
  assert.ok(grants.length >= 10 && grants.length <= 14, `${grants.length} grants for 20,000 messages`);
});

test("a stream of 64 KiB messages has its whole 4 MiB window once its first message is taken", async () => {
  const message = `1${" ".repeat(65_535)}`;
  const { grants, mostCredit, reply } = await sumOverWire(message, 100);
  assert.equal(reply, `${T.Response} 100`);
  // 32 KiB announced, 65,546 spent: the first grant tops that up to the whole window.
  assert.equal(grants[0], defaultStreamWindowBytes - 32 * 1024 + 65_546);
  assert.equal(mostCredit, defaultStreamWindowBytes);
});
