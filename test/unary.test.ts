import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { Arith, Time } from "../examples/demo/services.js";
import {
  Code,
  compose,
  createClient,
  createServer,
  defineService,
  type HandlerContext,
  type Interceptor,
  RpcError,
  unary,
} from "../src/index.js";
import { rejectsWith, startDemo } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

afterEach(() => assertNoLeaks());

for (const codec of ["msgpack", "json"] as const) {
  describe(`unary calls with ${codec}`, () => {
    test("add, multiply, divide and printTime return the handler's results", async () => {
      const h = await startDemo({}, { codec });
      const arith = h.client.service(Arith);
      assert.equal(await arith.add({ a: 1, b: 2 }), 3);
      assert.equal(await arith.multiply({ a: 6, b: 7 }), 42);
      assert.equal(await arith.divide({ a: 10, b: 4 }), 2.5);
      assert.match(await h.client.service(Time).printTime("x"), /^Current time is: .* \(x\)$/);
      await h.close();
    });

    test("values of every supported type survive the round trip", async () => {
      const Echo = defineService("Echo", { echo: unary<unknown, unknown>() });
      const server = createServer().add(Echo, { echo: (v) => v });
      const address = await server.listen("tcp://127.0.0.1:0");
      const client = createClient(address, { codec });
      const echo = client.service(Echo);
      const value = {
        int: 42,
        negative: -7,
        float: 1.5,
        big: 2 ** 53 - 1,
        text: "héllo wörld ✓ 🚀",
        empty: "",
        flag: true,
        nothing: null,
        list: [1, "two", [3, [4]], { five: 5 }],
        nested: { a: { b: { c: "deep" } } },
        bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
      };
      const back = (await echo.echo(value)) as typeof value;
      assert.deepEqual({ ...back, bytes: [...back.bytes] }, { ...value, bytes: [...value.bytes] });
      assert.ok(back.bytes instanceof Uint8Array);
      assert.equal(await echo.echo(undefined), undefined);
      assert.equal(await echo.echo("x".repeat(100_000)), "x".repeat(100_000));
      // Byte values from 16 KiB up go out by reference after the codec's header, both ways.
      for (const n of [16 * 1024 - 1, 16 * 1024, 200_000]) {
        const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);
        const got = (await echo.echo(bytes)) as Uint8Array;
        assert.ok(got instanceof Uint8Array, `${n} bytes`);
        assert.deepEqual(Buffer.from(got), Buffer.from(bytes), `${n} bytes`);
      }
      await client.close();
      await server.close();
    });
  });
}

describe("messages over the receiver's maxMessageBytes", () => {
  test("are refused before they are sent, large byte values and encoded ones alike, both ways", async () => {
    const Big = defineService("Big", { echo: unary<unknown, unknown>(), make: unary<number, Uint8Array>() });
    const limit = 64 * 1024;
    const server = createServer({ limits: { maxMessageBytes: limit } }).add(Big, {
      echo: (v) => v,
      make: (n) => new Uint8Array(n),
    });
    const client = createClient(await server.listen("tcp://127.0.0.1:0"), { limits: { maxMessageBytes: limit } });
    try {
      const big = client.service(Big);
      assert.equal(await big.echo(1), 1, "settings exchanged");
      const byValue = await rejectsWith(big.echo(new Uint8Array(limit)), Code.ResourceExhausted);
      assert.match(byValue.message, /exceeds the server's maxMessageBytes 65536/);
      await rejectsWith(big.echo("x".repeat(limit)), Code.ResourceExhausted);
      const reply = await rejectsWith(big.make(limit), Code.ResourceExhausted);
      assert.match(reply.message, /exceeds the client's maxMessageBytes 65536/);
      assert.equal((await big.make(limit - 5)).length, limit - 5, "5 bytes of msgpack header: exactly the limit");
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe("handlers that return a thenable that is not a native Promise", () => {
  test("the thenable is awaited, over farcall, HTTP JSON and JSON-RPC", async () => {
    const Lib = defineService("Lib", { later: unary<number, number>(), broken: unary<number, number>() });
    // What another promise library or realm hands back: `then` only.
    const thenable = <T>(settle: (ok: (v: T) => void, fail: (e: unknown) => void) => void) => ({
      // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a Promise is what is tested
      then(ok: (v: T) => void, fail: (e: unknown) => void) {
        setImmediate(() => settle(ok, fail));
      },
    });
    const server = createServer().add(Lib, {
      later: (n) => thenable<number>((ok) => ok(n * 2)) as unknown as Promise<number>,
      broken: () =>
        thenable<number>((_, fail) => fail(new RpcError(Code.NotFound, "gone"))) as unknown as Promise<number>,
    });
    const address = await server.listen("tcp://127.0.0.1:0");
    const hostPort = address.slice("tcp://".length);
    const clients = [address, `http://${hostPort}`, `jsonrpc+tcp://${hostPort}`].map((a) => createClient(a));
    try {
      for (const client of clients) {
        const lib = client.service(Lib);
        assert.equal(await lib.later(21), 42, client.address);
        await rejectsWith(lib.broken(1), Code.NotFound);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    }
  });
});

describe("errors", () => {
  test("divide by zero arrives as invalid_argument with the handler's message", async () => {
    const h = await startDemo();
    const err = await rejectsWith(h.client.service(Arith).divide({ a: 1, b: 0 }), Code.InvalidArgument);
    assert.equal(err.rawMessage, "divide by zero");
    assert.equal(err.message, "[invalid_argument] divide by zero");
    await h.close();
  });

  test("a schema violation is invalid_argument with the issues as details", async () => {
    const h = await startDemo();
    const err = await rejectsWith(
      h.client.service(Arith).divide({ a: 1, b: "x" as unknown as number }),
      Code.InvalidArgument,
    );
    assert.match(err.rawMessage, /^invalid request for Arith\/divide: b: /);
    const details = err.details as { path: unknown[]; message: string }[];
    assert.equal(details.length, 1);
    assert.deepEqual(details[0]?.path, ["b"]);
    await h.close();
  });

  test("unknown service and unknown method are unimplemented", async () => {
    const h = await startDemo();
    const Ghost = defineService("Ghost", { boo: unary<void, void>() });
    await rejectsWith(h.client.service(Ghost).boo(), Code.Unimplemented);
    const arith = h.client.proxy<{ nope(x: number): number }>("Arith");
    const err = await rejectsWith(arith.nope(1), Code.Unimplemented);
    assert.equal(err.rawMessage, "unknown method Arith/nope");
    await h.close();
  });

  test("a handler's plain Error becomes internal without its message; onError sees it", async () => {
    const seen: unknown[] = [];
    const Boom = defineService("Boom", { fail: unary<void, void>() });
    const server = createServer({ onError: (e) => seen.push(e) }).add(Boom, {
      fail: () => {
        throw new Error("secret database password in message");
      },
    });
    const address = await server.listen("tcp://127.0.0.1:0");
    const client = createClient(address);
    const err = await rejectsWith(client.service(Boom).fail(), Code.Internal);
    assert.equal(err.rawMessage, "internal error");
    assert.doesNotMatch(err.message, /secret/);
    assert.equal(seen.length, 1);
    await client.close();
    await server.close();
  });

  test("exposeErrors sends the message of unexpected errors", async () => {
    const Boom = defineService("Boom", { fail: unary<void, void>() });
    const server = createServer({ exposeErrors: true }).add(Boom, {
      fail: async () => {
        throw new TypeError("visible");
      },
    });
    const address = await server.listen("tcp://127.0.0.1:0");
    const client = createClient(address);
    const err = await rejectsWith(client.service(Boom).fail(), Code.Internal);
    assert.equal(err.rawMessage, "visible");
    await client.close();
    await server.close();
  });

  test("error metadata and details set by the handler reach the caller", async () => {
    const E = defineService("E", { fail: unary<void, void>() });
    const server = createServer().add(E, {
      fail: () => {
        throw new RpcError(Code.FailedPrecondition, "not ready", {
          metadata: { "retry-after": "5" },
          details: [{ why: "warming" }],
        });
      },
    });
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    const err = await rejectsWith(client.service(E).fail(), Code.FailedPrecondition);
    assert.equal(err.metadata["retry-after"], "5");
    assert.deepEqual(err.details, [{ why: "warming" }]);
    await client.close();
    await server.close();
  });

  test("instanceof RpcError holds for an error made by a second copy of the module", async () => {
    const copy = (await import(
      `../src/core/rpc-error.js?copy=${Date.now()}`
    )) as typeof import("../src/core/rpc-error.js");
    assert.notEqual(copy.RpcError, RpcError);
    const foreign = new copy.RpcError(Code.NotFound, "x");
    assert.ok(foreign instanceof RpcError);
    assert.ok(new RpcError(Code.NotFound, "y") instanceof copy.RpcError);
    assert.ok(!(new Error("plain") instanceof RpcError));
    assert.equal(RpcError.from(foreign), foreign);
  });

  test("RpcError.from maps AbortError to canceled and TimeoutError to deadline_exceeded", () => {
    assert.equal(RpcError.from(new DOMException("x", "AbortError")).code, Code.Canceled);
    assert.equal(RpcError.from(new DOMException("x", "TimeoutError")).code, Code.DeadlineExceeded);
    assert.equal(RpcError.from(new Error("x"), Code.Internal).code, Code.Internal);
    assert.equal(RpcError.from("text").code, Code.Unknown);
  });

  test("a failed call's stack points at the caller", async () => {
    const h = await startDemo();
    async function callerFunctionName() {
      return await h.client.service(Arith).divide({ a: 1, b: 0 });
    }
    const err = await rejectsWith(callerFunctionName(), Code.InvalidArgument);
    assert.match(err.stack ?? "", /callerFunctionName/);
    await h.close();
  });
});

describe("context, metadata and interceptors", () => {
  test("the handler sees metadata, peer and deadline; response metadata reaches the caller", async () => {
    let seen: HandlerContext | undefined;
    const S = defineService("S", { who: unary<void, string>() });
    const server = createServer().add(S, {
      who: (_input, ctx) => {
        seen = ctx;
        ctx.responseMetadata["x-served-by"] = "test";
        return ctx.metadata.authorization ?? "none";
      },
    });
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    let responseMd: Record<string, string> = {};
    const out = await client.service(S).who(undefined, {
      metadata: { Authorization: "Bearer t" },
      timeoutMs: 5_000,
      onResponseMetadata: (md) => {
        responseMd = md;
      },
    });
    assert.equal(out, "Bearer t");
    assert.equal(responseMd["x-served-by"], "test");
    assert.ok(seen);
    assert.equal(seen.peer.transport, "tcp");
    assert.equal(seen.peer.address, "127.0.0.1");
    assert.ok(seen.deadline !== undefined && seen.deadline > Date.now() + 3_000);
    assert.ok(seen.remainingMs() > 3_000 && seen.remainingMs() <= 5_000);
    assert.equal(seen.method.path, "S/who");
    await client.close();
    await server.close();
  });

  test("interceptors run outermost first on both sides and can change requests and replies", async () => {
    const order: string[] = [];
    const tag =
      (name: string): Interceptor =>
      (next) =>
      async (req) => {
        order.push(`${name}>`);
        const res = await next(req);
        order.push(`<${name}`);
        return res;
      };
    const auth: Interceptor = (next) => (req) => {
      if (req.metadata.token !== "ok") throw new RpcError(Code.Unauthenticated, "bad token");
      return next(req);
    };
    const addToken: Interceptor = (next) => (req) => next({ ...req, metadata: { ...req.metadata, token: "ok" } });
    const double: Interceptor = (next) => async (req) => {
      const res = await next(req);
      return { ...res, output: (res.output as number) * 2 };
    };
    const h = await startDemo(
      { interceptors: [tag("s1"), tag("s2"), auth] },
      { interceptors: [tag("c1"), double, addToken] },
    );
    assert.equal(await h.client.service(Arith).add({ a: 1, b: 2 }), 6);
    assert.deepEqual(order, ["c1>", "s1>", "s2>", "<s2", "<s1", "<c1"]);
    const bare = createClient(h.address);
    await rejectsWith(bare.service(Arith).add({ a: 1, b: 2 }), Code.Unauthenticated);
    await bare.close();
    await h.close();
  });

  test("compose rejects non-functions and turns synchronous throws into rejections", async () => {
    assert.throws(() => compose([42 as unknown as Interceptor], async () => ({ output: 1, metadata: {} })), TypeError);
    const thrower: Interceptor = () => () => {
      throw new Error("sync");
    };
    const handler = compose([thrower], async () => ({ output: 1, metadata: {} }));
    const p = handler({ method: Arith.methods.get("add") as never, input: 1, metadata: {} });
    assert.ok(p instanceof Promise);
    await assert.rejects(p, /sync/);
  });
});

describe("net/rpc-style objects and proxies", () => {
  class Calc {
    factor = 10;
    add(args: { a: number; b: number }) {
      return args.a + args.b;
    }
    async scale(n: number) {
      return n * this.factor;
    }
    _hidden() {
      return "no";
    }
  }

  test("a registered class instance is callable through a typed proxy", async () => {
    const server = createServer().register("Calc", new Calc());
    assert.deepEqual(server.methods().sort(), ["Calc/add", "Calc/scale"]);
    const client = createClient(await server.listen("tcp://127.0.0.1:0"));
    const calc = client.proxy<Calc>("Calc");
    assert.equal(await calc.add({ a: 2, b: 3 }), 5);
    assert.equal(await calc.scale(4), 40);
    const raw = client.proxy<{ _hidden(): string; missing(): string }>("Calc");
    assert.equal((raw as Record<string, unknown>)._hidden, undefined);
    await rejectsWith(raw.missing(), Code.Unimplemented);
    await client.close();
    await server.close();
  });

  test("a proxy does not pretend to be a promise or a serialisable object", async () => {
    const client = createClient("tcp://127.0.0.1:1");
    const proxy = client.proxy<Calc>("Calc") as unknown as Record<string | symbol, unknown>;
    assert.equal(proxy.then, undefined);
    assert.equal(proxy.toJSON, undefined);
    assert.equal(proxy.valueOf, undefined);
    assert.equal(proxy[Symbol.iterator], undefined);
    assert.equal(await Promise.resolve(proxy), proxy);
    assert.throws(() => client.proxy("bad name"), TypeError);
    await client.close();
  });
});

describe("unix sockets", () => {
  test("a server on unix:// answers a client on the same path", async () => {
    const path = `/tmp/farcall-test-${process.pid}-${Date.now()}.sock`;
    const h = await startDemo({}, {}, `unix://${path}`);
    assert.equal(h.address, `unix://${path}`);
    assert.equal(await h.client.service(Arith).add({ a: 20, b: 22 }), 42);
    await h.close();
  });
});
