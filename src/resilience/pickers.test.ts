import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RpcRequest } from "../core/interceptor.js";
import type { CallTransport } from "../protocol/protocol.js";
import { type Endpoint, hash32, pickerFor } from "./pickers.js";

function endpoint(address: string, weight = 100, usable = true): Endpoint {
  return { address, zone: undefined, weight, transport: {} as CallTransport, usable, outstanding: 0, latencyMs: 0 };
}
const call = (hashKey?: string) => ({ method: { kind: "unary" }, hashKey }) as RpcRequest;
const none = new Set<Endpoint>();
const keys = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);

describe("weighted_round_robin", () => {
  test("shares follow the weights exactly, interleaved", () => {
    const a = endpoint("a", 100);
    const b = endpoint("b", 300);
    const pick = pickerFor("weighted_round_robin", [a, b], undefined);
    const picks = Array.from({ length: 400 }, () => pick(call(), none)?.address).join("");
    assert.equal(picks.split("a").length - 1, 100);
    assert.equal(picks.split("b").length - 1, 300);
    assert.ok(!picks.includes("bbbb"), "never four of b in a row");
  });

  test("an unusable endpoint gets nothing while another is usable", () => {
    const pick = pickerFor("weighted_round_robin", [endpoint("a", 900, false), endpoint("b", 1)], undefined);
    for (let i = 0; i < 50; i++) assert.equal(pick(call(), none)?.address, "b");
  });
});

describe("ring_hash", () => {
  const four = ["a", "b", "c", "d"].map((x) => endpoint(`tcp://10.0.0.1:${x.charCodeAt(0)}`));
  const placeAll = (eps: Endpoint[]) => {
    const pick = pickerFor("ring_hash", eps, undefined);
    return new Map(keys.map((k) => [k, pick(call(k), none)?.address]));
  };

  test("a key always goes to the same endpoint, and the keys spread over all", () => {
    const first = placeAll(four);
    assert.deepEqual(placeAll(four), first);
    for (const e of four) {
      const share = [...first.values()].filter((x) => x === e.address).length / keys.length;
      assert.ok(share > 0.12 && share < 0.4, `${e.address}: ${share}`);
    }
  });

  test("an endpoint leaving moves only its own keys (about 1/N of them)", () => {
    const before = placeAll(four);
    const gone = four[2] as Endpoint;
    const after = placeAll(four.filter((e) => e !== gone));
    let moved = 0;
    for (const k of keys) {
      if (before.get(k) === gone.address) assert.notEqual(after.get(k), gone.address);
      else assert.equal(after.get(k), before.get(k), `${k} moved though its endpoint stayed`);
      if (before.get(k) !== after.get(k)) moved++;
    }
    assert.ok(moved / keys.length > 0.12 && moved / keys.length < 0.4, `${moved} moved`);
  });

  test("an unusable or already tried endpoint's keys go to the next one; the others stay", () => {
    const before = placeAll(four);
    const sick = four.map((e, i) => (i === 1 ? { ...e, usable: false } : e));
    const pick = pickerFor("ring_hash", sick, undefined);
    const tried = new Set([four[3] as Endpoint]);
    for (const k of keys) {
      const home = before.get(k);
      const now = pick(call(k), none)?.address;
      if (home === four[1]?.address) assert.notEqual(now, home);
      else assert.equal(now, home);
      const retry = pickerFor("ring_hash", four, undefined)(call(k), tried);
      if (home === four[3]?.address) assert.notEqual(retry?.address, home);
      else assert.equal(retry?.address, home);
    }
  });

  test("weights scale an endpoint's share; a call without a key goes anywhere", () => {
    const pick = pickerFor("ring_hash", [endpoint("tcp://h:1", 300), endpoint("tcp://h:2", 100)], undefined);
    const heavy = keys.filter((k) => pick(call(k), none)?.address === "tcp://h:1").length / keys.length;
    assert.ok(heavy > 0.6 && heavy < 0.9, String(heavy));
    const seen = new Set(Array.from({ length: 100 }, () => pick(call(), none)?.address));
    assert.equal(seen.size, 2);
  });

  test("hash32 is stable and spreads", () => {
    assert.equal(hash32("farcall"), hash32("farcall"));
    const buckets = new Array(16).fill(0);
    for (const k of keys) buckets[hash32(k) % 16]++;
    assert.ok(Math.min(...buckets) > keys.length / 16 / 2, JSON.stringify(buckets));
  });
});
