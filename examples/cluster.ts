// The README's cluster example (test/readme.test.ts checks the two agree and runs it).
import { announce, createClient, createRegistry, createServer } from "farcall";
import { Arith, arithImpl } from "./demo/services.js";

const registry = createRegistry();
const at = await registry.listen("tcp://127.0.0.1:0");

// Two replicas announce themselves; each deregisters first when it closes.
const replicas = [createServer().add(Arith, arithImpl()), createServer().add(Arith, arithImpl())];
for (const server of replicas) {
  await server.listen("tcp://127.0.0.1:0");
  await announce(server, at, { version: "1.0.0" }).registered;
}

// The client knows a name, not addresses, and spreads its calls over what the name resolves to.
const client = createClient(`registry://${at.slice("tcp://".length)}/Arith?version=^1`);
const arith = client.service(Arith);
const sums = await Promise.all(Array.from({ length: 100 }, (_, i) => arith.add({ a: i, b: 1 })));
await replicas[0]?.close(); // graceful: its calls finish, new ones go to the other replica
console.log(sums.length, await arith.add({ a: 2, b: 3 }));

await client.close();
await replicas[1]?.close();
await registry.close();
