// Node's AsyncLocalStorage as the store of the call a handler is running (core/call-scope.ts).
import { AsyncLocalStorage } from "node:async_hooks";
import { type CallScope, installScopeStore } from "../core/call-scope.js";

const calls = new AsyncLocalStorage<CallScope>();

/** Installs AsyncLocalStorage as the scope store; the server calls it once. */
export function installAsyncScopes(): void {
  installScopeStore({ run: (scope, fn) => calls.run(scope, fn), get: () => calls.getStore() });
}
