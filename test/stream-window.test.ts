/**
 * The stream window is farcall framing's own setting (docs/protocol.md §5, §10): set on
 * `farcallProtocol`, announced in SETTINGS key 4, and refused among the shared limits.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Arith, arithImpl } from "../examples/demo/services.js";
import { createClient, createServer } from "../src/index.js";
import { builtinProtocols, defaultStreamWindowBytes, farcallProtocol } from "../src/protocol/index.js";
import { FarcallPeer } from "./farcall-peer.js";
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

test("a server announces farcallProtocol's streamWindowBytes in SETTINGS, 4 MiB by default", async () => {
  assert.equal(defaultStreamWindowBytes, 4 * 1024 * 1024);
  assert.equal(await announcedWindow(), defaultStreamWindowBytes);
  assert.equal(await announcedWindow(builtinProtocols({ farcall: { streamWindowBytes: 65_536 } })), 65_536);
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
