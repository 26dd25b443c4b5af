import { Code } from "./code.js";
import { RpcError } from "./rpc-error.js";

/**
 * Limits on everything read from a peer. Every length read off the wire is checked against one of
 * these before anything is allocated for it.
 */
export interface Limits {
  /** Largest encoded message (request, response or stream item). Default 4 MiB. */
  maxMessageBytes: number;
  /** Largest encoded metadata block on one frame. Default 8 KiB. */
  maxMetadataBytes: number;
  /** Deepest nesting of arrays and objects in a decoded message. Default 64, at most 1024. */
  maxDepth: number;
  /** Calls running plus queued on one connection; beyond it a call is refused, safe to retry. Default 20,000. */
  maxInflight: number;
  /** Calls whose handlers run at once on one connection; the rest wait in the queue. Default 10,000. */
  maxConcurrentCalls: number;
  /**
   * Keys in one decoded object (a JSON object or a MessagePack map), counted as written, so a
   * repeated key counts each time. Default 10,000: see {@link defaultLimits}.
   */
  maxKeys: number;
}

/**
 * The limits a decoder applies. Decoders also take a bare number, read as `maxDepth` with the
 * default `maxKeys`, so callers written before `maxKeys` existed keep working.
 */
export type DecodeLimits = Readonly<Pick<Limits, "maxDepth" | "maxKeys">>;

/**
 * Deepest nesting any decoder accepts, whatever `maxDepth` says, and the most `maxDepth` may be:
 * the MessagePack decoder recurses, and 1024 levels is far from the stack limit.
 */
export const maxDepthCapacity = 1024;

/**
 * Safe defaults. 4 MiB matches gRPC's default message limit; 8 KiB of metadata matches common
 * HTTP header limits; depth 64 is far beyond real payloads but far below where a recursive decoder
 * exhausts the stack.
 */

export const defaultLimits: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 4 * 1024 * 1024,
  maxMetadataBytes: 8 * 1024,
  maxDepth: 64,
  maxInflight: 20_000,
  maxConcurrentCalls: 10_000,
  // Real structs have tens of fields (the bench struct has 9) and maps rarely thousands of keys.
  // Parsing one object costs more per key as it grows (V8 turns objects past ~1,000 properties
  // into hash tables): measured here, one object of 10,000 keys takes about 4 ms to parse (JSON or
  // MessagePack), 100,000 keys 80 ms and 200,000 keys 175 ms (430-510 ms through a server).
  maxKeys: 10_000,
});

/** The error for an object or map with more keys than `maxKeys` allows. */
export function tooManyKeys(keys: number, maxKeys: number): RpcError {
  return new RpcError(Code.InvalidArgument, `object with ${keys} keys exceeds maxKeys ${maxKeys}`);
}

/** Fills missing limits with the defaults and rejects nonsense values. */
export function resolveLimits(partial: Partial<Limits> | undefined): Limits {
  const limits = { ...defaultLimits, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!Object.hasOwn(defaultLimits, key)) {
      const where =
        key === "streamWindowBytes"
          ? "; the stream window is farcall framing's: farcallProtocol({ streamWindowBytes })"
          : "";
      throw new RangeError(`unknown limit ${key}${where}`);
    }
    if (!Number.isInteger(value) || value < 1 || value > 0xffff_ffff) {
      throw new RangeError(`limit ${key} must be an integer from 1 to 4294967295, got ${String(value)}`);
    }
  }
  if (limits.maxMetadataBytes > 0xffff) throw new RangeError("limit maxMetadataBytes must be at most 65535");
  if (limits.maxDepth > maxDepthCapacity) throw new RangeError(`limit maxDepth must be at most ${maxDepthCapacity}`);
  return limits;
}
