// A replica for the cluster fault tests, run as a child process: serves Counter on loopback,
// prints its address, then one line per handler run ("ran hit 17"): the execution log the tests
// check against (a pipe write is synchronous, so a SIGKILL loses no line of a run that started).
// The test runner loads this file too (it runs every .js under dist/): without the --replica flag
// it only exports Counter.
import { createServer, defineService, unary } from "../src/index.js";

export const Counter = defineService("Counter", {
  hit: unary<{ id: number; ms: number }, string>(),
  who: unary<{ id: number; ms: number }, string>({ idempotent: true }),
});

if (process.argv[2] === "--replica") {
  const name = process.argv[3] ?? "replica";
  const run =
    (method: string) =>
    async ({ id, ms }: { id: number; ms: number }, ctx: { signal: AbortSignal }) => {
      process.stdout.write(`ran ${method} ${id}\n`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        ctx.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
      return name;
    };
  const server = createServer({ graceMs: 5_000 }).add(Counter, { hit: run("hit"), who: run("who") });
  const address = await server.listen("tcp://127.0.0.1:0");
  process.stdout.write(`listening ${address}\n`);
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
}
