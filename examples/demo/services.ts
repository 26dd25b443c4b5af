import { z } from "zod";
import {
  bidiStream,
  Code,
  clientStream,
  defineService,
  type HandlerContext,
  oneway,
  RpcError,
  type ServiceImpl,
  serverStream,
  unary,
} from "../../src/index.js";

/** Runtime schema for `divide`: any Standard Schema validator works; this one is zod. */
export const DivideArgs = z.object({ a: z.number(), b: z.number() });

/** The demo's arithmetic service. */
export const Arith = defineService("Arith", {
  /** Pure functions: a client may send them again after a lost connection. */
  add: unary<{ a: number; b: number }, number>({ idempotent: true }),
  multiply: unary<{ a: number; b: number }, number>({ idempotent: true }),
  divide: unary({ input: DivideArgs, output: z.number() }),
  /** Counts 1..to, one number per message. */
  count: serverStream<{ to: number; delayMs?: number }, number>(),
  /** Adds up a stream of numbers. */
  sum: clientStream<number, number>(),
  /** Echoes each line back in upper case. */
  chat: bidiStream<string, string>(),
  /** Writes a line to the server's log; no reply. */
  log: oneway<string>(),
  /** Waits `ms` (or until canceled) and says how long it waited. */
  sleep: unary<{ ms: number }, string>(),
});

/** The demo's time service. */
export const Time = defineService("Time", {
  printTime: unary<string, string>(),
});

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Handlers for {@link Arith}. `log` lines go to `logSink`. */
export function arithImpl(logSink: (line: string) => void = () => {}): ServiceImpl<typeof Arith.specs> {
  return {
    add: ({ a, b }) => a + b,
    multiply: ({ a, b }) => a * b,
    divide: ({ a, b }) => {
      if (b === 0) throw new RpcError(Code.InvalidArgument, "divide by zero");
      return a / b;
    },
    async *count({ to, delayMs }, ctx: HandlerContext) {
      for (let i = 1; i <= to; i++) {
        if (delayMs) await wait(delayMs, ctx.signal);
        yield i;
      }
    },
    async sum(numbers) {
      let total = 0;
      for await (const n of numbers) total += n;
      return total;
    },
    async *chat(lines) {
      for await (const line of lines) yield line.toUpperCase();
    },
    log: (line) => logSink(line),
    async sleep({ ms }, ctx) {
      await wait(ms, ctx.signal);
      return `slept ${ms} ms`;
    },
  };
}

/**
 * The Time program of time.x (ONC RPC program 0x20000001, version 1, `PRINTIME`), for rpcgen's C
 * clients: the reply names the time as C's `ctime()` writes it.
 */
export const oncTimeImpl = {
  PRINTIME: (message: string) => `Current time is ${ctime(new Date())} (${message})`,
};

/** A date as C's `ctime()` writes it, without its newline: `Thu Dec  3 16:24:41 2026` (UTC). */
function ctime(d: Date): string {
  const [day, month] = [d.toUTCString().slice(0, 3), d.toUTCString().slice(8, 11)];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, " ")} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** Handlers for {@link Time}. */
export const timeImpl: ServiceImpl<typeof Time.specs> = {
  printTime: (message) => `Current time is: ${new Date().toISOString()} (${message})`,
};
