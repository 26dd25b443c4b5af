import { Code } from "../core/code.js";
import type { Metadata } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { IncomingCall } from "../protocol/call-context.js";
import { canonicalText, entriesToSign, hmacMetadata, isHmacEntry, replyCanonicalText } from "../protocol/hmac.js";
import { hmacSha256, sameSignature } from "../transport/hmac.js";
import type { Authenticate } from "./guard.js";

/**
 * A signed call's timestamp may be 30 s off the server's clock either way: hosts kept by NTP agree
 * within milliseconds, so this is room for delay and drift, while a captured call can be replayed
 * for at most 60 s (and only against the nonce cache, which remembers it that long).
 */
export const defaultHmacWindowMs = 30_000;
/**
 * Nonces remembered per key: each lives as long as its timestamp is in the window (at most 60 s by
 * default), so 200,000 is ~3,300 signed calls a second per key, at most ~20 MiB per key.
 */
export const defaultMaxNonces = 200_000;

/** Options for {@link hmacVerifier}. */
export interface HmacVerifierOptions {
  /**
   * Secrets by key id (at least 32 bytes each). Read at every call: add a key and it works, delete
   * one and calls signed with it fail at once. Several active keys make rotation seamless.
   */
  keys: Map<string, Uint8Array>;
  /** How far a call's timestamp may be from the server's clock, in ms. Default {@link defaultHmacWindowMs}. */
  windowMs?: number;
  /** Nonces remembered per key. Default {@link defaultMaxNonces}. */
  maxNonces?: number;
  /** The clock, epoch ms (for tests). */
  now?: () => number;
}

/** Who a verified call came from. */
export interface HmacPrincipal {
  readonly keyId: string;
}

const refuse = (why: string) => new RpcError(Code.Unauthenticated, `signature refused: ${why}`);

/**
 * An `authenticate` hook for HMAC-signed calls (docs/security.md §3): the key must be known, the
 * timestamp within the window, the HMAC-SHA256 over the canonical text (method, timeout, every
 * metadata entry, timestamp, nonce, body bytes) right, compared in constant time, and the nonce
 * not seen before for that key. The principal is `{ keyId }`. Checked on the body's bytes, before
 * it is decoded; a refused call never runs.
 */
export function hmacVerifier(
  options: HmacVerifierOptions,
): Authenticate & { readonly nonces: (keyId: string) => number } {
  const windowMs = options.windowMs ?? defaultHmacWindowMs;
  const maxNonces = options.maxNonces ?? defaultMaxNonces;
  const now = options.now ?? Date.now;
  for (const [id, secret] of options.keys) {
    if (secret.length < 32) throw new TypeError(`hmacVerifier: the secret of key ${id} needs at least 32 bytes`);
  }
  /** Per key: nonce → when it leaves the window (epoch ms), oldest first. */
  const seen = new Map<string, Map<string, number>>();
  const verify = (call: IncomingCall): HmacPrincipal => {
    const md = call.metadata;
    const keyId = md[hmacMetadata.keyId];
    const timestamp = md[hmacMetadata.timestamp];
    const nonce = md[hmacMetadata.nonce];
    const signature = md[hmacMetadata.signature];
    const names = md[hmacMetadata.signed];
    if (
      keyId === undefined ||
      timestamp === undefined ||
      nonce === undefined ||
      signature === undefined ||
      names === undefined
    ) {
      throw refuse("the call is not signed");
    }
    const secret = options.keys.get(keyId);
    if (secret === undefined) throw refuse("unknown key");
    if (!/^\d{1,15}$/.test(timestamp)) throw refuse("malformed timestamp");
    const t = Number(timestamp);
    const clock = now();
    if (Math.abs(clock - t) > windowMs) throw refuse(`timestamp outside the ${windowMs} ms window`);
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) throw refuse("malformed nonce");
    const signed: [string, string][] = [];
    for (const name of names === "" ? [] : names.split(",")) {
      const value = md[name];
      if (value === undefined || isHmacEntry(name)) throw refuse(`signed metadata ${JSON.stringify(name)} is missing`);
      signed.push([name, value]);
    }
    for (const name of Object.keys(md)) {
      if (!isHmacEntry(name) && !signed.some(([n]) => n === name))
        throw refuse(`metadata ${JSON.stringify(name)} is not signed`);
    }
    let text: string;
    try {
      text = canonicalText({
        keyId,
        timestamp,
        nonce,
        method: call.method?.path ?? "",
        timeoutMs: call.timeoutMs,
        signed,
      });
    } catch {
      throw refuse("unsignable metadata");
    }
    if (!sameSignature(hmacSha256(secret, text, [call.body]), signature)) throw refuse("bad signature");
    // Only a verified call reaches the cache, so nobody without a key can fill it.
    let nonces = seen.get(keyId);
    if (nonces === undefined) {
      nonces = new Map();
      seen.set(keyId, nonces);
    }
    if (nonces.has(nonce)) throw refuse("replayed nonce");
    if (nonces.size >= maxNonces) {
      for (const [n, until] of nonces) {
        if (until >= clock) break;
        nonces.delete(n);
      }
      if (nonces.size >= maxNonces) {
        throw new RpcError(Code.ResourceExhausted, `replay cache of key ${keyId} is full (maxNonces ${maxNonces})`);
      }
    }
    nonces.set(nonce, t + windowMs);
    return { keyId };
  };
  /** Signs a reply to a call `verify` accepted: over its metadata, its body and the call's nonce. */
  const signReply = (call: IncomingCall, metadata: Readonly<Metadata> | undefined, body: readonly Uint8Array[]) => {
    const keyId = call.metadata[hmacMetadata.keyId] as string;
    const secret = options.keys.get(keyId);
    if (secret === undefined) return undefined;
    const text = replyCanonicalText({
      keyId,
      nonce: call.metadata[hmacMetadata.nonce] as string,
      signed: entriesToSign(metadata),
    });
    return { [hmacMetadata.replySignature]: hmacSha256(secret, text, body) };
  };
  return Object.assign((call: IncomingCall) => verify(call), {
    nonces: (keyId: string) => seen.get(keyId)?.size ?? 0,
    signReply,
  });
}
