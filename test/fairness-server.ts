// A farcall server in a worker thread, for test/stream-fairness.test.ts. It runs on an event loop
// of its own, so the test's peer reads everything the server writes as fast as the kernel hands it
// over (the socket keeps taking writes), and the promises of its pump cost what they cost in a
// server: node:test makes each await in the test's own thread ~45x dearer (2.6 µs against 0.06).
//
// Posts { port } once listening; on "close", closes the server and lets the thread end.
// Loaded as a file by the test runner too (it runs every .js under test/): without a parent it
// does nothing.
import { parentPort } from "node:worker_threads";
import { createServer, defineService, serverStream, unary } from "../src/index.js";

export const Fair = defineService("Fair", {
  add: unary<{ a: number; b: number }, number>(),
  /** 1..n, one number per message, from a synchronous generator: as fast as a handler can produce. */
  items: serverStream<{ n: number }, number>(),
});

const port = parentPort;
if (port !== null) {
  const server = createServer().add(Fair, {
    add: ({ a, b }) => a + b,
    *items({ n }) {
      for (let i = 1; i <= n; i++) yield i;
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  port.postMessage({ port: Number(new URL(address).port) });
  port.once("message", async () => {
    await server.close({ graceMs: 1_000 });
    port.close();
  });
}
