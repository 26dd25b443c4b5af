import { createHmac, randomFillSync, timingSafeEqual } from "node:crypto";

// The hashing of HMAC-signed calls (docs/security.md §3), on node:crypto.

/**
 * HMAC-SHA256 of a canonical text, then LF, then the body's bytes; base64url without padding.
 * The body goes into the MAC as it is: hashing it first would cost one more SHA-256 a side.
 */
export function hmacSha256(secret: Uint8Array, text: string, body: readonly Uint8Array[]): string {
  const mac = createHmac("sha256", secret).update(text, "utf8").update("\n", "utf8");
  for (const piece of body) mac.update(piece);
  return mac.digest("base64url");
}

/** Compares two base64url signatures in constant time (for equal lengths; a length differs at once). */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Random bytes drawn 4 KiB at a time: `randomBytes(16)` per nonce cost ~6 µs, a slice of the pool 0.3. */
const pool = Buffer.alloc(4096);
let taken = pool.length;

/** 16 random bytes (from the CSPRNG), base64url: a nonce. */
export function randomNonce(): string {
  if (taken + 16 > pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const nonce = pool.toString("base64url", taken, taken + 16);
  // Each slice serves once.
  taken += 16;
  return nonce;
}
