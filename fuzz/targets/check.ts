/** Oracles the targets share: a failed check throws a plain Error, which the engine reports as a bug. */

/** Thrown by a target's own checks: never an RpcError, so the engine counts it as a finding. */
export class CheckFailed extends Error {
  override name = "CheckFailed";
}

export function check(ok: boolean, why: string | (() => string)): asserts ok {
  if (!ok) throw new CheckFailed(typeof why === "string" ? why : why());
}

/** A deterministic hash of `bytes` (FNV-1a), to derive chunk boundaries from the input itself. */
export function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

/**
 * `bytes` cut into chunks at boundaries derived from its hash: whole, byte by byte, or pieces of
 * 1 to 64 bytes, so framers meet every kind of split and a replay splits the same way.
 */
export function chunksOf(bytes: Uint8Array): Uint8Array[] {
  let h = hashBytes(bytes);
  const mode = h % 4;
  if (mode === 0 || bytes.length === 0) return [bytes];
  const out: Uint8Array[] = [];
  if (mode === 1 && bytes.length <= 512) {
    for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
    return out;
  }
  let at = 0;
  while (at < bytes.length) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    const n = 1 + (h % (mode === 2 ? 8 : 64));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Structural equality of decoded values: numbers by `Object.is` (NaN equals NaN, -0 differs from
 * 0), byte strings by content, Dates by time, plain objects by own keys in any order.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return sameBytes(a, b);
  if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime());
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    if (Array.isArray(a) || Array.isArray(b) || a instanceof Uint8Array || b instanceof Uint8Array) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (const k of ka) {
      if (!Object.hasOwn(b, k)) return false;
      if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
    }
    return true;
  }
  return false;
}

/** A short printable form of a value for check messages. */
export function show(value: unknown): string {
  try {
    const s = JSON.stringify(value, (_k, v: unknown) =>
      typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `bytes(${v.length})` : v,
    );
    return s === undefined ? String(value) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(value);
  }
}

export const utf8 = new TextEncoder();
