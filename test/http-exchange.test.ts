/**
 * The HTTP exchange a protocol gets (protocol/http/exchange.ts) streams binary bodies both ways
 * and carries trailers: a route of a test protocol reads a chunked request as it arrives and
 * answers chunk by chunk, ending with trailers, as gRPC over HTTP needs.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { createServer } from "../src/index.js";
import { builtinProtocols, type Protocol } from "../src/protocol/index.js";
import { until } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
/** What `chunks()` threw when a client went away in the middle of its body. */
let cutWith: unknown;

/** `POST /bytes/invert`: every byte of the body inverted, as it comes; trailers `x-bytes` and `x-chunks`. */
const invert: Protocol = {
  name: "invert",
  http(req, res) {
    if (req.url !== "/bytes/invert") return false;
    void (async () => {
      res.head(200, { "content-type": "application/octet-stream", trailer: "x-bytes, x-chunks" });
      let bytes = 0;
      let chunks = 0;
      try {
        for await (const chunk of req.chunks()) {
          chunks++;
          bytes += chunk.length;
          await res.write(chunk.map((b) => 255 - b));
        }
        res.end(undefined, {
          "x-bytes": String(bytes),
          "x-chunks": String(chunks),
          "x-sent": req.trailers()["x-sent"] ?? "",
        });
      } catch (err) {
        cutWith = err;
        res.end(undefined, { "x-error": "cut" });
      }
    })();
    return true;
  },
};

test("an HTTP route streams a binary body in and out, and trailers both ways", async () => {
  const server = createServer({ protocols: [...builtinProtocols(), invert] });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  const port = Number(new URL(address).port);
  const pieces = 40;
  const piece = Buffer.alloc(50_000, 7);
  const reply = await new Promise<{ body: Buffer; trailers: NodeJS.Dict<string>; firstAt: number }>(
    (resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, method: "POST", path: "/bytes/invert", headers: { trailer: "x-sent" } },
        (res) => {
          const parts: Buffer[] = [];
          let firstAt = -1;
          res.on("data", (d: Buffer) => {
            if (firstAt < 0) firstAt = sent;
            parts.push(d);
          });
          res.on("end", () => resolve({ body: Buffer.concat(parts), trailers: res.trailers, firstAt }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      let sent = 0;
      // The pieces go out one by one; the reply's first bytes must come back before the last is sent.
      const next = () => {
        if (sent === pieces) {
          req.addTrailers({ "x-sent": String(sent) });
          req.end();
          return;
        }
        sent++;
        req.write(piece);
        setTimeout(next, 5);
      };
      next();
    },
  );
  assert.equal(reply.body.length, pieces * piece.length);
  assert.ok(reply.body.every((b) => b === 248));
  assert.equal(reply.trailers["x-bytes"], String(pieces * piece.length));
  assert.ok(Number(reply.trailers["x-chunks"]) >= 2, `chunks: ${reply.trailers["x-chunks"]}`);
  assert.equal(reply.trailers["x-sent"], String(pieces));
  assert.ok(reply.firstAt < pieces, `the reply began only after all ${pieces} pieces were sent`);
});

test("a client that goes away in the middle of its body ends the route's chunks with canceled", async () => {
  const server = createServer({ protocols: [...builtinProtocols(), invert] });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 200 }));
  const req = request({
    host: "127.0.0.1",
    port: Number(new URL(address).port),
    method: "POST",
    path: "/bytes/invert",
  });
  req.on("error", () => {});
  req.on("response", (res) => {
    res.resume();
    res.on("error", () => {});
  });
  req.write(Buffer.alloc(1_000, 1));
  await new Promise((r) => setTimeout(r, 50));
  req.destroy();
  await until(() => cutWith !== undefined, 3_000);
  assert.match(String((cutWith as Error | undefined)?.message), /request body cut short/);
});
