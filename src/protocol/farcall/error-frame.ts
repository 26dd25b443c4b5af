import type { Codec } from "../../codec/codec.js";
import { isEmptyMetadata, type Metadata } from "../../core/metadata.js";
import type { RpcError } from "../../core/rpc-error.js";
import { Flag, FrameType } from "./constants.js";
import type { FrameWriter } from "./frame-writer.js";
import { encodeLimitedText, encodeMetadata } from "./payload.js";

/** The longest ERROR message sent, in bytes (docs/protocol.md §4.3); longer ones are truncated. */
const maxErrorMessageBytes = 4096;

/**
 * Queues an ERROR frame for call `id` (docs/protocol.md §4.3): code, message, then the error's
 * metadata over `extra` (the handler's response metadata) and its details. Metadata or details
 * that cannot be encoded within `maxMetadataBytes`, within `maxMessageBytes` (the client's limits),
 * or by `codec` are left out, so the code and the message always reach the client.
 */
export function writeErrorFrame(
  writer: FrameWriter,
  codec: Codec,
  maxMetadataBytes: number,
  maxMessageBytes: number,
  id: number,
  error: RpcError,
  extra?: Metadata,
): void {
  const text = encodeLimitedText(error.rawMessage, maxErrorMessageBytes);
  let md: Uint8Array | undefined;
  let details: Uint8Array | undefined;
  try {
    const merged = extra === undefined ? error.metadata : { ...extra, ...error.metadata };
    if (!isEmptyMetadata(merged)) md = encodeMetadata(merged, maxMetadataBytes);
  } catch {
    md = undefined;
  }
  if (error.details.length > 0) {
    try {
      details = codec.encode(error.details);
      // The client would refuse the whole ERROR for details over its limit, losing the code.
      if (details.length > maxMessageBytes) details = undefined;
    } catch {
      details = undefined;
    }
  }
  let flags = error.safeToRetry ? Flag.NotProcessed : 0;
  if (md !== undefined) flags |= Flag.Metadata;
  if (details !== undefined) flags |= Flag.Details;
  const prefix = 3 + text.length + (md === undefined ? 0 : 2 + md.length);
  let at = writer.begin(FrameType.Error, flags, id, prefix, details);
  if (at < 0) return;
  const v = writer.view;
  v.setUint8(at, error.code);
  v.setUint16(at + 1, text.length);
  writer.bytes.set(text, at + 3);
  at += 3 + text.length;
  if (md !== undefined) {
    v.setUint16(at, md.length);
    writer.bytes.set(md, at + 2);
  }
}
