/**
 * Every example of docs/demo.md against the demo services on a loopback port: the farcall framing
 * blocks byte for byte, the curl commands (status and body), and each JSON-RPC request once more
 * over TCP. Also checks that the page covers every method of the demo.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Arith, Time } from "../examples/demo/services.js";
import { checkCurl, checkFarcall, checkJsonRpcTcp, jsonRpcText, readDemoDoc } from "./demo-doc.js";
import { startDemo } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const doc = readDemoDoc();

async function demo() {
  const harness = await startDemo();
  cleanups.push(() => harness.close());
  const address = harness.address;
  return { port: Number(address.slice(address.lastIndexOf(":") + 1)), logged: harness.logged };
}

test("the farcall framing examples are what the demo sends, byte for byte", async () => {
  const { port, logged } = await demo();
  const opening = doc.farcall.find((e) => e.name === "opening");
  assert.ok(opening !== undefined, "docs/demo.md has an opening block");
  const examples = doc.farcall.filter((e) => e !== opening);
  assert.ok(examples.length >= 14, `found ${examples.length} farcall examples`);
  for (const example of examples) await checkFarcall(port, opening, example, cleanups);
  assert.deepEqual(logged, ["hello"], "Arith/log printed its line");
});

test("the curl examples print the status and body the page says", async () => {
  const { port, logged } = await demo();
  assert.ok(doc.curl.length >= 30, `found ${doc.curl.length} curl examples`);
  for (const example of doc.curl) await checkCurl(port, example);
  assert.deepEqual(logged, ["hello", "hello", "batch"], "each Arith/log call printed its line");
});

test("each JSON-RPC request answers over TCP with the body it gets over HTTP", async () => {
  const { port, logged } = await demo();
  const requests = doc.curl.filter((e) => jsonRpcText(e) !== undefined);
  assert.ok(requests.length >= 13, `found ${requests.length} JSON-RPC examples`);
  for (const example of requests) await checkJsonRpcTcp(port, example, cleanups);
  assert.deepEqual(logged, ["hello", "batch"]);
});

test("the page has a farcall, an HTTP JSON and a JSON-RPC example of every demo method", () => {
  const farcall = doc.farcall.map((e) => e.send.toString("latin1"));
  const http = doc.curl.filter((e) => jsonRpcText(e) === undefined).map((e) => e.command);
  const jsonRpc = doc.curl.map(jsonRpcText).filter((t) => t !== undefined);
  for (const service of [Arith, Time]) {
    for (const method of service.methods.values()) {
      const [name, short] = [method.path, method.path.split("/")[1] as string];
      assert.ok(
        farcall.some((bytes) => bytes.includes(name)),
        `a farcall example calls ${name}`,
      );
      assert.ok(
        http.some((c) => c.includes(`/${name}`)),
        `a curl example calls ${name}`,
      );
      // Streams are refused over JSON-RPC: the page shows that for count and says so for the others.
      if (method.kind === "client_stream" || method.kind === "bidi_stream") continue;
      assert.ok(
        jsonRpc.some((t) => t.includes(`"${service.name}.${short}"`)),
        `a JSON-RPC example calls ${name}`,
      );
    }
  }
});
