import type { MethodDescriptor } from "../../core/service.js";

/** How a JSON-RPC method name is looked up; see docs/protocols.md "Method names". */
export interface MethodTable {
  resolve(path: string): MethodDescriptor | undefined;
  /** Every method called `name`, in any service. */
  methodsNamed(name: string): readonly MethodDescriptor[];
  /**
   * The path of every method, when the table can list them (the server's router does). Only Go's
   * dialect needs it, to tell an unknown service from an unknown method as Go's server does;
   * without it every miss there reads as an unknown method.
   */
  paths?(): readonly string[];
}

/** Which JSON-RPC a message was written in: its errors are worded for that dialect's clients. */
export type NameDialect = "2.0" | "go";

const upper = (c: number) => c >= 0x41 && c <= 0x5a;

function lowerFirst(name: string): string {
  return name.length > 0 && upper(name.charCodeAt(0)) ? name[0]?.toLowerCase() + name.slice(1) : name;
}

/**
 * Finds the method a JSON-RPC name means: `Service.method` or `Service/method` (the service may
 * hold dots: split at the last one), then the same with the method's first letter lower-cased,
 * then a bare name that exactly one service has.
 * @returns the method, or a message saying why there is none: for `dialect` "go" in the words of
 * Go's net/rpc server ({@link goMissText}), so that clients matching on Go's texts still work
 */
export function findMethod(table: MethodTable, name: string, dialect: NameDialect = "2.0"): MethodDescriptor | string {
  const slash = name.lastIndexOf("/");
  const cut = slash >= 0 ? slash : name.lastIndexOf(".");
  const miss = () => (dialect === "go" ? goMissText(table, name, cut) : `method not found: ${name}`);
  if (cut > 0 && cut < name.length - 1) {
    const service = name.slice(0, cut);
    const method = name.slice(cut + 1);
    const found = table.resolve(`${service}/${method}`) ?? table.resolve(`${service}/${lowerFirst(method)}`);
    return found ?? miss();
  }
  if (cut >= 0) return miss();
  let matches = table.methodsNamed(name);
  if (matches.length === 0) matches = table.methodsNamed(lowerFirst(name));
  if (matches.length === 1) return matches[0] as MethodDescriptor;
  if (matches.length === 0) return miss();
  return `method name ${name} is ambiguous: use one of ${matches.map((m) => m.path.replace("/", ".")).join(", ")}`;
}

/**
 * Why Go's net/rpc server would not find `name`, in its words (Go 1.19 `src/net/rpc/server.go`,
 * `readRequestHeader`): no dot at all is "rpc: service/method request ill-formed: NAME"; an
 * unknown service "rpc: can't find service NAME"; a known service without the method "rpc: can't
 * find method NAME" (NAME whole each time). Go splits at the last dot; farcall also splits at a
 * slash (`cut`), so a name Go could never have served still gets the text that fits it.
 */
function goMissText(table: MethodTable, name: string, cut: number): string {
  if (cut < 0) return `rpc: service/method request ill-formed: ${name}`;
  const service = name.slice(0, cut);
  const paths = table.paths?.();
  const known =
    paths === undefined || paths.some((p) => p.length > cut && p.charCodeAt(cut) === 0x2f && p.startsWith(service));
  return known ? `rpc: can't find method ${name}` : `rpc: can't find service ${name}`;
}

/**
 * A Go exported name in lowerCamel: the leading run of capitals is lower-cased, keeping the last
 * one when a lower-case letter follows (`A` → `a`, `Quo` → `quo`, `ID` → `id`, `URLPath` → `urlPath`).
 */
function goNameToCamel(name: string): string {
  let run = 0;
  while (run < name.length && upper(name.charCodeAt(run))) run++;
  if (run === 0) return name;
  if (run > 1 && run < name.length) {
    const next = name.charCodeAt(run);
    if (next >= 0x61 && next <= 0x7a) run--;
  }
  return name.slice(0, run).toLowerCase() + name.slice(run);
}

/** Go's spelling of a farcall method name: first letter upper-cased (`add` → `Add`). */
export function goMethodName(method: MethodDescriptor): string {
  const n = method.name;
  return `${method.service}.${n.length > 0 ? n[0]?.toUpperCase() + n.slice(1) : n}`;
}

/**
 * A copy of a decoded JSON value with every object key that starts with a capital put in
 * lowerCamel ({@link goNameToCamel}), at every depth. Input comes from a depth-checked decoder.
 */
export function camelKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(camelKeys);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const k = upper(key.charCodeAt(0)) ? goNameToCamel(key) : key;
    // A key that becomes "__proto__" is not possible (it would have to start with "_"), so plain assignment is safe.
    out[k] = camelKeys(item);
  }
  return out;
}
