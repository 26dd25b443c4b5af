import { Code } from "../core/code.js";
import type { Metadata } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";

// HMAC-signed calls (docs/security.md §3): the construction both sides share. The metadata entries
// a signed call carries, and the canonical text the signature covers; the hashing lives in
// transport/hmac.ts (node:crypto), the checks in server/hmac.ts, the signing in client/hmac.ts.

/** The metadata entries of a signed call. */
export const hmacMetadata = Object.freeze({
  keyId: "farcall-hmac-key",
  timestamp: "farcall-hmac-ts",
  nonce: "farcall-hmac-nonce",
  signed: "farcall-hmac-signed",
  signature: "farcall-hmac-sig",
  /** On a reply: the server's signature over it (docs/security.md §3, replies). */
  replySignature: "farcall-hmac-reply-sig",
});

const own = new Set<string>(Object.values(hmacMetadata));

/** True for the entries the signature itself is made of. */
export function isHmacEntry(name: string): boolean {
  return own.has(name);
}

/** What a signature covers, besides the key. */
export interface SignedCall {
  readonly keyId: string;
  /** Epoch ms, as a decimal string. */
  readonly timestamp: string;
  readonly nonce: string;
  /** `Service/method`; "" for a JSON-RPC message, whose body names its methods. */
  readonly method: string;
  /** The timeout sent, in ms; undefined for none. */
  readonly timeoutMs: number | undefined;
  /** The metadata entries covered, in order: every entry of the call but the signature's own. */
  readonly signed: readonly (readonly [string, string])[];
}

/**
 * The text the HMAC covers before the body: lines joined by LF, in this order: `farcall-hmac-v1`,
 * key id, timestamp, nonce, method, timeout (empty for none), the names of the signed entries
 * joined by `,`, one `name:value` line per signed entry. The MAC is over this text, an LF, and
 * the body's bytes.
 * @throws RpcError `invalid_argument` for a name or value that would make it ambiguous (a CR or
 *   LF anywhere, `,` or `:` in a name)
 */
export function canonicalText(call: SignedCall): string {
  const lines = [
    "farcall-hmac-v1",
    call.keyId,
    call.timestamp,
    call.nonce,
    call.method,
    call.timeoutMs === undefined ? "" : String(call.timeoutMs),
    call.signed.map(([name]) => name).join(","),
  ];
  for (const [name, value] of call.signed) {
    if (/[\r\n,:]/.test(name) || /[\r\n]/.test(value)) {
      throw new RpcError(
        Code.InvalidArgument,
        `metadata ${JSON.stringify(name)} cannot be signed: CR, LF, or , : in its name`,
      );
    }
    lines.push(`${name}:${value}`);
  }
  for (const line of lines.slice(0, 5)) {
    if (/[\r\n]/.test(line)) throw new RpcError(Code.InvalidArgument, "a signed field holds CR or LF");
  }
  return lines.join("\n");
}

/** The entries a client signs: all of the call's metadata but the signature's own, sorted by name. */
export function entriesToSign(metadata: Readonly<Metadata> | undefined): [string, string][] {
  if (metadata === undefined) return [];
  return Object.keys(metadata)
    .filter((name) => !isHmacEntry(name))
    .sort()
    .map((name) => [name, metadata[name] as string]);
}

/** What a reply's signature covers, besides the key. */
export interface SignedReply {
  readonly keyId: string;
  /** The nonce of the request it answers. */
  readonly nonce: string;
  /** Its metadata entries but the signature, sorted by name. */
  readonly signed: readonly (readonly [string, string])[];
}

/**
 * The text a reply's HMAC covers before its body: lines joined by LF: `farcall-hmac-reply-v1`,
 * key id, the request's nonce, the names of the reply's metadata entries joined by `,`, one
 * `name:value` line each. The MAC is over this text, an LF, and the reply's body bytes.
 * @throws RpcError `invalid_argument` for a name or value with CR or LF (or `,` `:` in a name)
 */
export function replyCanonicalText(reply: SignedReply): string {
  const lines = ["farcall-hmac-reply-v1", reply.keyId, reply.nonce, reply.signed.map(([n]) => n).join(",")];
  for (const [name, value] of reply.signed) {
    if (/[\r\n,:]/.test(name) || /[\r\n]/.test(value)) {
      throw new RpcError(Code.InvalidArgument, `reply metadata ${JSON.stringify(name)} cannot be signed`);
    }
    lines.push(`${name}:${value}`);
  }
  return lines.join("\n");
}

/** What a client protocol asks of the signer for each call, once its body is encoded. */
export interface CallToSign {
  readonly method: string;
  readonly timeoutMs: number | undefined;
  readonly metadata: Readonly<Metadata> | undefined;
  /** The body's bytes, in pieces. */
  readonly body: readonly Uint8Array[];
}

/** A client's HMAC key at work: signs calls and checks the replies to them. */
export interface CallSigner {
  /** The metadata entries to add to a call (the signature's own). */
  sign(call: CallToSign): Record<string, string>;
  /**
   * Checks a reply to a call signed with `entries`: its signature over its metadata and body.
   * @throws RpcError `unauthenticated` when it is missing or does not hold
   */
  verifyReply(
    entries: Readonly<Record<string, string>>,
    metadata: Readonly<Metadata>,
    body: readonly Uint8Array[],
  ): void;
}

/**
 * Throws for a client with a signer on a protocol that has no metadata to carry a signature in
 * (Go's dialect, ONC RPC): the calls would go unsigned.
 * @throws RpcError `invalid_argument`
 */
export function refuseSigner(signer: CallSigner | undefined, address: string): void {
  if (signer === undefined) return;
  throw new RpcError(
    Code.InvalidArgument,
    `${address}: this protocol cannot carry HMAC-signed calls; use tcp://, tls://, ws(s)://, http(s):// or jsonrpc+…://`,
  );
}
