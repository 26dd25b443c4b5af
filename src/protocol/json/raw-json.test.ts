import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { arraySpans, rawElements, rawMember } from "./raw-json.js";

describe("rawMember", () => {
  test("a number is returned as spelled, beyond what a double holds", () => {
    const text = '{"jsonrpc":"2.0","method":"m","id":12345678901234567890}';
    assert.equal(rawMember(text, "id"), "12345678901234567890");
    assert.notEqual(String(JSON.parse(text).id), "12345678901234567890", "JSON.parse rounds it");
  });

  for (const id of ["1e3", "-0", "1.50", "-12.5E-3", '"abc"', '"a\\"b"', '"a\\\\"', '"é ✓ 😀"', "null", "0"]) {
    test(`id ${id} comes back unchanged, wherever the member stands`, () => {
      for (const text of [`{"id":${id}}`, `{"id":${id},"method":"m"}`, `{"method":"m","id":${id},"x":[]}`]) {
        assert.equal(rawMember(text, "id"), id, text);
      }
    });
  }

  test("objects, arrays and strings as values come back with their inner spacing", () => {
    const text = '{"params": { "a" : [1, 2 ,{"b":"}"}] } , "list":[ [ ], {} ],"s":"x , y"}';
    assert.equal(rawMember(text, "params"), '{ "a" : [1, 2 ,{"b":"}"}] }');
    assert.equal(rawMember(text, "list"), "[ [ ], {} ]");
    assert.equal(rawMember(text, "s"), '"x , y"');
  });

  test("members named like the key inside nested values do not match", () => {
    const text =
      '{"params":{"id":1,"x":{"id":2}},"list":[{"id":3},["id",4]],"s":"\\"id\\":5","t":"{\\"id\\":6}","id":7}';
    assert.equal(rawMember(text, "id"), "7");
    const withoutId = '{"params":{"id":1},"list":[{"id":3}],"s":"\\"id\\":5","k":"id"}';
    assert.equal(rawMember(withoutId, "id"), undefined);
    assert.equal(JSON.parse(withoutId).id, undefined);
  });

  test("a string value equal to the key is not a key", () => {
    assert.equal(rawMember('{"a":"id","b":"id"}', "id"), undefined);
    assert.equal(rawMember('{"a":"id","id":"a"}', "id"), '"a"');
  });

  test("whitespace anywhere around keys, colons, values and commas", () => {
    const text = ' \r\n\t{ \n "a" : 1 ,\r\n\t"id"\t:\r\n 42 \n ,  "z" :true\n}\n ';
    assert.equal(rawMember(text, "id"), "42");
    assert.equal(rawMember(text, "a"), "1");
    assert.equal(rawMember(text, "z"), "true");
    assert.equal(rawMember('{ "id" : "x" }', "id"), '"x"');
    assert.equal(rawMember('{"id":[1 ,2 ]  }', "id"), "[1 ,2 ]");
  });

  test("keys are compared after decoding their escapes", () => {
    assert.equal(rawMember('{"\\u0069d":5}', "id"), "5");
    assert.equal(rawMember('{"\\u0069\\u0064":"v"}', "id"), '"v"');
    assert.equal(rawMember('{"i\\\\d":1}', "id"), undefined, "the key is i\\d");
    assert.equal(rawMember('{"i\\\\d":1}', "i\\d"), "1");
    assert.equal(rawMember('{"\\"id\\"":1}', '"id"'), "1");
    assert.equal(rawMember('{"\\"id\\"":1}', "id"), undefined);
    assert.equal(rawMember('{"\\/":2}', "/"), "2");
  });

  test("a repeated key gives the last member, as JSON.parse does", () => {
    const text = '{"id":1,"method":"m","id":"two","x":{"id":3}}';
    assert.equal(rawMember(text, "id"), '"two"');
    assert.equal(JSON.parse(rawMember(text, "id") as string), JSON.parse(text).id);
    assert.equal(rawMember('{"\\u0069d":1,"id":2,"i\\u0064":3}', "id"), "3");
  });

  test("an absent key, an empty object and texts that are not objects give undefined", () => {
    assert.equal(rawMember('{"method":"m"}', "id"), undefined);
    assert.equal(rawMember("{}", "id"), undefined);
    assert.equal(rawMember(" { \n } ", "id"), undefined);
    assert.equal(rawMember('[{"id":1}]', "id"), undefined);
    assert.equal(rawMember('"id"', "id"), undefined);
    assert.equal(rawMember("12", "id"), undefined);
  });

  test("agrees with JSON.parse on every member of assorted objects", () => {
    const texts = [
      '{"a":1,"b":[1,{"c":"]"}],"c":{"d":{"e":null}},"d":"\\\\","e":false,"f":-1.5e10}',
      '{ "x" : "\\"}" , "y" : [ "\\\\" , "\\"" ] , "\\u0078y" : { } }',
      '{"😀":"😀","é":{"é":"é"}}',
    ];
    for (const text of texts) {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      for (const [key, value] of Object.entries(parsed)) {
        const raw = rawMember(text, key);
        assert.ok(raw !== undefined, `${key} in ${text}`);
        assert.equal(raw, raw.trim(), "no surrounding whitespace");
        assert.deepEqual(JSON.parse(raw), value, `${key} in ${text}`);
      }
    }
  });

  test("a malformed text throws a SyntaxError rather than looping", () => {
    for (const text of ['{"id"', '{"id":', '{"id":1', '{"id" 1}', '{"id":"x', "{id:1}"]) {
      assert.throws(() => rawMember(text, "id"), SyntaxError, text);
    }
  });
});

describe("rawElements", () => {
  test("each element as spelled, without the whitespace around it", () => {
    const text = '[1, "two" , {"a":[3]} ,[ [ ] ],\n null,12345678901234567890 , -1.0e+2,true,"\\""]';
    assert.deepEqual(rawElements(text), [
      "1",
      '"two"',
      '{"a":[3]}',
      "[ [ ] ]",
      "null",
      "12345678901234567890",
      "-1.0e+2",
      "true",
      '"\\""',
    ]);
  });

  test("nested arrays are single elements", () => {
    assert.deepEqual(rawElements("[[1,[2]],[],[[[]]]]"), ["[1,[2]]", "[]", "[[[]]]"]);
    assert.deepEqual(rawElements("[[]]"), ["[]"]);
  });

  test("an empty array has no elements", () => {
    assert.deepEqual(rawElements("[]"), []);
    assert.deepEqual(rawElements(" [ \n\t ] "), []);
  });

  test("commas and brackets inside strings do not split elements", () => {
    assert.deepEqual(rawElements('["a,]b", "\\"],[", "\\\\", {"k":"},"}]'), [
      '"a,]b"',
      '"\\"],["',
      '"\\\\"',
      '{"k":"},"}',
    ]);
  });

  test("a batch: elements and then their ids", () => {
    const text = '[{"jsonrpc":"2.0","method":"a","id":9007199254740993},\n{"jsonrpc":"2.0","method":"b"}, 5]';
    const elements = rawElements(text);
    assert.deepEqual(
      elements.map((e) => rawMember(e, "id")),
      ["9007199254740993", undefined, undefined],
    );
  });

  test("agrees with JSON.parse on assorted arrays", () => {
    for (const text of ['[{"a":[1,"]"]},"\\u005d",[[],{}],0.5,"😀"]', "[ 1 ,2,\n3 ]", '["x"]']) {
      const parsed = JSON.parse(text) as unknown[];
      const raw = rawElements(text);
      assert.equal(raw.length, parsed.length, text);
      raw.forEach((r, i) => {
        assert.deepEqual(JSON.parse(r), parsed[i], `${i} in ${text}`);
      });
    }
  });

  test("a text that is not an array throws TypeError", () => {
    for (const text of ['{"a":1}', '"[]"', "1", ""]) assert.throws(() => rawElements(text), TypeError, text);
  });

  test("a malformed array throws a SyntaxError rather than looping", () => {
    for (const text of ["[1", "[1,", "[1 2]", '["a]', "[{]"]) {
      assert.throws(() => rawElements(text), SyntaxError, text);
    }
  });
});

describe("arraySpans", () => {
  /** The element texts the spans mark. */
  const texts = (text: string, max = 1_000) => {
    const spans = arraySpans(text, max);
    assert.ok(spans !== undefined, text);
    return Array.from({ length: spans.length / 2 }, (_, i) => text.slice(spans[2 * i], spans[2 * i + 1]));
  };

  test("agrees with rawElements on every array its tests use, and with JSON.parse on the count", () => {
    for (const text of [
      '[1, "two" , {"a":[3]} ,[ [ ] ],\n null,12345678901234567890 , -1.0e+2,true,"\\""]',
      "[[1,[2]],[],[[[]]]]",
      "[[]]",
      "[]",
      " [ \n\t ] ",
      '["a,]b", "\\"],[", "\\\\", {"k":"},"}]',
      '[{"a":[1,"]"]},"\\u005d",[[],{}],0.5,"😀"]',
      "[ 1 ,2,\n3 ]",
      '["x"]',
    ]) {
      assert.deepEqual(texts(text), rawElements(text), text);
      assert.equal(texts(text).length, (JSON.parse(text) as unknown[]).length, text);
    }
  });

  test("exactly max elements pass; one more gives undefined", () => {
    for (const max of [1, 2, 5, 1_000]) {
      const elements = Array.from({ length: max }, (_, i) => `{"id":${i}}`);
      assert.equal(texts(`[${elements.join(", ")}]`, max).length, max);
      assert.equal(arraySpans(`[${[...elements, "0"].join(",")}]`, max), undefined, `max ${max}`);
    }
  });

  // The point of the scan: an over-long array is refused from its first max + 1 elements, so
  // whatever follows them, malformed or not, is never read.
  test("an over-long array is refused before its malformed tail is reached", () => {
    assert.equal(arraySpans(`[${"1,".repeat(11)} nope, "unterminated`, 10), undefined);
    assert.equal(arraySpans(`[${"{},".repeat(200_000)}{}]`, 1_000), undefined);
  });

  test("malformed texts end the scan without throwing", () => {
    for (const text of ["[", "[1", "[1,", '["a', '["a\\', "[{]", "[}", "[1 2]", "[,,]", "[]]]", "[[[[", '["\\"]']) {
      assert.doesNotThrow(() => arraySpans(text, 3), text);
    }
    assert.equal(arraySpans("[,,,,,,,,1]", 3)?.length, 2, "empty slots are not elements");
  });
});
