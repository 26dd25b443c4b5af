import { Packr, Unpackr } from "msgpackr";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { type Codec, malformed } from "./codec.js";
import { checkMsgpack } from "./msgpack-check.js";

// Plain MessagePack only: no records, no structured-clone extensions, maps as objects, and 64-bit
// integers as numbers when they fit in 2^53, BigInt otherwise.
// msgpackr accepts "auto" but its typings do not list it.
const int64AsType = "auto" as "number";
const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, int64AsType });
const unpackr = new Unpackr({ useRecords: false, structuredClone: false, mapsAsObjects: true, int64AsType });

/**
 * MessagePack via msgpackr. Input is checked by {@link checkMsgpack} before msgpackr sees it, so
 * msgpackr's own extension types (errors, regexps, records …) are never instantiated from peer data.
 */
export const msgpackCodec: Codec = {
  name: "msgpack",
  id: 2,
  encode(value) {
    try {
      return packr.pack(value);
    } catch (err) {
      throw new RpcError(Code.Internal, `cannot encode value as msgpack: ${(err as Error).message}`, { cause: err });
    }
  },
  decode(bytes, maxDepth) {
    checkMsgpack(bytes, maxDepth);
    try {
      return unpackr.unpack(bytes);
    } catch (err) {
      throw malformed("msgpack", (err as Error).message);
    }
  },
};
