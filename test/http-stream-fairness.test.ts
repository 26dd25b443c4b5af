// A fast HTTP NDJSON stream must not keep the event loop to itself: while one client reads a
// stream of a million small items as fast as it can, a unary call from another connection is
// answered at once, not after the stream.
import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { createServer, defineService, serverStream, unary } from "../src/index.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const S = defineService("S", { many: serverStream<{ n: number }, number>(), ping: unary<undefined, string>() });

test("a unary call beside a full-speed HTTP stream is answered while the stream runs", async () => {
  let streamed = 0;
  let streamDone = false;
  const server = createServer().add(S, {
    *many({ n }) {
      for (let i = 0; i < n; i++) {
        streamed++;
        yield i;
      }
      streamDone = true;
    },
    ping: () => "pong",
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  const port = Number(new URL(address).port);
  const body = JSON.stringify({ n: 30_000 });
  const stream = request({
    port,
    host: "127.0.0.1",
    method: "POST",
    path: "/S/many",
    headers: { "content-type": "application/json" },
  });
  cleanups.push(() => stream.destroy());
  let bytes = 0;
  const ended = new Promise<void>((resolve, reject) => {
    stream.on("response", (res) => {
      res.on("data", (d: Buffer) => {
        bytes += d.length;
      });
      res.on("end", () => resolve());
      res.on("error", reject);
    });
    stream.on("error", reject);
  });
  stream.end(body);
  // Wait until the stream is under way, then call from another connection.
  while (streamed < 1_000) await new Promise((r) => setTimeout(r, 1));
  const answer = await new Promise<{ body: string; streamedThen: number; doneThen: boolean }>((resolve, reject) => {
    const req = request(
      { port, host: "127.0.0.1", method: "POST", path: "/S/ping", headers: { "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ body: text, streamedThen: streamed, doneThen: streamDone }));
      },
    );
    req.on("error", reject);
    req.end();
  });
  assert.equal(answer.body, '"pong"');
  assert.equal(answer.doneThen, false, `the call waited for the whole stream (${answer.streamedThen} items)`);
  await ended;
  assert.ok(bytes > 30_000 * 10);
});
