// JsonRpcResponder in memory: texts in, reply texts out, with a table of plain functions standing
// in for the server's router (docs/protocols.md, "JSON-RPC 2.0" and "Go net/rpc/jsonrpc").

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Limits, resolveLimits } from "../../core/limits.js";
import { RpcError } from "../../core/rpc-error.js";
import { defineService, type MethodDescriptor, unary } from "../../core/service.js";
import type { ServerCallContext, ServerDispatcher } from "../call-context.js";
import { JsonRpcResponder } from "./server.js";

const Arith = defineService("Arith", { add: unary<{ a: number; b: number }, number>() });
const Probe = defineService("Probe", { echo: unary<unknown, unknown>() });

/** A dispatcher over `Arith/add` and `Probe/echo` that records every input it ran. */
function table(runs: unknown[]): ServerDispatcher & { paths(): string[] } {
  const methods = new Map<string, MethodDescriptor>();
  for (const service of [Arith, Probe]) for (const m of service.methods.values()) methods.set(m.path, m);
  const handlers: Record<string, (input: unknown) => unknown> = {
    "Arith/add": (input) => {
      const { a, b } = input as { a: number; b: number };
      return a + b;
    },
    "Probe/echo": (input) => input,
  };
  return {
    resolve: (path) => methods.get(path),
    methodsNamed: (name) => [...methods.values()].filter((m) => m.name === name),
    paths: () => [...methods.keys()],
    methods: () => [...methods.values()],
    dispatch(method: MethodDescriptor, input: unknown, _ctx: ServerCallContext) {
      runs.push(input);
      return handlers[method.path]?.(input);
    },
    toWire: (err) => RpcError.from(err),
  };
}

function endpoint(limits: Partial<Limits> & { maxBatchLength?: number } = {}, runs: unknown[] = []): JsonRpcResponder {
  const { maxBatchLength = 1_000, ...rest } = limits;
  return new JsonRpcResponder(
    table(runs),
    { limits: resolveLimits(rest), goFieldNames: "lowerCamel", maxBatchLength },
    { transport: "memory", address: "test" },
  );
}

const encoder = new TextEncoder();

/** The endpoint's synchronous answer to `text` (every handler here is synchronous). */
function answer(e: JsonRpcResponder, text: string): string | undefined {
  const out = e.handle(encoder.encode(text));
  assert.ok(!(out instanceof Promise), "a synchronous answer");
  return out;
}

describe("JsonRpcResponder: batch length", () => {
  const request = (i: number) => `{"jsonrpc":"2.0","method":"Probe.echo","params":[${i}],"id":${i}}`;

  // Regression: the whole batch went through JSON.parse before its length was compared with
  // maxBatchLength (200,000 entries: 100-240 ms of event loop and ~20 MiB, then the refusal).
  // The count now comes first, so a batch with entry 11 of maxBatchLength 10 is refused without
  // reading what follows: here a tail that is not JSON, which parsing would have reported as -32700.
  test("a batch over maxBatchLength is refused from its count, before anything is parsed", () => {
    const runs: unknown[] = [];
    const e = endpoint({ maxBatchLength: 10 }, runs);
    const reply = JSON.parse(answer(e, `[${"1,".repeat(11)} not json at all]`) ?? "");
    assert.deepEqual(reply, {
      jsonrpc: "2.0",
      id: null,
      error: {
        code: -32600,
        message: "batch of more than 10 entries exceeds maxBatchLength 10",
        data: { code: "resource_exhausted" },
      },
    });
    const valid = `[${Array.from({ length: 11 }, (_, i) => request(i)).join(",")}]`;
    assert.equal(JSON.parse(answer(e, valid) ?? "").error.code, -32600);
    assert.deepEqual(runs, [], "nothing ran");
  });

  test("a batch of exactly maxBatchLength is answered, entry for entry", () => {
    const runs: unknown[] = [];
    const e = endpoint({ maxBatchLength: 10 }, runs);
    const replies = JSON.parse(answer(e, `[${Array.from({ length: 10 }, (_, i) => request(i)).join(",")}]`) ?? "");
    assert.deepEqual(
      replies,
      Array.from({ length: 10 }, (_, i) => ({ jsonrpc: "2.0", id: i, result: i })),
    );
    assert.equal(runs.length, 10);
  });

  test("the default maxBatchLength, 1,000, refuses 200,000 empty objects without parsing them", () => {
    const e = endpoint();
    const started = performance.now();
    const reply = JSON.parse(answer(e, `[${Array(200_000).fill("{}").join(",")}]`) ?? "");
    assert.equal(reply.error.message, "batch of more than 1000 entries exceeds maxBatchLength 1000");
    // Scanning 1,001 entries; parsing all 200,000 took 100-240 ms through a server.
    assert.ok(performance.now() - started < 1_000);
  });

  test("an empty batch is still one invalid request, and a malformed one a parse error", () => {
    const e = endpoint();
    assert.equal(JSON.parse(answer(e, " [ ] ") ?? "").error.code, -32600);
    assert.equal(JSON.parse(answer(e, "[1, nope]") ?? "").error.code, -32700);
  });

  // The spans found by the count are what the ids are echoed from.
  test("ids in a batch are echoed as spelled, whatever the spacing around entries", () => {
    const e = endpoint();
    const text =
      '[ {"jsonrpc":"2.0","method":"Arith.add","params":{"a":1,"b":2},"id":12345678901234567890} ,\n' +
      '\t{"jsonrpc":"2.0","method":"Arith.add","params":{"a":2,"b":2},"id":1e3},' +
      '{"jsonrpc":"2.0","method":"Arith.add","params":{"a":3,"b":2},"id":"\\u0061"} ]';
    assert.equal(
      answer(e, text),
      '[{"jsonrpc":"2.0","id":12345678901234567890,"result":3},' +
        '{"jsonrpc":"2.0","id":1e3,"result":4},' +
        '{"jsonrpc":"2.0","id":"\\u0061","result":5}]',
    );
  });
});

describe("JsonRpcResponder: maxKeys", () => {
  test("params with more keys than maxKeys are refused before the call, with the numbers", () => {
    const runs: unknown[] = [];
    const e = endpoint({ maxKeys: 3 }, runs);
    const reply = JSON.parse(
      answer(e, '{"jsonrpc":"2.0","method":"Probe.echo","params":{"a":1,"b":2,"c":3,"d":4},"id":1}') ?? "",
    );
    assert.equal(reply.error.code, -32700);
    assert.equal(reply.error.message, "object with 4 keys exceeds maxKeys 3");
    assert.equal(reply.error.data.code, "invalid_argument");
    assert.deepEqual(runs, []);
    // The request object itself is an object too: 4 members under a limit of 4 pass.
    assert.equal(
      answer(endpoint({ maxKeys: 4 }), '{"jsonrpc":"2.0","method":"Probe.echo","params":{"a":1},"id":1}'),
      '{"jsonrpc":"2.0","id":1,"result":{"a":1}}',
    );
  });
});

describe("JsonRpcResponder: Go's dialect", () => {
  // The texts of Go 1.19's net/rpc server (src/net/rpc/server.go, readRequestHeader), which Go's
  // client hands to the caller as rpc.ServerError and which callers compare with.
  test("an unroutable method is answered in Go's server's words, and the call goes on", () => {
    const e = endpoint();
    const go = (method: string, id: number) =>
      answer(e, `{"method":${JSON.stringify(method)},"params":[{"A":1,"B":2}],"id":${id}}`);
    assert.equal(go("Arith.Nope", 0), `{"id":0,"result":null,"error":"rpc: can't find method Arith.Nope"}`);
    assert.equal(go("Nope.Add", 1), `{"id":1,"result":null,"error":"rpc: can't find service Nope.Add"}`);
    assert.equal(go("NoDot", 2), `{"id":2,"result":null,"error":"rpc: service/method request ill-formed: NoDot"}`);
    assert.equal(go("Arith.Add", 3), '{"id":3,"result":3,"error":null}');
  });

  test("JSON-RPC 2.0 keeps method not found (-32601)", () => {
    const reply = JSON.parse(answer(endpoint(), '{"jsonrpc":"2.0","method":"Arith.Nope","id":1}') ?? "");
    assert.deepEqual(reply.error, {
      code: -32601,
      message: "method not found: Arith.Nope",
      data: { code: "unimplemented" },
    });
  });
});
