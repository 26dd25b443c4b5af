// msgpackr's main entry also loads its native unpacking addon (~5 MiB of RSS), which farcall never
// uses: it decodes with its own validating decoder. The `pack` entry is plain JavaScript.
import { Packr } from "msgpackr/pack";
import { type Codec, unencodable } from "./codec.js";
import { decodeMsgpack } from "./msgpack-decode.js";
import { encodeCommon } from "./msgpack-encode.js";

// For what encodeCommon leaves: plain MessagePack only, no records, no structured-clone extensions.
const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false });

/**
 * MessagePack: {@link encodeCommon} encodes the common values and msgpackr the rest;
 * {@link decodeMsgpack} decodes, validating as it goes, so nothing from the peer is ever handed to a
 * decoder that knows extension types (errors, regexps, records …).
 */
export const msgpackCodec: Codec = {
  name: "msgpack",
  encode(value) {
    try {
      return encodeCommon(value) ?? packr.pack(value);
    } catch (err) {
      throw unencodable("msgpack", err);
    }
  },
  decode(bytes, limits) {
    return decodeMsgpack(bytes, limits);
  },
  bytesHeader(length) {
    // bin 32: C6 and a u32 length (the decoder accepts every bin size).
    return Uint8Array.of(0xc6, length >>> 24, (length >>> 16) & 255, (length >>> 8) & 255, length & 255);
  },
};
