// The README's quick start, verbatim (test/readme.test.ts keeps the two the same).
import { createClient, createServer, defineService, serverStream, unary } from "farcall";
import { z } from "zod"; // or any Standard Schema validator (valibot, arktype …), or none

const Arith = defineService("Arith", {
  add: unary<{ a: number; b: number }, number>(), // types only
  divide: unary({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }),
  count: serverStream<{ to: number }, number>(),
});

const server = createServer().add(Arith, {
  add: ({ a, b }) => a + b,
  divide: ({ a, b }) => a / b,
  async *count({ to }) {
    for (let i = 1; i <= to; i++) yield i;
  },
});
await server.listen("tcp://127.0.0.1:4000"); // or unix:///tmp/arith.sock

const client = createClient("tcp://127.0.0.1:4000");
const arith = client.service(Arith);
console.log(await arith.add({ a: 1, b: 2 }, { timeoutMs: 200 })); // 3
for await (const n of arith.count({ to: 3 })) console.log(n); // 1 2 3
await client.close();
await server.close();
