// The main demo: `npm start`. Starts a server on a free loopback port, then a client calls it;
// then a cluster of three replicas behind an embedded registry, one stopped and one killed.
import { Code, createClient, createServer, RpcError } from "../../src/index.js";
import { clusterDemo } from "./cluster-demo.js";
import { Arith, arithImpl, Time, timeImpl } from "./services.js";

const server = createServer()
  .add(
    Arith,
    arithImpl((line) => console.log(`  server log: ${line}`)),
  )
  .add(Time, timeImpl);
const address = await server.listen("tcp://127.0.0.1:0");
console.log(`server listening on ${address}`);

const client = createClient(address);
const arith = client.service(Arith);
const time = client.service(Time);

console.log("\n1. plain calls");
console.log(`  Arith.add(1, 2) = ${await arith.add({ a: 1, b: 2 })}`);
console.log(`  Arith.multiply(6, 7) = ${await arith.multiply({ a: 6, b: 7 })}`);
console.log(`  Arith.divide(10, 4) = ${await arith.divide({ a: 10, b: 4 })}`);
console.log(`  Time.printTime("hello") = ${await time.printTime("hello")}`);

console.log("\n2. 1,000 concurrent calls on one connection");
const started = performance.now();
const sums = await Promise.all(Array.from({ length: 1000 }, (_, i) => arith.add({ a: i, b: i })));
const ms = performance.now() - started;
const correct = sums.every((s, i) => s === 2 * i);
console.log(`  ${sums.length} replies, all correct: ${correct}, in ${ms.toFixed(1)} ms`);

console.log("\n3. a server stream");
const counted: number[] = [];
for await (const n of arith.count({ to: 5, delayMs: 20 })) counted.push(n);
console.log(`  Arith.count(5) streamed ${counted.join(", ")}`);
console.log(`  Arith.sum([1..10]) = ${await arith.sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])} (client stream)`);
const echoed: string[] = [];
for await (const line of arith.chat(["ping", "pong"])) echoed.push(line);
console.log(`  Arith.chat(["ping", "pong"]) = ${echoed.join(", ")} (bidi stream)`);
await arith.log("a oneway message");

console.log("\n4. a call that hits its deadline");
try {
  await arith.sleep({ ms: 2_000 }, { timeoutMs: 100 });
} catch (err) {
  if (!(err instanceof RpcError) || err.code !== Code.DeadlineExceeded) throw err;
  console.log(`  Arith.sleep(2000 ms) with timeoutMs 100 failed: ${err.message}`);
}

console.log("\n5. errors");
try {
  await arith.divide({ a: 1, b: 0 });
} catch (err) {
  if (!(err instanceof RpcError)) throw err;
  console.log(`  Arith.divide(1, 0) failed: ${err.message}`);
}
try {
  await arith.divide({ a: 1, b: "two" as unknown as number });
} catch (err) {
  if (!(err instanceof RpcError)) throw err;
  console.log(`  Arith.divide(1, "two") failed: ${err.message}`);
}

await client.close();
await server.close();

console.log("\n6. a cluster: a registry, three replicas (processes), calls by name");
await clusterDemo();
console.log("\ndone");
