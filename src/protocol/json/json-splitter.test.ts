import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code } from "../../core/code.js";
import { RpcError } from "../../core/rpc-error.js";
import { JsonSplitter, type JsonSplitterLimits } from "./json-splitter.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const roomy: JsonSplitterLimits = { maxMessageBytes: 1 << 20, maxDepth: 64 };

/** Values chosen to trip a scanner that gets strings or escapes wrong. */
const values = [
  '{"jsonrpc":"2.0","method":"Arith.add","params":[1,{"x":"}]"}],"id":1}',
  '[{"a":"[[{{"},{"b":"\\"}"}]',
  '{"s":"a\\\\"}',
  '{"":"}","\\\\":"\\"]"}',
  '{"k":"\\\\\\"]","t":"\\\\\\\\"}',
  '{"u":"héllo ✓ 😀 {","é":"}"}',
  "[]",
  "{}",
  "[[[]],{}]",
  '{ "spaced" : [ 1 , 2 ] ,\n "n" : null }',
  '["\\u005d\\u007d", "\\/", "\\n"]',
  // Long strings, where the scan jumps from quote to quote, with escapes and runs of backslashes.
  JSON.stringify({ long: `${"a".repeat(40)}"${"b".repeat(20)}\\`, next: `${"c".repeat(17)}\\\\"]}` }),
  JSON.stringify([`${"d".repeat(16)}\\`, `${"e".repeat(15)}"`, `${"f".repeat(33)}\\"\\\\\\"{[`]),
];

function strings(texts: Uint8Array[]): string[] {
  return texts.map((t) => decoder.decode(t));
}

/** Pushes each chunk in turn and returns every text produced, decoded. */
/** Pushes as a session does: the values, or the error if the chunk ran into one. */
function push(splitter: JsonSplitter, chunk: Uint8Array): Uint8Array[] {
  const out = splitter.push(chunk);
  if (splitter.error !== undefined) throw splitter.error;
  return out;
}

function feed(splitter: JsonSplitter, chunks: Uint8Array[]): string[] {
  return chunks.flatMap((c) => strings(push(splitter, c)));
}

function assertRpcError(err: unknown, code: Code, message: string): true {
  assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
  assert.equal(err.code, code);
  assert.equal(err.rawMessage, message);
  return true;
}

describe("JsonSplitter", () => {
  test("the sample values are valid JSON (so the expectations below mean something)", () => {
    for (const v of values) assert.doesNotThrow(() => JSON.parse(v), v);
  });

  for (const [name, sep] of [
    ["no separator", ""],
    ["newlines", "\n"],
    ["mixed whitespace", " \r\n\t "],
  ] as const) {
    describe(`values joined with ${name}`, () => {
      const stream = encoder.encode(`${sep}${values.join(sep)}${sep}`);

      test("one chunk", () => {
        const splitter = new JsonSplitter(roomy);
        assert.deepEqual(feed(splitter, [stream]), values);
        assert.equal(splitter.buffered, 0);
      });

      test("two chunks split at every byte", () => {
        for (let cut = 0; cut <= stream.length; cut++) {
          const splitter = new JsonSplitter(roomy);
          const out = feed(splitter, [stream.slice(0, cut), stream.slice(cut)]);
          assert.deepEqual(out, values, `split at ${cut}`);
          assert.equal(splitter.buffered, 0, `split at ${cut}`);
        }
      });

      test("three chunks split at every pair of positions", () => {
        for (let a = 0; a <= stream.length; a += 3) {
          for (let b = a; b <= stream.length; b++) {
            const out = feed(new JsonSplitter(roomy), [stream.slice(0, a), stream.slice(a, b), stream.slice(b)]);
            assert.deepEqual(out, values, `split at ${a} and ${b}`);
          }
        }
      });

      test("one byte at a time", () => {
        const splitter = new JsonSplitter(roomy);
        const chunks = Array.from(stream, (b) => Uint8Array.of(b));
        assert.deepEqual(feed(splitter, chunks), values);
      });
    });
  }

  test("random values, whitespace and chunk sizes", () => {
    // A small deterministic generator, so a failure can be reproduced from its seed.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = ['"', "\\", "[", "]", "{", "}", ",", ":", "a", "é", "😀", " ", "\n", "\u0000"];
    const randomString = (): string => {
      const kind = next(3);
      const len = kind === 0 ? next(4) : kind === 1 ? next(40) : 100 + next(200);
      let s = "";
      for (let i = 0; i < len; i++) s += next(4) === 0 ? (alphabet[next(alphabet.length)] as string) : "x";
      return s;
    };
    const randomValue = (depth: number): unknown => {
      const kind = depth > 4 ? 2 + next(2) : next(4);
      if (kind === 0) return Array.from({ length: next(4) }, () => randomValue(depth + 1));
      if (kind === 1)
        return Object.fromEntries(Array.from({ length: next(4) }, () => [randomString(), randomValue(depth + 1)]));
      if (kind === 2) return randomString();
      return next(1000);
    };
    const gaps = ["", " ", "\n", "\r\n", "\t \n "];
    for (let round = 0; round < 200; round++) {
      const texts = Array.from({ length: 1 + next(6) }, () =>
        JSON.stringify(next(2) === 0 ? [randomValue(1)] : { v: randomValue(1) }, null, next(3) === 0 ? 1 : undefined),
      );
      const stream = encoder.encode(texts.map((t) => `${t}${gaps[next(gaps.length)]}`).join(""));
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = next(3) === 0 ? 1 + next(4) : 1 + next(200);
        chunks.push(stream.slice(at, at + size));
        at += size;
      }
      assert.deepEqual(feed(new JsonSplitter(roomy), chunks), texts, `round ${round}`);
    }
  });

  test("a text is returned by the push that delivers its closing bracket", () => {
    const splitter = new JsonSplitter(roomy);
    assert.deepEqual(strings(splitter.push(encoder.encode('{"a":[1,'))), []);
    assert.deepEqual(strings(splitter.push(encoder.encode("2]"))), []);
    assert.deepEqual(strings(splitter.push(encoder.encode('}\n{"b":'))), ['{"a":[1,2]}']);
    assert.deepEqual(strings(splitter.push(encoder.encode("3}[]"))), ['{"b":3}', "[]"]);
  });

  test("buffered counts the bytes of the unfinished value only", () => {
    const splitter = new JsonSplitter(roomy);
    splitter.push(encoder.encode("  \n"));
    assert.equal(splitter.buffered, 0, "whitespace between values is not held");
    splitter.push(encoder.encode(' {"a":'));
    assert.equal(splitter.buffered, 5);
    splitter.push(encoder.encode('"x'));
    assert.equal(splitter.buffered, 7);
    splitter.push(encoder.encode('"} {'));
    assert.equal(splitter.buffered, 1);
    splitter.push(encoder.encode("}"));
    assert.equal(splitter.buffered, 0);
  });

  test("a value wholly inside one chunk is a view of that chunk", () => {
    const chunk = encoder.encode(' {"a":1}\n[2] ');
    const out = push(new JsonSplitter(roomy), chunk);
    assert.deepEqual(strings(out), ['{"a":1}', "[2]"]);
    for (const t of out) assert.equal(t.buffer, chunk.buffer);
    assert.equal(out[0]?.byteOffset, chunk.byteOffset + 1);
  });

  test("a value spanning chunks is a fresh copy that does not alias them", () => {
    const stream = encoder.encode(values.join("\n"));
    let spanned = 0;
    for (let cut = 1; cut < stream.length; cut++) {
      const first = stream.slice(0, cut);
      const second = stream.slice(cut);
      const splitter = new JsonSplitter(roomy);
      const out = [...splitter.push(first), ...splitter.push(second)];
      assert.deepEqual(strings(out), values, `split at ${cut}`);
      const copies = out.filter((t) => t.buffer !== first.buffer && t.buffer !== second.buffer);
      assert.ok(copies.length <= 1, `split at ${cut}: only the value across the cut is copied`);
      const before = strings(copies);
      first.fill(0x20);
      second.fill(0x20);
      assert.deepEqual(strings(copies), before, `split at ${cut}: copy changed with its chunks`);
      spanned += copies.length;
    }
    assert.ok(spanned > stream.length / 2, "most cuts fall inside a value");
  });

  test("an empty chunk changes nothing", () => {
    const splitter = new JsonSplitter(roomy);
    const out = feed(splitter, [
      new Uint8Array(0),
      encoder.encode('{"a"'),
      new Uint8Array(0),
      encoder.encode(":1}"),
      new Uint8Array(0),
    ]);
    assert.deepEqual(out, ['{"a":1}']);
  });

  test("brackets inside strings count neither for depth nor for the end of a value", () => {
    const text = '{"a":"[[[[{{{{","b":"]]]]}}}}","c":"\\"[[","d":"\\\\"}';
    assert.doesNotThrow(() => JSON.parse(text));
    const splitter = new JsonSplitter({ maxMessageBytes: 1024, maxDepth: 1 });
    assert.deepEqual(feed(splitter, [encoder.encode(`${text}[]`)]), [text, "[]"]);
  });

  test("values a chunk completed before bad bytes are returned, with the error set", () => {
    const splitter = new JsonSplitter(roomy);
    const out = splitter.push(encoder.encode('{"id":1} xyz {"id":2}'));
    assert.deepEqual(strings(out), ['{"id":1}']);
    assert.ok(splitter.error instanceof RpcError && splitter.error.code === Code.InvalidArgument);
    assert.throws(
      () => splitter.push(encoder.encode("{}")),
      (err) => err === splitter.error,
    );
  });

  test("a closing bracket of the other kind is an error, wherever the input is split", () => {
    for (const text of ["{]", "[1}", '[{"a":[1]}, {"b" ]', '{"a":[{"b":1]}']) {
      const bytes = encoder.encode(text);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const splitter = new JsonSplitter(roomy);
        assert.throws(
          () => {
            splitter.push(bytes.subarray(0, cut));
            splitter.push(bytes.subarray(cut));
          },
          (err: unknown) =>
            err instanceof RpcError && err.code === Code.InvalidArgument && /mismatched/.test(err.message),
          `${text} split at ${cut}`,
        );
      }
    }
    // Brackets inside strings do not count.
    assert.deepEqual(feed(new JsonSplitter(roomy), [encoder.encode('{"a":"]"} ["}"]')]), ['{"a":"]"}', '["}"]']);
  });

  describe("maxMessageBytes", () => {
    const limits: JsonSplitterLimits = { maxMessageBytes: 16, maxDepth: 64 };
    const exact = '{"a":"xxxxxxxx"}';
    const over = '{"a":"xxxxxxxxx"}';

    test("the fixtures are 16 and 17 bytes", () => {
      assert.equal(encoder.encode(exact).length, 16);
      assert.equal(encoder.encode(over).length, 17);
    });

    test("a value of exactly maxMessageBytes is accepted, split anywhere", () => {
      const stream = encoder.encode(`${exact}\n${exact}`);
      for (let cut = 0; cut <= stream.length; cut++) {
        const out = feed(new JsonSplitter(limits), [stream.slice(0, cut), stream.slice(cut)]);
        assert.deepEqual(out, [exact, exact], `split at ${cut}`);
      }
    });

    test("one byte over in one chunk throws with the value's size", () => {
      assert.throws(
        () => push(new JsonSplitter(limits), encoder.encode(`{} ${over} []`)),
        (err) => assertRpcError(err, Code.ResourceExhausted, "message size 17 exceeds maxMessageBytes 16"),
      );
    });

    test("one byte over throws wherever the value is split", () => {
      const stream = encoder.encode(over);
      for (let cut = 0; cut <= stream.length; cut++) {
        const splitter = new JsonSplitter(limits);
        assert.throws(
          () => feed(splitter, [stream.slice(0, cut), stream.slice(cut)]),
          (err) => assertRpcError(err, Code.ResourceExhausted, "message size 17 exceeds maxMessageBytes 16"),
          `split at ${cut}`,
        );
      }
    });

    test("throws on the byte that passes the limit when fed one byte at a time", () => {
      const stream = encoder.encode(over);
      const splitter = new JsonSplitter(limits);
      for (let i = 0; i < 16; i++) splitter.push(stream.subarray(i, i + 1));
      assert.equal(splitter.buffered, 16);
      assert.throws(
        () => push(splitter, stream.subarray(16)),
        (err) => assertRpcError(err, Code.ResourceExhausted, "message size 17 exceeds maxMessageBytes 16"),
      );
    });

    test("throws as soon as the held bytes pass the limit, long before the value ends", () => {
      const splitter = new JsonSplitter({ maxMessageBytes: 1000, maxDepth: 64 });
      splitter.push(encoder.encode('{"blob":"'));
      const piece = encoder.encode("x".repeat(300));
      splitter.push(piece);
      splitter.push(piece);
      splitter.push(piece);
      assert.equal(splitter.buffered, 909);
      // The value would go on for megabytes; the 4th piece takes it to 1209 bytes and must fail.
      assert.throws(
        () => push(splitter, piece),
        (err) => assertRpcError(err, Code.ResourceExhausted, "message size 1209 exceeds maxMessageBytes 1000"),
      );
    });

    test("an oversized value in one chunk throws, reporting its whole size", () => {
      const big = `{"blob":"${"y".repeat(100_000)}"}`;
      assert.throws(
        () => push(new JsonSplitter({ maxMessageBytes: 1000, maxDepth: 64 }), encoder.encode(`${big}\n{}`)),
        (err) => assertRpcError(err, Code.ResourceExhausted, `message size ${big.length} exceeds maxMessageBytes 1000`),
      );
    });

    test("an oversized unfinished value in one chunk reports the bytes that arrived", () => {
      const start = `{"blob":"${"y".repeat(5000)}`;
      assert.throws(
        () => push(new JsonSplitter({ maxMessageBytes: 1000, maxDepth: 64 }), encoder.encode(`  ${start}`)),
        (err) => assertRpcError(err, Code.ResourceExhausted, "message size 5009 exceeds maxMessageBytes 1000"),
      );
    });

    test("the limit applies to each value, not to the stream", () => {
      const stream = encoder.encode(`${exact}${exact}\n${exact}  ${exact}`);
      const splitter = new JsonSplitter(limits);
      const out = feed(
        splitter,
        Array.from(stream, (b) => Uint8Array.of(b)),
      );
      assert.deepEqual(out, [exact, exact, exact, exact]);
    });
  });

  describe("maxDepth", () => {
    const limits: JsonSplitterLimits = { maxMessageBytes: 1024, maxDepth: 3 };
    const deepest = '[{"a":[1]}]';
    const tooDeep = '[{"a":[[1]]}]';
    const depthError = "nesting depth exceeds maxDepth 3";

    test("maxDepth levels are accepted, value after value", () => {
      const stream = encoder.encode(`${deepest}${deepest}\n[[[]],[[]]]`);
      for (let cut = 0; cut <= stream.length; cut++) {
        const out = feed(new JsonSplitter(limits), [stream.slice(0, cut), stream.slice(cut)]);
        assert.deepEqual(out, [deepest, deepest, "[[[]],[[]]]"], `split at ${cut}`);
      }
    });

    test("one level more throws, in one chunk or split anywhere", () => {
      const stream = encoder.encode(`[] ${tooDeep}`);
      for (let cut = 0; cut <= stream.length; cut++) {
        assert.throws(
          () => feed(new JsonSplitter(limits), [stream.slice(0, cut), stream.slice(cut)]),
          (err) => assertRpcError(err, Code.ResourceExhausted, depthError),
          `split at ${cut}`,
        );
      }
    });

    test("throws on the bracket that goes too deep, before the value ends", () => {
      const stream = encoder.encode(`${"[".repeat(1000)}${"]".repeat(1000)}`);
      const splitter = new JsonSplitter({ maxMessageBytes: 1 << 20, maxDepth: 64 });
      for (let i = 0; i < 64; i++) splitter.push(stream.subarray(i, i + 1));
      assert.throws(
        () => push(splitter, stream.subarray(64, 65)),
        (err) => assertRpcError(err, Code.ResourceExhausted, "nesting depth exceeds maxDepth 64"),
      );
    });

    test("maxDepth 0 refuses every value", () => {
      assert.throws(
        () => push(new JsonSplitter({ maxMessageBytes: 1024, maxDepth: 0 }), encoder.encode(" {}")),
        (err) => assertRpcError(err, Code.ResourceExhausted, "nesting depth exceeds maxDepth 0"),
      );
    });
  });

  describe("bytes between values", () => {
    for (const [name, text, byte] of [
      ["a letter before the first value", "A{}", "0x41"],
      ["a letter after a value", '{"a":1} x', "0x78"],
      ["a comma between values", "{},{}", "0x2C"],
      ["a number at the top level", "[] 1", "0x31"],
      ["a string at the top level", '"s"', "0x22"],
      ["a stray closing bracket", "[]]", "0x5D"],
      ["a form feed (not JSON whitespace)", "{}\f{}", "0x0C"],
      ["a UTF-8 BOM", "\uFEFF{}", "0xEF"],
    ] as const) {
      test(`${name} throws InvalidArgument`, () => {
        const stream = encoder.encode(text);
        for (let cut = 0; cut <= stream.length; cut++) {
          assert.throws(
            () => feed(new JsonSplitter(roomy), [stream.slice(0, cut), stream.slice(cut)]),
            (err) => assertRpcError(err, Code.InvalidArgument, `unexpected byte ${byte} between JSON values`),
            `split at ${cut}`,
          );
        }
      });
    }

    test("values completed by earlier pushes were returned before the bad byte", () => {
      const splitter = new JsonSplitter(roomy);
      assert.deepEqual(strings(splitter.push(encoder.encode('{"a":1}\n'))), ['{"a":1}']);
      assert.throws(() => push(splitter, encoder.encode("garbage")), RpcError);
    });
  });

  describe("after an error", () => {
    for (const [name, limits, bad] of [
      ["size", { maxMessageBytes: 4, maxDepth: 64 }, "[1,2,3]"],
      ["depth", { maxMessageBytes: 1024, maxDepth: 1 }, "[[]]"],
      ["garbage", roomy, "?"],
    ] as const) {
      test(`every later push throws the same error (${name})`, () => {
        const splitter = new JsonSplitter(limits);
        let first: unknown;
        assert.throws(
          () => push(splitter, encoder.encode(bad)),
          (err) => {
            first = err;
            return err instanceof RpcError;
          },
        );
        for (const chunk of ["{}", "", "  ", "]"]) {
          assert.throws(
            () => push(splitter, encoder.encode(chunk)),
            (err) => err === first,
          );
        }
        assert.equal(splitter.buffered, 0, "nothing is held after the error");
      });
    }
  });
});
