import type { Codec } from "./codec.js";
import { jsonCodec } from "./json.js";
import { msgpackCodec } from "./msgpack.js";

export type { Codec } from "./codec.js";
export { jsonCodec } from "./json.js";
export { msgpackCodec } from "./msgpack.js";

/** The codecs every farcall peer knows, by wire id. */
export const builtinCodecs: readonly Codec[] = [jsonCodec, msgpackCodec];

/** Finds a built-in codec by name or wire id. */
export function findCodec(key: string | number): Codec | undefined {
  return builtinCodecs.find((c) => c.name === key || c.id === key);
}
