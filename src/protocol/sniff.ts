import { connectPrefix } from "./http/connect.js";

/** What the first bytes of a connection say it speaks. */
export type SniffResult =
  /** `connect` is HTTP's `CONNECT` (Go's net/rpc handshake), which node's parser does not take. */
  | { readonly protocol: "farcall" | "json" | "http" | "connect" }
  | { readonly protocol: "unknown"; readonly reason: string }
  /** Only blanks so far: wait for more. */
  | undefined;

/**
 * Blank bytes allowed before the first meaningful one: JSON streams may start with a newline or
 * two, nothing real sends dozens, and without a bound a peer could hold a connection in the
 * sniffing stage by sending only blanks.
 */
const maxLeadingBlanks = 64;

/**
 * Decides the protocol from the bytes seen so far (docs/protocols.md): the first byte that is not
 * a JSON blank decides, so a first packet split anywhere gives the same answer.
 */
export function sniff(bytes: Uint8Array): SniffResult {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) {
      if (i >= maxLeadingBlanks) return { protocol: "unknown", reason: `more than ${maxLeadingBlanks} blank bytes` };
      continue;
    }
    if (b === 0x7f && i === 0) return { protocol: "farcall" };
    if (b === 0x7b || b === 0x5b) return { protocol: "json" };
    if (b >= 0x41 && b <= 0x5a && i === 0) {
      // Up to 8 bytes are needed to tell CONNECT from the other methods.
      const n = Math.min(bytes.length, connectPrefix.length);
      for (let k = 0; k < n; k++) if (bytes[k] !== connectPrefix[k]) return { protocol: "http" };
      return n === connectPrefix.length ? { protocol: "connect" } : undefined;
    }
    return { protocol: "unknown", reason: `first byte 0x${b.toString(16).padStart(2, "0")}` };
  }
  return undefined;
}
