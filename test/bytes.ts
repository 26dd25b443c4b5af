import { readFileSync } from "node:fs";

/** Bytes from hex text; white space is ignored. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Lower-case hex of `bytes`, no separators. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The parts joined into one array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The `vectors` of testdata/vectors/<rel>; this file compiles to dist/test/, two levels below the root. */
export function loadVectors<T>(rel: string): T[] {
  const url = new URL(`../../testdata/vectors/${rel}`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { vectors: T[] }).vectors;
}
