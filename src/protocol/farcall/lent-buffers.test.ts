import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LentBuffers } from "./lent-buffers.js";

describe("LentBuffers", () => {
  test("a buffer comes back only after the consumer takes the message after its own", () => {
    const lent = new LentBuffers();
    const a = lent.take(100);
    lent.arrived(a);
    const b = lent.take(100);
    lent.arrived(b);
    assert.notEqual(a.buffer, b.buffer);
    lent.taken(); // the consumer holds a
    const c = lent.take(100);
    assert.notEqual(c.buffer, a.buffer, "a is still held");
    assert.notEqual(c.buffer, b.buffer, "b is not taken yet");
    lent.arrived(c);
    lent.taken(); // the consumer moved on to b: a is free
    assert.equal(lent.take(100).buffer, a.buffer);
  });

  test("a free buffer serves any length up to its own, as a view of exactly that length", () => {
    const lent = new LentBuffers();
    const a = lent.take(100);
    lent.arrived(a);
    lent.taken();
    lent.arrived(lent.take(10));
    lent.taken(); // a is free
    const small = lent.take(60);
    assert.equal(small.buffer, a.buffer);
    assert.equal(small.length, 60);
    lent.arrived(small);
    lent.taken();
    lent.arrived(lent.take(10));
    lent.taken(); // a is free again, but too small for 101
    assert.notEqual(lent.take(101).buffer, a.buffer);
  });

  test("messages whose body is not one of its buffers keep the order", () => {
    const lent = new LentBuffers();
    const a = lent.take(100);
    lent.arrived(a);
    lent.arrived(new Uint8Array(5)); // a small body, copied elsewhere
    lent.taken(); // holds a
    lent.taken(); // holds the small one: a is free
    assert.equal(lent.take(100).buffer, a.buffer);
  });

  test("a buffer taken for a body that never arrived is not handed out twice", () => {
    const lent = new LentBuffers();
    const lost = lent.take(100); // its frame failed before it became a message
    const a = lent.take(100);
    lent.arrived(a);
    lent.taken();
    assert.notEqual(lent.take(100).buffer, lost.buffer);
  });
});
