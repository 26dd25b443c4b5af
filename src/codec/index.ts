import type { Codec } from "./codec.js";
import { jsonCodec } from "./json.js";
import { msgpackCodec } from "./msgpack.js";

export type { Codec } from "./codec.js";
export { jsonCodec } from "./json.js";
export { msgpackCodec } from "./msgpack.js";

/** The codecs farcall has built in. */
export const builtinCodecs: readonly Codec[] = [jsonCodec, msgpackCodec];

/** Finds a built-in codec by name. */
export function findCodec(name: string): Codec | undefined {
  return builtinCodecs.find((c) => c.name === name);
}
