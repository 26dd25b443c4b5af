/** What the first bytes of a connection say it speaks. */
export type SniffResult =
  | { readonly protocol: "farcall" | "json" | "http" }
  | { readonly protocol: "unknown"; readonly reason: string }
  /** Only blanks so far: wait for more. */
  | undefined;

/** Blank bytes allowed before the first meaningful one. */
export const maxLeadingBlanks = 64;

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
    if (b >= 0x41 && b <= 0x5a && i === 0) return { protocol: "http" };
    return { protocol: "unknown", reason: `first byte 0x${b.toString(16).padStart(2, "0")}` };
  }
  return undefined;
}
