// The call a handler is running, as its downstream calls see it (docs/cluster.md, "Deadlines
// and cancellation across hops"): its deadline and its signal. The server runs each handler in a
// scope; a client call made inside one inherits the remaining deadline and the cancellation. The
// store that carries the scope across awaits is Node's AsyncLocalStorage, installed by the
// server; where none is installed (a browser), scopes pass only explicitly (`CallOptions.parent`).

/** What a downstream call inherits: a handler's context is one. */
export interface CallScope {
  readonly deadline: number | undefined;
  readonly signal: AbortSignal;
}

/** Carries a scope across awaits. */
export interface ScopeStore {
  run<T>(scope: CallScope, fn: () => T): T;
  get(): CallScope | undefined;
}

let store: ScopeStore | undefined;

/** Installs the store (once; later calls are ignored). */
export function installScopeStore(s: ScopeStore): void {
  store ??= s;
}

/** Runs `fn` with `scope` as the current call. */
export function runInScope<T>(scope: CallScope, fn: () => T): T {
  return store === undefined ? fn() : store.run(scope, fn);
}

/** The call being handled here, if any. */
export function currentScope(): CallScope | undefined {
  return store?.get();
}

/** A signal aborted when either is (`AbortSignal.any`, with a fallback for Node before 20.3). */
export function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (a.aborted) return a;
  if (b.aborted) return b;
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (any !== undefined) return any([a, b]);
  const both = new AbortController();
  const abortFrom = (s: AbortSignal) => () => both.abort(s.reason);
  a.addEventListener("abort", abortFrom(a), { once: true });
  b.addEventListener("abort", abortFrom(b), { once: true });
  return both.signal;
}
