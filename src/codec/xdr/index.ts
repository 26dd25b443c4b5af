import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import type { Codec } from "../codec.js";
import { decodeXdr } from "./decode.js";
import { encodeXdr } from "./encode.js";
import type { XdrType } from "./types.js";

export { decodeXdr, readXdr, XdrReader } from "./decode.js";
export { encodeXdr, writeXdr, XdrWriter } from "./encode.js";
export { xdrFromJson, xdrToJson, xdrWire } from "./json.js";
export * from "./types.js";

function typeOf(type: unknown): XdrType {
  if (typeof type !== "object" || type === null || typeof (type as { kind?: unknown }).kind !== "string") {
    throw new RpcError(Code.Internal, "the xdr codec needs the method's wire type (an XDR descriptor)");
  }
  return type as XdrType;
}

/** XDR behind the `Codec` interface: `type` is the message's XDR descriptor (`MethodDescriptor.wire`). */
export const xdrCodec: Codec = {
  name: "xdr",
  encode: (value, type) => encodeXdr(typeOf(type), value),
  decode: (bytes, limits, type) => decodeXdr(typeOf(type), bytes, limits),
};
