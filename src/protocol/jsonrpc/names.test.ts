import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { defineService, type MethodDescriptor, unary } from "../../core/service.js";
import { findMethod, type MethodTable } from "./names.js";

const services = [
  defineService("Arith", { add: unary(), multiply: unary() }),
  defineService("pkg.Arith", { add: unary() }),
  defineService("Echo", { add: unary() }),
];

/** A table over `services`; `listing` false leaves out `paths()`, as a dispatcher may. */
function table(listing = true): MethodTable {
  const methods = new Map<string, MethodDescriptor>();
  for (const s of services) for (const m of s.methods.values()) methods.set(m.path, m);
  const base: MethodTable = {
    resolve: (path) => methods.get(path),
    methodsNamed: (name) => [...methods.values()].filter((m) => m.name === name),
  };
  return listing ? { ...base, paths: () => [...methods.keys()] } : base;
}

const pathOf = (found: MethodDescriptor | string) => (typeof found === "string" ? found : found.path);

describe("findMethod", () => {
  test("finds the same methods in both dialects", () => {
    for (const dialect of ["2.0", "go"] as const) {
      assert.equal(pathOf(findMethod(table(), "Arith.Add", dialect)), "Arith/add");
      assert.equal(pathOf(findMethod(table(), "Arith/multiply", dialect)), "Arith/multiply");
      assert.equal(pathOf(findMethod(table(), "pkg.Arith.Add", dialect)), "pkg.Arith/add");
      assert.equal(pathOf(findMethod(table(), "multiply", dialect)), "Arith/multiply");
    }
  });

  // Go's net/rpc server, Go 1.19 src/net/rpc/server.go readRequestHeader: the three texts it
  // answers a request it cannot route with, each naming the whole ServiceMethod.
  test("Go's dialect answers a miss in the words of Go's net/rpc server", () => {
    const go = (name: string) => findMethod(table(), name, "go");
    assert.equal(go("Arith.Nope"), "rpc: can't find method Arith.Nope");
    assert.equal(go("Nope.Add"), "rpc: can't find service Nope.Add");
    assert.equal(go("NoDot"), "rpc: service/method request ill-formed: NoDot");
    // Go splits at the last dot: "pkg.Arith" is the service, and "pkg" alone is none.
    assert.equal(go("pkg.Arith.Nope"), "rpc: can't find method pkg.Arith.Nope");
    assert.equal(go("pkg.Nope"), "rpc: can't find service pkg.Nope");
    // A service name is matched whole, not as a prefix of another.
    assert.equal(go("Arit.Add"), "rpc: can't find service Arit.Add");
    assert.equal(go("Arithmetic.Add"), "rpc: can't find service Arithmetic.Add");
    // An empty method or service part: Go looks up "" and misses.
    assert.equal(go("Arith."), "rpc: can't find method Arith.");
    assert.equal(go(".Add"), "rpc: can't find service .Add");
    // farcall's slash spelling, which Go's server would call ill-formed, is split at the slash.
    assert.equal(go("Arith/nope"), "rpc: can't find method Arith/nope");
    assert.equal(go("Nope/add"), "rpc: can't find service Nope/add");
  });

  test("without a method listing, Go's dialect reads every routed miss as an unknown method", () => {
    assert.equal(findMethod(table(false), "Nope.Add", "go"), "rpc: can't find method Nope.Add");
    assert.equal(findMethod(table(false), "NoDot", "go"), "rpc: service/method request ill-formed: NoDot");
  });

  test("JSON-RPC 2.0 keeps its own texts", () => {
    for (const name of ["Arith.Nope", "Nope.Add", "NoDot", "Arith.", ".Add"]) {
      assert.equal(findMethod(table(), name), `method not found: ${name}`);
      assert.equal(findMethod(table(), name, "2.0"), `method not found: ${name}`);
    }
  });

  test("a bare name two services have is ambiguous in both dialects, naming both", () => {
    for (const dialect of ["2.0", "go"] as const) {
      assert.equal(
        findMethod(table(), "add", dialect),
        "method name add is ambiguous: use one of Arith.add, pkg.Arith.add, Echo.add",
      );
    }
  });
});
