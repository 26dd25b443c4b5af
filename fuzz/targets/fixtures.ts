/**
 * The services the carrier targets call: a router (the server's dispatcher) with methods of every
 * kind, and a program of ONC RPC procedures that echo each XDR vector type.
 */
import { RpcError } from "../../src/core/rpc-error.js";
import { Code, defineService, oneway, serverStream, unary, xdr, xdrWire } from "../../src/index.js";
import type { ServerDispatcher } from "../../src/protocol/call-context.js";
import { Router } from "../../src/server/router.js";
import { xdrVectors } from "../vectors.js";

/** The ONC RPC program of the call target: procedure i + 1 echoes the vectors' type i. */
export const fuzzProgram = 0x2000_0099;
export const fuzzVersion = 1;
/** Procedures besides the echoes: one fails with an RpcError, one throws a TypeError, one answers later. */
export const failingProc = 200;
export const throwingProc = 201;
export const laterProc = 202;

export const Echo = defineService("Echo", {
  echo: unary<unknown, unknown>(),
  add: unary<{ a: number; b: number }, number>(),
  fail: unary<unknown, never>(),
  crash: unary<unknown, never>(),
  later: unary<unknown, unknown>(),
  count: serverStream<{ to: number }, number>(),
  note: oneway<unknown>(),
});

/** A router as the server builds one, with {@link Echo} and the ONC RPC program. */
export function fuzzRouter(): ServerDispatcher {
  const router = new Router(() => [], { exposeErrors: false, onError: undefined });
  const impl: Record<string, (input: unknown) => unknown> = {
    echo: (input) => input,
    add: (input) => {
      const { a, b } = (input ?? {}) as { a?: unknown; b?: unknown };
      if (typeof a !== "number" || typeof b !== "number") throw new RpcError(Code.InvalidArgument, "a and b");
      return a + b;
    },
    fail: () => {
      throw new RpcError(Code.FailedPrecondition, "refused", { details: [{ why: "fuzz" }] });
    },
    crash: () => {
      throw new TypeError("a handler bug");
    },
    later: async (input) => {
      await Promise.resolve();
      return input;
    },
    count: (input) => {
      const to = Math.min(Math.max(Number((input as { to?: unknown } | null)?.to) || 0, 0), 5);
      return (function* () {
        for (let i = 1; i <= to; i++) yield i;
      })();
    },
    note: () => undefined,
  };
  for (const [name, method] of Echo.methods) router.add(method, impl[name] as (input: unknown) => unknown);

  const { types } = xdrVectors();
  const procs: Record<string, ReturnType<typeof unary>> = {};
  types.forEach((t, i) => {
    procs[`p${i + 1}`] = unary({ program: fuzzProgram, version: fuzzVersion, id: i + 1, wire: xdrWire(t, t) });
  });
  const intWire = xdrWire(xdr.int, xdr.int);
  procs.fail = unary({ program: fuzzProgram, version: fuzzVersion, id: failingProc, wire: intWire });
  procs.crash = unary({ program: fuzzProgram, version: fuzzVersion, id: throwingProc, wire: intWire });
  procs.later = unary({ program: fuzzProgram, version: fuzzVersion, id: laterProc, wire: intWire });
  const program = defineService("FUZZ.V1", procs);
  for (const [name, method] of program.methods) {
    if (name === "fail") router.add(method, impl.fail as () => never);
    else if (name === "crash") router.add(method, impl.crash as () => never);
    else if (name === "later") router.add(method, impl.later as (input: unknown) => unknown);
    else router.add(method, (input) => input);
  }
  // A second version of the program, so PROG_MISMATCH has a range to report.
  const v3 = defineService("FUZZ.V3", {
    ping: unary({ program: fuzzProgram, version: 3, id: 1, wire: intWire }),
  });
  for (const [, method] of v3.methods) router.add(method, (input) => input);
  return router;
}
