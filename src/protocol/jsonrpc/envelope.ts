import { fromJsonText, toJsonText, utf8Text } from "../../codec/json.js";
import { Code } from "../../core/code.js";
import type { Limits } from "../../core/limits.js";
import { createMetadata, type Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";

// The envelope that gives JSON-RPC over a stream (TCP, WebSocket) metadata: tokens, HMAC
// signatures, reply metadata (docs/protocols.md, "Metadata over JSON-RPC streams"):
//
//   {"farcall":{"metadata":{"authorization":"Bearer …"}},"message":"<a JSON-RPC request or batch, as a string>"}
//
// The message is a string so that its bytes are exactly what was signed. A reply to an enveloped
// request comes in an envelope too. A text is an envelope when it begins with `{"farcall":`.

const prefix = '{"farcall":';

/** An envelope's contents: the metadata and the message text inside. */
export interface Envelope {
  readonly metadata: Metadata;
  readonly message: Uint8Array;
}

const encoder = new TextEncoder();

/** True when a text (after blanks) is an envelope. */
export function isEnvelope(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes.length - i < prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) if (bytes[i + k] !== prefix.charCodeAt(k)) return false;
  return true;
}

/**
 * Reads an envelope: `farcall.metadata` an object of strings (names lowercase, all of it within
 * `maxMetadataBytes`), `message` a string, nothing else.
 * @throws RpcError `invalid_argument` for anything else, `resource_exhausted` for metadata over the limit
 */
export function openEnvelope(bytes: Uint8Array, limits: Limits): Envelope {
  const value = fromJsonText(utf8Text(bytes), limits) as Record<string, unknown>;
  const bad = (why: string) => new RpcError(Code.InvalidArgument, `invalid envelope: ${why}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("not an object");
  const keys = Object.keys(value);
  if (keys.length !== 2 || !("farcall" in value) || !("message" in value))
    throw bad('members must be "farcall" and "message"');
  if (typeof value.message !== "string") throw bad("message must be a string");
  const head = value.farcall as Record<string, unknown> | null;
  if (typeof head !== "object" || head === null || Array.isArray(head)) throw bad("farcall must be an object");
  const md = head.metadata ?? {};
  if (typeof md !== "object" || md === null || Array.isArray(md)) throw bad("metadata must be an object");
  const metadata = createMetadata();
  let size = 0;
  for (const [name, v] of Object.entries(md as Record<string, unknown>)) {
    if (typeof v !== "string") throw bad(`metadata ${JSON.stringify(name)} must be a string`);
    if (name !== name.toLowerCase() || name.length === 0)
      throw bad(`metadata name ${JSON.stringify(name)} must be lowercase`);
    size += name.length + v.length;
    metadata[name] = v;
  }
  if (size > limits.maxMetadataBytes) {
    throw new RpcError(
      Code.ResourceExhausted,
      `envelope metadata of ${size} bytes exceeds maxMetadataBytes ${limits.maxMetadataBytes}`,
    );
  }
  return { metadata, message: encoder.encode(value.message) };
}

/** Wraps a message text and its metadata in an envelope. */
export function sealEnvelope(metadata: Readonly<Record<string, string>> | undefined, message: string): string {
  return `{"farcall":{"metadata":${toJsonText(metadata ?? {})}},"message":${JSON.stringify(message)}}`;
}
