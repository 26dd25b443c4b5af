import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code } from "../../core/code.js";
import { createMetadata, type Metadata } from "../../core/metadata.js";
import { RpcError } from "../../core/rpc-error.js";
import { Flag, maxMethodNameBytes } from "./constants.js";
import {
  decodeMetadata,
  decodeText,
  encodeLimitedText,
  encodeMetadata,
  encodeText,
  PayloadReader,
  parseError,
  parseRequest,
} from "./payload.js";

const utf8 = new TextEncoder();

function bytes(...parts: (number | number[] | Uint8Array | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") out.push(...utf8.encode(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

const u16 = (n: number) => [n >>> 8, n & 255];
const u32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

function rejects(fn: () => unknown, code: Code, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (pattern !== undefined) assert.match(err.rawMessage, pattern);
    return true;
  });
}

/** An ERROR payload laid out as ServerSession.writeError does. */
function errorPayload(code: number, message: string, md?: Uint8Array, details?: Uint8Array): Uint8Array {
  const text = utf8.encode(message);
  return bytes(code, u16(text.length), text, md === undefined ? [] : [...u16(md.length), ...md], details ?? []);
}

describe("metadata blocks", () => {
  test("round-trip keys and values, including empty and non-ASCII values", () => {
    const md = createMetadata({ "x-trace": "abc", "a.b_c-9": "", unicode: "héllo 日本 😀" });
    const block = encodeMetadata(md, 8192);
    assert.deepEqual(decodeMetadata(block), md);
  });

  test("use the documented layout: u16 count, u8 key length, key, u16 value length, value", () => {
    const block = encodeMetadata({ k: "vv" }, 8192);
    assert.deepEqual(block, bytes(u16(1), 1, "k", u16(2), "vv"));
    assert.deepEqual(encodeMetadata({}, 8192), bytes(u16(0)));
  });

  test("encode lower-cases keys", () => {
    const block = encodeMetadata({ "X-Request-ID": "1" }, 8192);
    assert.deepEqual(Object.keys(decodeMetadata(block)), ["x-request-id"]);
  });

  test("encode skips non-string values", () => {
    const md = { a: "1", b: undefined } as unknown as Metadata;
    assert.deepEqual(decodeMetadata(encodeMetadata(md, 8192)), createMetadata({ a: "1" }));
  });

  test("encode rejects keys outside 0-9 a-z _ . -", () => {
    for (const key of ["", "a b", "a:b", "ключ", "a/b", "k".repeat(256)]) {
      rejects(() => encodeMetadata({ [key]: "v" }, 1 << 20), Code.InvalidArgument, /invalid metadata key/);
    }
    assert.doesNotThrow(() => encodeMetadata({ ["k".repeat(255)]: "v" }, 1 << 20));
  });

  test("encode rejects a value over 65535 bytes", () => {
    rejects(() => encodeMetadata({ k: "é".repeat(32_768) }, 1 << 20), Code.InvalidArgument);
  });

  test("encode rejects a block over maxBytes with ResourceExhausted; exactly maxBytes passes", () => {
    const md = { k: "v".repeat(10) }; // 2 + 1 + 1 + 2 + 10 = 16 bytes
    assert.equal(encodeMetadata(md, 16).length, 16);
    rejects(() => encodeMetadata(md, 15), Code.ResourceExhausted);
  });

  test("decoded metadata has a null prototype", () => {
    const md = decodeMetadata(encodeMetadata({ a: "1" }, 8192));
    assert.equal(Object.getPrototypeOf(md), null);
  });

  test("a __proto__ key is just a key: no prototype change, no pollution", () => {
    // The key pattern admits `__proto__` (underscores and letters); the null prototype makes it harmless.
    const block = bytes(u16(2), 9, "__proto__", u16(1), "x", 11, "constructor", u16(1), "y");
    const md = decodeMetadata(block);
    assert.equal(Object.getPrototypeOf(md), null);
    assert.deepEqual(Object.keys(md), ["__proto__", "constructor"]);
    assert.equal(Object.getOwnPropertyDescriptor(md, "__proto__")?.value, "x");
    assert.equal(({} as Record<string, unknown>).x, undefined);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    // …and it survives a round trip through encode.
    assert.deepEqual(Object.keys(decodeMetadata(encodeMetadata(md, 8192))), ["__proto__", "constructor"]);
  });

  test("decode rejects keys outside 0-9 a-z _ . -", () => {
    for (const key of ["A", "a b", "a:b", "ä", "x\u0000"]) {
      const k = utf8.encode(key);
      rejects(() => decodeMetadata(bytes(u16(1), k.length, k, u16(0))), Code.InvalidArgument, /metadata key/);
    }
    rejects(() => decodeMetadata(bytes(u16(1), 0, u16(0))), Code.InvalidArgument, /key/);
  });

  test("decode rejects truncation at every byte", () => {
    const block = encodeMetadata({ alpha: "one", beta: "two" }, 8192);
    for (let n = 0; n < block.length; n++) {
      rejects(() => decodeMetadata(block.subarray(0, n)), Code.InvalidArgument);
    }
  });

  test("decode rejects a count larger than the entries present", () => {
    rejects(() => decodeMetadata(bytes(u16(0xffff), 1, "k", u16(0))), Code.InvalidArgument, /truncated/);
  });

  test("decode rejects bytes after the last entry", () => {
    rejects(() => decodeMetadata(bytes(u16(1), 1, "k", u16(0), 0)), Code.InvalidArgument, /after/);
  });

  test("decode rejects invalid UTF-8 in keys and values", () => {
    rejects(() => decodeMetadata(bytes(u16(1), 1, 0xff, u16(0))), Code.InvalidArgument, /utf-8/);
    rejects(() => decodeMetadata(bytes(u16(1), 1, "k", u16(2), 0xc3, 0x28)), Code.InvalidArgument, /utf-8/);
    rejects(() => decodeMetadata(bytes(u16(1), 1, "k", u16(3), 0xed, 0xa0, 0x80)), Code.InvalidArgument, /utf-8/);
  });

  test("a block over its limit is rejected with ResourceExhausted before it is read", () => {
    const r = new PayloadReader(bytes(u16(9000), "short"));
    rejects(() => r.block(8192, "metadata"), Code.ResourceExhausted);
    const ok = new PayloadReader(bytes(u16(3), "abcdef"));
    assert.deepEqual(ok.block(3, "metadata"), bytes("abc"));
    assert.deepEqual(ok.rest(), bytes("def"));
  });
});

describe("PayloadReader", () => {
  test("reads big-endian integers and rejects reads past the end", () => {
    const r = new PayloadReader(bytes(0x01, u16(0x0203), u32(0xfffffffe)));
    assert.equal(r.u8("a"), 1);
    assert.equal(r.u16("b"), 0x0203);
    assert.equal(r.u32("c"), 0xfffffffe);
    rejects(() => r.u8("d"), Code.InvalidArgument, /d truncated/);
    rejects(() => new PayloadReader(bytes(1)).u16("x"), Code.InvalidArgument);
    rejects(() => new PayloadReader(bytes(1, 2, 3)).u32("x"), Code.InvalidArgument);
    rejects(() => new PayloadReader(bytes(1, 2, 3)).take(4, "x"), Code.InvalidArgument);
  });
});

describe("decodeText / encodeText", () => {
  test("round-trip and reject invalid UTF-8", () => {
    assert.equal(decodeText(encodeText("héllo 😀"), "t"), "héllo 😀");
    rejects(() => decodeText(bytes(0xf0, 0x9f, 0x98), "thing"), Code.InvalidArgument, /thing is not valid utf-8/);
  });
});

describe("parseRequest", () => {
  const md = encodeMetadata({ k: "v" }, 8192);
  const message = bytes(0x93, 1, 2, 3);

  test("method id only", () => {
    const head = parseRequest(0, bytes(u16(7), message), 8192);
    assert.deepEqual(head, { methodId: 7, name: undefined, timeoutMs: undefined, metadata: undefined, message });
  });

  test("every combination of Name, Deadline and Metadata", () => {
    for (let combo = 0; combo < 8; combo++) {
      const withName = (combo & 1) !== 0;
      const withDeadline = (combo & 2) !== 0;
      const withMetadata = (combo & 4) !== 0;
      let flags = Flag.Oneway | Flag.Stream | Flag.ResponseStream; // ignored by the parser
      const parts: (number[] | Uint8Array | string)[] = [u16(withName ? 0 : 3)];
      if (withName) {
        flags |= Flag.Name;
        parts.push(u16(8), "pkg.Echo");
      }
      if (withDeadline) {
        flags |= Flag.Deadline;
        parts.push(u32(0xfffffff0));
      }
      if (withMetadata) {
        flags |= Flag.Metadata;
        parts.push(u16(md.length), md);
      }
      parts.push(message);
      const head = parseRequest(flags, bytes(...parts), 8192);
      assert.deepEqual(
        head,
        {
          methodId: withName ? 0 : 3,
          name: withName ? "pkg.Echo" : undefined,
          timeoutMs: withDeadline ? 0xfffffff0 : undefined,
          metadata: withMetadata ? createMetadata({ k: "v" }) : undefined,
          message,
        },
        `combination ${combo}`,
      );
    }
  });

  test("an empty message is allowed", () => {
    assert.deepEqual(parseRequest(0, bytes(u16(1)), 8192).message, new Uint8Array(0));
  });

  test("method id 0 needs a name", () => {
    rejects(() => parseRequest(0, bytes(u16(0)), 8192), Code.InvalidArgument, /method id 0/);
  });

  test("a method name must be 1 to maxMethodNameBytes long and valid UTF-8", () => {
    rejects(() => parseRequest(Flag.Name, bytes(u16(1), u16(0)), 8192), Code.InvalidArgument, /method name length/);
    const long = "m".repeat(maxMethodNameBytes + 1);
    rejects(
      () => parseRequest(Flag.Name, bytes(u16(1), u16(long.length), long), 8192),
      Code.InvalidArgument,
      /method name length/,
    );
    const max = "m".repeat(maxMethodNameBytes);
    assert.equal(parseRequest(Flag.Name, bytes(u16(1), u16(max.length), max), 8192).name, max);
    rejects(() => parseRequest(Flag.Name, bytes(u16(1), u16(1), 0xff), 8192), Code.InvalidArgument, /utf-8/);
  });

  test("truncation at every byte of the fixed fields is rejected", () => {
    const flags = Flag.Name | Flag.Deadline | Flag.Metadata;
    const full = bytes(u16(0), u16(3), "a.b", u32(1000), u16(md.length), md);
    assert.doesNotThrow(() => parseRequest(flags, full, 8192));
    for (let n = 0; n < full.length; n++) {
      rejects(() => parseRequest(flags, full.subarray(0, n), 8192), Code.InvalidArgument);
    }
  });

  test("a metadata block over maxMetadataBytes is ResourceExhausted", () => {
    rejects(
      () => parseRequest(Flag.Metadata, bytes(u16(1), u16(md.length), md), md.length - 1),
      Code.ResourceExhausted,
    );
  });
});

describe("parseError", () => {
  const noDetails = () => assert.fail("details decoded without the Details flag");
  const decodeDetails = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;

  test("code and message", () => {
    const err = parseError(0, errorPayload(Code.NotFound, "no such thing 😀"), 8192, noDetails);
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, Code.NotFound);
    assert.equal(err.rawMessage, "no such thing 😀");
    assert.equal(err.safeToRetry, false);
    assert.deepEqual(err.details, []);
    assert.deepEqual(Object.keys(err.metadata), []);
  });

  test("metadata, details and NotProcessed", () => {
    const md = encodeMetadata({ "retry-after": "5" }, 8192);
    const payload = errorPayload(Code.Unavailable, "busy", md, utf8.encode('[{"why":"load"},2]'));
    const err = parseError(Flag.Metadata | Flag.Details | Flag.NotProcessed, payload, 8192, decodeDetails);
    assert.equal(err.code, Code.Unavailable);
    assert.equal(err.rawMessage, "busy");
    assert.deepEqual(err.metadata, createMetadata({ "retry-after": "5" }));
    assert.deepEqual(err.details, [{ why: "load" }, 2]);
    assert.equal(err.safeToRetry, true);
  });

  test("details that are not an array become a one-element array", () => {
    const err = parseError(
      Flag.Details,
      errorPayload(Code.Internal, "", undefined, utf8.encode('"x"')),
      8192,
      decodeDetails,
    );
    assert.deepEqual(err.details, ["x"]);
  });

  test("codes outside 1..16 become Unknown", () => {
    for (const code of [0, 17, 255]) {
      assert.equal(parseError(0, errorPayload(code, "m"), 8192, noDetails).code, Code.Unknown, `code ${code}`);
    }
  });

  test("trailing bytes without the Details flag are rejected", () => {
    rejects(() => parseError(0, bytes(errorPayload(Code.Aborted, "m"), 0), 8192, noDetails), Code.InvalidArgument);
  });

  test("truncation at every byte is rejected", () => {
    const md = encodeMetadata({ k: "v" }, 8192);
    const full = errorPayload(Code.Aborted, "message", md);
    assert.doesNotThrow(() => parseError(Flag.Metadata, full, 8192, noDetails));
    for (let n = 0; n < full.length; n++) {
      rejects(() => parseError(Flag.Metadata, full.subarray(0, n), 8192, noDetails), Code.InvalidArgument);
    }
  });

  test("an invalid UTF-8 message is rejected", () => {
    rejects(() => parseError(0, bytes(Code.Aborted, u16(1), 0xff), 8192, noDetails), Code.InvalidArgument, /utf-8/);
  });

  test("an oversized metadata block is ResourceExhausted", () => {
    const md = encodeMetadata({ k: "v".repeat(100) }, 8192);
    rejects(
      () => parseError(Flag.Metadata, errorPayload(Code.Aborted, "m", md), 64, noDetails),
      Code.ResourceExhausted,
    );
  });
});

describe("encodeLimitedText", () => {
  test("returns text within the limit unchanged", () => {
    assert.deepEqual(encodeLimitedText("héllo", 6), utf8.encode("héllo"));
    assert.deepEqual(encodeLimitedText("", 0), new Uint8Array(0));
  });

  test("never splits a UTF-8 character, for every limit", () => {
    const text = "aé日😀b€𝄞";
    const full = utf8.encode(text);
    for (let max = 0; max <= full.length; max++) {
      const out = encodeLimitedText(text, max);
      assert.ok(out.length <= max, `limit ${max}`);
      const decoded = new TextDecoder("utf-8", { fatal: true }).decode(out);
      assert.ok(text.startsWith(decoded), `limit ${max}`);
      // Only a whole character that does not fit may be dropped.
      const next = [...text.slice(decoded.length)][0];
      if (next !== undefined) assert.ok(out.length + utf8.encode(next).length > max, `limit ${max} cut too much`);
    }
  });
});
