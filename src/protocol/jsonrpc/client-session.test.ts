import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveLimits } from "../../core/limits.js";
import { RpcError } from "../../core/rpc-error.js";
import { defineService, unary } from "../../core/service.js";
import { requestText } from "./client-session.js";
import { JsonRpcResponder } from "./server.js";

const paramsOf = (input: unknown) =>
  (JSON.parse(requestText("2.0", "P.echo", input, 1)) as { params?: unknown }).params;

describe("requestText params (JSON-RPC 2.0)", () => {
  // Regression: an array input was always wrapped, so [2, 3] went out as [[2,3]] and a peer's
  // method taking two positional params got one.
  test("an array of two or more elements is the params list itself", () => {
    assert.equal(
      requestText("2.0", "Arith.add", [2, 3], 1),
      '{"jsonrpc":"2.0","method":"Arith.add","params":[2,3],"id":1}',
    );
    assert.deepEqual(paramsOf([1, [2], { c: 3 }]), [1, [2], { c: 3 }]);
  });

  test("arrays of zero or one element, scalars, null and bytes go as a one-element list", () => {
    assert.deepEqual(paramsOf([]), [[]]);
    assert.deepEqual(paramsOf([7]), [[7]]);
    assert.deepEqual(paramsOf(5), [5]);
    assert.deepEqual(paramsOf("s"), ["s"]);
    assert.deepEqual(paramsOf(null), [null]);
    assert.deepEqual(paramsOf(new Uint8Array([1, 2])), [{ $bytes: "AQI=" }]);
  });

  test("a plain object goes by name, and no input sends no params", () => {
    assert.deepEqual(paramsOf({ a: 1 }), { a: 1 });
    assert.equal(requestText("2.0", "P.none", undefined, 2), '{"jsonrpc":"2.0","method":"P.none","id":2}');
    assert.equal(requestText("2.0", "P.note", [1, 2], undefined), '{"jsonrpc":"2.0","method":"P.note","params":[1,2]}');
  });

  test("Go's dialect always sends one element, the input itself", () => {
    assert.equal(requestText("go", "Arith.Add", [2, 3], 0), '{"method":"Arith.Add","params":[[2,3]],"id":0}');
    assert.equal(requestText("go", "Arith.Add", undefined, 1), '{"method":"Arith.Add","params":[null],"id":1}');
  });

  // The client's rule and the server's (docs/protocols.md, "Params") are inverses.
  test("every form comes back as the same input from a farcall server", () => {
    const Probe = defineService("Probe", { echo: unary() });
    const echo = Probe.methods.get("echo");
    assert.ok(echo !== undefined);
    const received: unknown[] = [];
    const endpoint = new JsonRpcResponder(
      {
        resolve: (path) => (path === "Probe/echo" ? echo : undefined),
        methodsNamed: () => [],
        methods: () => [echo],
        dispatch: (_method, input) => {
          received.push(input);
          return null;
        },
        toWire: (err) => RpcError.from(err),
      },
      { limits: resolveLimits({}), goFieldNames: "asIs", maxBatchLength: 1_000 },
      { transport: "memory", address: "test" },
    );
    const inputs = [undefined, [2, 3], [1, [2], { c: 3 }], [], [7], [[8, 9]], { a: 1 }, 5, "s", null, true];
    for (const input of inputs) {
      const reply = endpoint.handle(new TextEncoder().encode(requestText("2.0", "Probe.echo", input, 1)));
      assert.equal(reply, '{"jsonrpc":"2.0","id":1,"result":null}', JSON.stringify(input));
    }
    assert.deepEqual(received, inputs);
  });
});
