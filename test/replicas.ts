// Replicas for the cluster tests: a Counter server that counts the calls its handlers ran, the
// oracle for "every call settled once, none ran twice".
import { Code, createServer, defineService, RpcError, type Server, unary } from "../src/index.js";

export const Counter = defineService("Counter", {
  /** Not idempotent: each run counts. */
  hit: unary<{ ms?: number }, string>(),
  /** Idempotent: a read. */
  who: unary<{ ms?: number }, string>({ idempotent: true }),
});

export interface Replica {
  server: Server;
  address: string;
  runs: { hit: number; who: number };
}

/** A server of {@link Counter} on loopback that counts the calls its handlers ran; closed by `cleanups`. */
export async function startReplica(name: string, cleanups: (() => unknown)[], failing = false): Promise<Replica> {
  const runs = { hit: 0, who: 0 };
  const wait = (ms: number | undefined, signal: AbortSignal) =>
    ms === undefined
      ? undefined
      : new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          signal.addEventListener(
            "abort",
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
  const server = createServer({ graceMs: 2_000 }).add(Counter, {
    async hit({ ms }, ctx) {
      runs.hit++;
      await wait(ms, ctx.signal);
      return name;
    },
    async who({ ms }, ctx) {
      runs.who++;
      if (failing) throw new RpcError(Code.Unavailable, "overloaded");
      await wait(ms, ctx.signal);
      return name;
    },
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 0 }));
  return { server, address, runs };
}
