import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { type CallSigner, canonicalText, entriesToSign, hmacMetadata, replyCanonicalText } from "../protocol/hmac.js";
import { hmacSha256, randomNonce, sameSignature } from "../transport/hmac.js";

/** A client's signing key (`ClientOptions.hmac`). */
export interface HmacKey {
  readonly keyId: string;
  /** At least 32 bytes; a string is taken as UTF-8. */
  readonly secret: Uint8Array | string;
}

/**
 * Signs every call with HMAC-SHA256 (docs/security.md §3): timestamp now, a fresh random nonce,
 * every metadata entry of the call, its method, timeout and body bytes; checks the server's
 * signature on each successful reply.
 * @throws TypeError for a secret shorter than 32 bytes
 */
export function hmacSigner(key: HmacKey): CallSigner {
  const secret = typeof key.secret === "string" ? new TextEncoder().encode(key.secret) : key.secret;
  if (secret.length < 32) throw new TypeError("hmac: the secret needs at least 32 bytes");
  return {
    sign(call) {
      const timestamp = String(Date.now());
      const nonce = randomNonce();
      const signed = entriesToSign(call.metadata);
      const text = canonicalText({
        keyId: key.keyId,
        timestamp,
        nonce,
        method: call.method,
        timeoutMs: call.timeoutMs,
        signed,
      });
      return {
        [hmacMetadata.keyId]: key.keyId,
        [hmacMetadata.timestamp]: timestamp,
        [hmacMetadata.nonce]: nonce,
        [hmacMetadata.signed]: signed.map(([name]) => name).join(","),
        [hmacMetadata.signature]: hmacSha256(secret, text, call.body),
      };
    },
    verifyReply(entries, metadata, body) {
      const signature = metadata[hmacMetadata.replySignature];
      if (signature === undefined) throw new RpcError(Code.Unauthenticated, "the reply is not signed");
      const text = replyCanonicalText({
        keyId: key.keyId,
        nonce: entries[hmacMetadata.nonce] as string,
        signed: entriesToSign(metadata),
      });
      if (!sameSignature(hmacSha256(secret, text, body), signature)) {
        throw new RpcError(Code.Unauthenticated, "the reply's signature does not hold");
      }
    },
  };
}
