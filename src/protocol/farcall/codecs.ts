import type { Codec } from "../../codec/codec.js";
import { findCodec, jsonCodec, msgpackCodec } from "../../codec/index.js";

/** A codec as farcall framing names it: the id (1–255) its connection preface carries (docs/protocol.md §2.1). */
export interface FramedCodec {
  readonly id: number;
  readonly codec: Codec;
}

/** The codecs every farcall peer knows: JSON is 1, MessagePack 2. */
export const builtinFramedCodecs: readonly FramedCodec[] = Object.freeze([
  Object.freeze({ id: 1, codec: jsonCodec }),
  Object.freeze({ id: 2, codec: msgpackCodec }),
]);

/**
 * The framed codec for a client's `codec` option: a built-in's name or object, or `{ id, codec }`
 * for any other codec.
 * @throws TypeError for an unknown name, a codec without an id, or an id outside 1–255
 */
export function framedCodec(option: string | Codec | FramedCodec | undefined): FramedCodec {
  const given = option ?? "msgpack";
  if (typeof given === "object" && "codec" in given) {
    if (!Number.isInteger(given.id) || given.id < 1 || given.id > 255) {
      throw new TypeError(`farcall codec id must be 1 to 255, got ${given.id}`);
    }
    return given;
  }
  const codec = typeof given === "string" ? findCodec(given) : given;
  const found = builtinFramedCodecs.find((f) => f.codec === codec);
  if (found !== undefined) return found;
  if (codec === undefined) throw new TypeError(`unknown codec ${JSON.stringify(given)}`);
  throw new TypeError(`codec ${codec.name} has no farcall id: pass { id, codec } with an id from 3 to 255`);
}
