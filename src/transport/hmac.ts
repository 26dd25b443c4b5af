import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

// The hashing of HMAC-signed calls (docs/security.md §3), on node:crypto.

/** SHA-256 of bytes given in pieces, lowercase hex. */
export function sha256Hex(pieces: readonly Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of pieces) h.update(p);
  return h.digest("hex");
}

/** HMAC-SHA256 of a text, base64url without padding. */
export function hmacSha256(secret: Uint8Array, text: string): string {
  return createHmac("sha256", secret).update(text, "utf8").digest("base64url");
}

/** Compares two base64url signatures in constant time (for equal lengths; a length differs at once). */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** 16 random bytes, base64url: a nonce. */
export function randomNonce(): string {
  return randomBytes(16).toString("base64url");
}
