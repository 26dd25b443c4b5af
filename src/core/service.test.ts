import assert from "node:assert/strict";
import { test } from "node:test";
import { defineService, oneway, serverStream, unary } from "./service.js";

test("a method carries its identity: idempotent, numeric id, version and wire types", () => {
  const wire = { input: { kind: "struct" }, output: { kind: "int" } };
  const S = defineService("Time", {
    now: unary<void, number>(),
    get: unary({ idempotent: true, id: 1, version: 2, wire }),
    watch: serverStream({ id: 2, version: 2 }),
    note: oneway({ id: 3 }),
  });
  const get = S.methods.get("get");
  assert.equal(get?.idempotent, true);
  assert.equal(get?.id, 1);
  assert.equal(get?.version, 2);
  assert.deepEqual(get?.wire, wire);
  assert.equal(S.methods.get("watch")?.kind, "server_stream");
  assert.equal(S.methods.get("note")?.id, 3);
  // A method declared without them carries none (descriptors stay small on the hot path).
  assert.deepEqual(Object.keys(S.methods.get("now") ?? {}).sort(), [
    "input",
    "kind",
    "name",
    "output",
    "path",
    "service",
  ]);
});

test("method ids are checked: whole numbers, and unique within a service and version", () => {
  assert.throws(() => unary({ id: -1 }), /method id must be an integer/);
  assert.throws(() => unary({ id: 2 ** 32 }), /method id must be an integer/);
  assert.throws(() => defineService("S", { a: unary({ id: 1 }), b: unary({ id: 1 }) }), /a and b of S share id 1/);
  // The same number in two versions is two procedures.
  assert.doesNotThrow(() => defineService("S", { a: unary({ id: 1, version: 1 }), b: unary({ id: 1, version: 2 }) }));
});
