// Behaviours the protocol document asks for that the server once did otherwise: ERROR details
// over the client's MAX_MESSAGE_BYTES are left out (the code still arrives), and a client's GOAWAY
// with an error code ends its calls on the server and nothing it sends after is served.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Arith, arithImpl } from "../examples/demo/services.js";
import { Code, createClient, createServer, defineService, type RpcError, unary } from "../src/index.js";
import { sleep } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";
import { goAway, K, RawPeer, request, T } from "./raw-farcall.js";

const cleanups = trackCleanups();

async function serve(aborts: string[] = []): Promise<number> {
  const Probe = defineService("Probe", { hold: unary<string, string>() });
  const server = createServer()
    .add(Arith, arithImpl())
    .add(Probe, {
      hold: (key, ctx) =>
        new Promise<string>((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => {
            aborts.push(key);
            reject(ctx.signal.reason);
          });
        }),
    });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

test("ERROR details over the client's MAX_MESSAGE_BYTES are left out", async () => {
  const port = await serve();
  const peer = await RawPeer.handshake(port, cleanups, [[K.MaxMessageBytes, 10]]);
  await peer.send(request(1, "Arith/divide", '{"a":"x","b":1}'));
  await peer.frameCount(2);
  const error = peer.frames[1];
  assert.equal(error?.type, T.Error);
  assert.equal(error.payload[0], 3);
  assert.equal(error.flags & 0x40, 0, "no DETAILS flag: the details do not fit the client's limit");
});

test("a client with a small maxMessageBytes still gets invalid_argument for a schema error", async () => {
  const port = await serve();
  const client = createClient(`tcp://127.0.0.1:${port}`, { codec: "json", limits: { maxMessageBytes: 10 } });
  cleanups.push(() => client.close());
  await client.ping(); // the server's SETTINGS are in: its 4 MiB limit, not the client's 10 bytes, applies to the request
  await assert.rejects(client.service(Arith).divide({ a: "x" as unknown as number, b: 1 }), (err: RpcError) => {
    assert.equal(err.code, Code.InvalidArgument, err.message);
    return true;
  });
});

test("a client's GOAWAY 13 aborts the open calls and nothing after it is served", async () => {
  const aborts: string[] = [];
  const port = await serve(aborts);
  const peer = await RawPeer.handshake(port, cleanups);
  await peer.send(request(1, "Probe/hold", '"open"'));
  await sleep(50);
  await peer.send(goAway(13, "protocol error: test"), request(2, "Arith/add", '{"a":1,"b":2}'));
  await sleep(200);
  assert.deepEqual(aborts, ["open"], "the open call's handler is aborted");
  assert.deepEqual(peer.shown(2), [], "a REQUEST after the GOAWAY is not served");
});
