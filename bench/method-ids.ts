// Measures what binding numeric method ids once per connection saves over sending the method
// name on every REQUEST (docs/protocol.md §4.1). Loopback only, bounded: ROUNDS × CALLS calls.
// Run: npm run build && node dist/bench/method-ids.js

import { Arith, arithImpl } from "../examples/demo/services.js";
import { msgpackCodec } from "../src/codec/index.js";
import { defaultLimits } from "../src/core/limits.js";
import type { MethodDescriptor } from "../src/core/service.js";
import { createServer } from "../src/index.js";
import { ClientSession } from "../src/protocol/farcall/client-session.js";
import { connect } from "../src/transport/tcp.js";

const CALLS = 200_000;
const INFLIGHT = 64;
const ROUNDS = 3;

const server = createServer().add(Arith, arithImpl());
const address = await server.listen("tcp://127.0.0.1:0");
const add = Arith.methods.get("add") as MethodDescriptor;

async function session(methodIds: boolean): Promise<ClientSession> {
  const stream = await connect(address, 5_000);
  const s = new ClientSession(stream, msgpackCodec, defaultLimits, { methodIds });
  stream.attach(s);
  return s;
}

async function run(s: ClientSession): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < CALLS) {
      next++;
      await s.call(add, { a: 1, b: 2 }, {});
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  return CALLS / ((performance.now() - started) / 1000);
}

const withIds = await session(true);
const withNames = await session(false);
await run(withIds); // warm-up
await run(withNames);
const results: Record<string, number[]> = { ids: [], names: [] };
for (let i = 0; i < ROUNDS; i++) {
  results.ids?.push(await run(withIds));
  results.names?.push(await run(withNames));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ids = median(results.ids ?? []);
const names = median(results.names ?? []);
console.log(`method ids:   ${Math.round(ids)} calls/s (median of ${ROUNDS})`);
console.log(`method names: ${Math.round(names)} calls/s (median of ${ROUNDS})`);
console.log(`ids / names:  ${(ids / names).toFixed(3)}`);
withIds.shutdown();
withNames.shutdown();
await server.close();
