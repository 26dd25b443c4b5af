// The farcall client against the farcall server over JSON-RPC's address schemes (jsonrpc+tcp,
// jsonrpc+http, jsonrpc+ws, gorpc+tcp), and JSON-RPC 2.0 as docs/protocols.md pins it on the wire
// (multiprotocol.test.ts has ws:// and http://).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Arith } from "../examples/demo/services.js";
import { builtinProtocols, Code, codeToString, createServer, RpcError } from "../src/index.js";
import { rejectsWith, until, within } from "./fixtures.js";
import { LinePeer } from "./line-peer.js";
import {
  assertCodesPreserved,
  assertDeadlineAndAbort,
  cleanups,
  clientFor,
  collect,
  demo,
  type Greeter,
  Probe,
} from "./multiprotocol-fixtures.js";

const jsonRpcSchemes = ["jsonrpc+tcp", "jsonrpc+http", "jsonrpc+ws"] as const;

for (const scheme of jsonRpcSchemes) {
  const addressOf = (port: number) =>
    scheme === "jsonrpc+tcp" ? `${scheme}://127.0.0.1:${port}` : `${scheme}://127.0.0.1:${port}/`;

  describe(`${scheme}:// (JSON-RPC 2.0)`, () => {
    test("unary calls, and oneway as a notification", async () => {
      const h = await demo();
      const arith = clientFor(addressOf(h.port)).service(Arith);
      assert.equal(await arith.add({ a: 2, b: 3 }), 5);
      assert.equal(await arith.divide({ a: 9, b: 3 }), 3);
      await arith.log(`notified over ${scheme}`);
      await until(() => h.logged.includes(`notified over ${scheme}`), 2_000);
      assert.deepEqual(await clientFor(addressOf(h.port)).service(Probe).echo([1, "two", null]), [1, "two", null]);
    });

    test("error codes round-trip through error.data.code", async () => {
      const h = await demo();
      const client = clientFor(addressOf(h.port));
      const err = await rejectsWith(client.service(Arith).divide({ a: 1, b: 0 }), Code.InvalidArgument);
      assert.equal(err.rawMessage, "divide by zero");
      const bad = await rejectsWith(
        client.service(Probe).fail({ code: Code.NotFound, message: "no such row", details: [{ row: 7 }] }),
        Code.NotFound,
      );
      assert.deepEqual(bad.details, [{ row: 7 }]);
      await rejectsWith(client.proxy<{ nope(): number }>("Arith").nope(), Code.Unimplemented);
      await assertCodesPreserved(client);
    });

    test("streaming methods are refused as unimplemented", async () => {
      const h = await demo();
      const arith = clientFor(addressOf(h.port)).service(Arith);
      await rejectsWith(arith.sum([1]), Code.Unimplemented);
      await assert.rejects(
        collect(arith.count({ to: 1 })),
        (e: unknown) => e instanceof RpcError && e.code === Code.Unimplemented,
      );
    });

    test("a client deadline gives deadline_exceeded, an abort canceled; the connection still works", async () => {
      const h = await demo();
      await assertDeadlineAndAbort(addressOf(h.port));
    });

    test("200 concurrent calls finishing out of order each get their own answer", async () => {
      const h = await demo();
      const probe = clientFor(addressOf(h.port)).service(Probe);
      const n = 200;
      const results = await within(
        Promise.all(Array.from({ length: n }, (_, i) => probe.delay({ value: i, ms: (n - i) % 37 }))),
        10_000,
        "the calls",
      );
      assert.deepEqual(
        results.map((r) => r.value),
        Array.from({ length: n }, (_, i) => i),
      );
      if (scheme !== "jsonrpc+http") {
        const ports = new Set(results.map((r) => r.port));
        assert.equal(ports.size, 1, `one connection carried every call, not ${ports.size}`);
      }
    });

    test("client.proxy() calls a net/rpc-style registered object", async () => {
      const h = await demo();
      const client = clientFor(addressOf(h.port));
      const greeter = client.proxy<Greeter>("Greeter");
      assert.equal(await greeter.hello("go"), "hello, go");
      assert.equal(await greeter.shout({ text: "hey" }), "HEY!");
      assert.equal(await client.proxy<{ add(x: { a: number; b: number }): number }>("Arith").add({ a: 4, b: 5 }), 9);
    });
  });
}

describe("jsonrpc+http:// metadata", () => {
  test("authorization and other metadata reach the handler as headers", async () => {
    const h = await demo();
    const probe = clientFor(`jsonrpc+http://127.0.0.1:${h.port}/jsonrpc`).service(Probe);
    const who = await probe.whoami(undefined, { metadata: { authorization: "Bearer rpc", "x-trace": "t-9" } });
    assert.deepEqual(who, { authorization: "Bearer rpc", trace: "t-9" });
  });
});

describe("gorpc+tcp:// (Go's JSON-RPC 1.0 dialect) against the farcall server", () => {
  test("calls succeed; Go-shaped results come back with lowerCamel keys", async () => {
    const h = await demo();
    const client = clientFor(`gorpc+tcp://127.0.0.1:${h.port}`);
    assert.equal(await client.service(Arith).add({ a: 10, b: 50 }), 60);
    assert.deepEqual(await client.service(Probe).goShaped(undefined), {
      quo: 3,
      rem: 1,
      id: 7,
      urlPath: "/x",
      nested: { httpCode: 200, items: [{ name: "a" }] },
    });
    assert.deepEqual(await client.service(Probe).echo({ outer: { list: [1, 2] } }), { outer: { list: [1, 2] } });
  });

  test("errors come back as unknown with the server's message", async () => {
    const h = await demo();
    const client = clientFor(`gorpc+tcp://127.0.0.1:${h.port}`);
    const err = await rejectsWith(client.service(Arith).divide({ a: 1, b: 0 }), Code.Unknown);
    assert.equal(err.rawMessage, "divide by zero");
    const denied = await rejectsWith(
      client.service(Probe).fail({ code: Code.PermissionDenied, message: "go away" }),
      Code.Unknown,
    );
    assert.equal(denied.rawMessage, "go away");
    assert.equal(await client.service(Arith).multiply({ a: 3, b: 4 }), 12, "the connection still works");
  });
});

describe("JSON-RPC 2.0 on the wire (raw TCP)", () => {
  const add = (id: string) => `{"jsonrpc":"2.0","method":"Arith.add","params":{"a":1,"b":2},"id":${id}}`;

  test("numeric ids of any size or spelling are echoed byte for byte", async () => {
    const h = await demo();
    const peer = await LinePeer.open(h.port, cleanups);
    for (const id of ["12345678901234567890", "1e3", "-0.50E+2", "0", "1.0", "9007199254740993"]) {
      assert.equal(await peer.askLine(add(id)), `{"jsonrpc":"2.0","id":${id},"result":3}`);
    }
  });

  test("numeric ids inside a batch are echoed byte for byte, in request order", async () => {
    const h = await demo();
    const peer = await LinePeer.open(h.port, cleanups);
    const answer = await peer.askLine(`[${add("12345678901234567891")}, ${add("2E1")} ,${add('"s"')}]`);
    assert.equal(
      answer,
      '[{"jsonrpc":"2.0","id":12345678901234567891,"result":3},{"jsonrpc":"2.0","id":2E1,"result":3},{"jsonrpc":"2.0","id":"s","result":3}]',
    );
  });

  test("string ids with escapes come back as the same string", async () => {
    const h = await demo();
    const peer = await LinePeer.open(h.port, cleanups);
    const id = String.raw`"q\"b\\s\/\u00e9\n\uD83D\uDE00"`;
    const reply = await peer.askJson(add(id));
    assert.equal(reply.id, JSON.parse(id));
    assert.equal(reply.result, 3);
  });

  test("string ids with escapes are echoed byte for byte", async () => {
    const h = await demo();
    const peer = await LinePeer.open(h.port, cleanups);
    const id = String.raw`"a\u0041\/b"`;
    assert.equal(await peer.askLine(add(id)), `{"jsonrpc":"2.0","id":${id},"result":3}`);
  });

  test("a null id is answered with id null", async () => {
    const h = await demo();
    const peer = await LinePeer.open(h.port, cleanups);
    assert.equal(await peer.askLine(add("null")), '{"jsonrpc":"2.0","id":null,"result":3}');
  });

  test("a bare method name finds the one method of that name", async () => {
    const h = await demo();
    const peer = await LinePeer.open(h.port, cleanups);
    const reply = await peer.askJson('{"jsonrpc":"2.0","method":"add","params":{"a":20,"b":22},"id":1}');
    assert.equal(reply.result, 42);
    const time = await peer.askJson('{"jsonrpc":"2.0","method":"printTime","params":["x"],"id":2}');
    assert.match(String(time.result), /^Current time is: .*\(x\)$/);
    const slash = await peer.askJson('{"jsonrpc":"2.0","method":"Arith/multiply","params":{"a":6,"b":7},"id":3}');
    assert.equal(slash.result, 42);
  });

  test("a bare name two services have is method not found, naming both", async () => {
    const server = createServer()
      .add(Arith, {
        add: ({ a, b }) => a + b,
        multiply: ({ a, b }) => a * b,
        divide: ({ a, b }) => a / b,
        *count() {},
        sum: async () => 0,
        *chat() {},
        log: () => {},
        sleep: async () => "",
      })
      .register("Calc", { add: ({ a, b }: { a: number; b: number }) => a + b + 1000 });
    const address = await server.listen("tcp://127.0.0.1:0");
    cleanups.push(() => server.close({ graceMs: 500 }));
    const peer = await LinePeer.open(Number(new URL(address).port), cleanups);
    const reply = await peer.askJson('{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2},"id":5}');
    assert.equal(reply.id, 5);
    assert.equal(reply.error?.code, -32601);
    assert.equal(reply.error?.data.code, "unimplemented");
    assert.match(reply.error?.message, /Arith\.add/);
    assert.match(reply.error?.message, /Calc\.add/);
    const full = await peer.askJson('{"jsonrpc":"2.0","method":"Calc.add","params":{"a":1,"b":2},"id":6}');
    assert.equal(full.result, 1003);
  });

  test("Go's capitalised method and key names: keys converted in the Go dialect only", async () => {
    const h = await demo();
    const peer = await LinePeer.open(h.port, cleanups);
    assert.equal(
      await peer.askLine('{"method":"Arith.Add","params":[{"A":10,"B":50}],"id":0}'),
      '{"id":0,"result":60,"error":null}',
    );
    const go = await peer.askJson(
      '{"method":"Probe.Echo","params":[{"Outer":{"ID":1,"URLPath":"p","Quo":[{"Name":"n"}]}}],"id":1}',
    );
    assert.deepEqual(go, { id: 1, result: { outer: { id: 1, urlPath: "p", quo: [{ name: "n" }] } }, error: null });
    assert.equal(
      await peer.askLine('{"method":"Arith.Divide","params":[{"A":1,"B":0}],"id":2}'),
      '{"id":2,"result":null,"error":"divide by zero"}',
    );
    // JSON-RPC 2.0: the method name rule applies, the keys are left as sent.
    const capitalMethod = await peer.askJson('{"jsonrpc":"2.0","method":"Arith.Add","params":{"a":2,"b":3},"id":3}');
    assert.equal(capitalMethod.result, 5);
    const asSent = await peer.askJson('{"jsonrpc":"2.0","method":"Probe.echo","params":{"A":1,"B":2},"id":4}');
    assert.deepEqual(asSent.result, { A: 1, B: 2 });
  });

  test("goFieldNames asIs leaves Go-dialect keys alone", async () => {
    const h = await demo({ protocols: builtinProtocols({ jsonRpc: { goFieldNames: "asIs" } }) });
    const peer = await LinePeer.open(h.port, cleanups);
    const go = await peer.askJson('{"method":"Probe.Echo","params":[{"Key":{"ID":1}}],"id":7}');
    assert.deepEqual(go, { id: 7, result: { Key: { ID: 1 } }, error: null });
  });

  test("error.data.code carries the farcall code; error.code follows the doc's table", async () => {
    const h = await demo();
    const peer = await LinePeer.open(h.port, cleanups);
    const fail = (code: Code, id: number) =>
      JSON.stringify({ jsonrpc: "2.0", method: "Probe.fail", params: { code, message: "m" }, id });
    const expected: [Code, number][] = [
      [Code.NotFound, -32000],
      [Code.PermissionDenied, -32000],
      [Code.InvalidArgument, -32602],
      [Code.Internal, -32603],
      [Code.Unimplemented, -32601],
      [Code.DeadlineExceeded, -32000],
    ];
    for (const [i, [code, rpcCode]] of expected.entries()) {
      const reply = await peer.askJson(fail(code, i));
      assert.equal(reply.id, i);
      assert.equal(reply.error?.code, rpcCode, codeToString(code));
      assert.deepEqual(reply.error?.data, { code: codeToString(code) });
      assert.equal(reply.error?.message, "m");
    }
  });
});
