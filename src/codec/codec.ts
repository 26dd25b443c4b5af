import { Code } from "../core/code.js";
import type { DecodeLimits } from "../core/limits.js";
import { RpcError } from "../core/rpc-error.js";

/**
 * Turns values into bytes and back; knows nothing of frames, sockets or protocols (a protocol that
 * names codecs on its wire, as farcall's preface does, keeps its own table of them).
 * A codec never instantiates a type named by the peer and never yields an object with a
 * `__proto__` key; input nested deeper than `maxDepth` is rejected before it is built.
 *
 * Self-describing codecs (JSON, MessagePack) ignore `type`. A schema-driven one (XDR, protobuf)
 * needs it: the method's wire type for the message (`MethodDescriptor.wire.input` or `.output`),
 * so a protocol picks and drives it per method.
 */
export interface Codec {
  /** Name in docs and options: `json`, `msgpack`. */
  readonly name: string;
  /** @throws RpcError `internal` when the value cannot be encoded. */
  encode(value: unknown, type?: unknown): Uint8Array;
  /**
   * `limits`: the deepest nesting and the most keys per object or map to accept (a bare number is
   * `maxDepth`, with the default `maxKeys`).
   * @throws RpcError `invalid_argument` on malformed, over-deep or over-wide input.
   */
  decode(bytes: Uint8Array, limits: number | DecodeLimits, type?: unknown): unknown;
  /**
   * If this codec encodes a `Uint8Array` of `length` bytes as a header followed by the bytes
   * themselves, returns that header, so large byte values can be written by reference instead of
   * being copied into an encoding buffer. Optional.
   */
  bytesHeader?(length: number): Uint8Array;
}

/**
 * The error for a value a codec cannot encode. Its message is the codec's own words, never the
 * underlying encoder's (V8's or a library's text names internals and options of no use to a peer,
 * which sees this error when a handler's reply cannot be encoded); that text stays in `cause`.
 */
export function unencodable(codec: string, err: unknown): RpcError {
  const message = (err as Error | undefined)?.message ?? "";
  let why = "";
  if (typeof err === "object" && err !== null && (err as Error).name === "RangeError" && /call stack/i.test(message))
    why = ": the value is circular or nested too deeply";
  else if (/circular/i.test(message)) why = ": the value is circular";
  else if (/bigint/i.test(message)) why = ": a bigint it cannot carry";
  else if (/symbol/i.test(message)) why = ": a symbol";
  return new RpcError(Code.Internal, `cannot encode value as ${codec}${why}`, { cause: err });
}

/** The error for bytes a codec cannot decode. */
export function malformed(codec: string, detail: string): RpcError {
  return new RpcError(Code.InvalidArgument, `malformed ${codec} message: ${detail}`);
}

/** The error for nesting beyond the limit. */
export function tooDeep(maxDepth: number): RpcError {
  return new RpcError(Code.InvalidArgument, `message nesting exceeds maxDepth ${maxDepth}`);
}

/** The error for a `__proto__` key in input. */
export function forbiddenKey(): RpcError {
  return new RpcError(Code.InvalidArgument, "message contains the forbidden key __proto__");
}
