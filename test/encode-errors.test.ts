// A reply the server cannot encode reaches the caller as `internal` in farcall's own words: the
// encoder's text (V8's, msgpackr's: its options, its internals) never crosses the wire.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, createClient, createServer, defineService, RpcError, unary } from "../src/index.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();

test("unencodable replies give the codec's words, over farcall (both codecs) and HTTP JSON", async () => {
  const S = defineService("S", { bad: unary<string, unknown>() });
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const values: Record<string, unknown> = { big: 10n ** 30n, circular, symbol: Symbol("x") };
  const server = createServer().add(S, { bad: (k) => values[k] });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 100 }));
  for (const target of [`${address}#msgpack`, `${address}#json`, address.replace("tcp:", "http:")]) {
    const [addr, codec] = target.split("#") as [string, "msgpack" | "json" | undefined];
    const client = createClient(addr, codec === undefined ? {} : { codec });
    cleanups.push(() => client.close());
    for (const key of Object.keys(values)) {
      const err = await client
        .service(S)
        .bad(key)
        .then(
          () => assert.fail(`${target} ${key}: the call succeeded`),
          (e: unknown) => e,
        );
      assert.ok(err instanceof RpcError && err.code === Code.Internal, `${target} ${key}: ${String(err)}`);
      assert.match(
        err.rawMessage,
        /^cannot encode (value|symbol) as (json|msgpack)(: (a bigint it cannot carry|the value is circular( or nested too deeply)?|a symbol))?$/,
        `${target} ${key}`,
      );
    }
  }
});
