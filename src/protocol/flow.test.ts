import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { announcedWindow, GrantCounter, initialWindowBytes, MessageQueue, SendCredit, windowMessages } from "./flow.js";

/** Resolves to "pending" when `p` has not settled after the current microtasks and one macrotask. */
async function state<T>(p: Promise<T>): Promise<T | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), 10);
  });
  try {
    return await Promise.race([p, pending]);
  } finally {
    clearTimeout(timer);
  }
}

function newQueue() {
  const consumed: number[] = [];
  let cancels = 0;
  const queue = new MessageQueue<string>(
    (bytes) => consumed.push(bytes),
    () => cancels++,
  );
  return { queue, consumed, cancels: () => cancels };
}

describe("MessageQueue", () => {
  test("delivers queued items in order and reports bytes as each is taken", async () => {
    const { queue, consumed } = newQueue();
    queue.push("a", 10);
    queue.push("b", 20);
    queue.push("c", 30);
    assert.equal(queue.buffered, 60);
    assert.deepEqual(consumed, [], "nothing is consumed before next()");
    assert.deepEqual(await queue.next(), { value: "a", done: false });
    assert.deepEqual(consumed, [10]);
    assert.equal(queue.buffered, 50);
    assert.deepEqual(await queue.next(), { value: "b", done: false });
    assert.deepEqual(await queue.next(), { value: "c", done: false });
    assert.deepEqual(consumed, [10, 20, 30]);
    assert.equal(queue.buffered, 0);
  });

  test("a waiting next() gets the next push, which counts as consumed at once", async () => {
    const { queue, consumed } = newQueue();
    const p = queue.next();
    assert.equal(await state(p), "pending");
    queue.push("x", 5);
    assert.deepEqual(await p, { value: "x", done: false });
    assert.deepEqual(consumed, [5]);
    assert.equal(queue.buffered, 0);
  });

  test("keeps order when pushes and takes interleave", async () => {
    const { queue } = newQueue();
    const got: string[] = [];
    const reading = (async () => {
      for await (const item of queue) got.push(item);
    })();
    for (let i = 0; i < 50; i++) {
      queue.push(`m${i}`, 1);
      if (i % 7 === 0) await Promise.resolve();
    }
    queue.end();
    await reading;
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => `m${i}`),
    );
  });

  test("end() delivers what is queued, then done, and stays done", async () => {
    const { queue } = newQueue();
    queue.push("a", 1);
    queue.end();
    assert.equal(queue.closed, true);
    queue.push("late", 1);
    assert.deepEqual(await queue.next(), { value: "a", done: false });
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
  });

  test("end() wakes a waiting next() with done", async () => {
    const { queue } = newQueue();
    const p = queue.next();
    queue.end();
    assert.deepEqual(await p, { value: undefined, done: true });
  });

  test("fail() delivers what is queued, then the error, every time", async () => {
    const { queue } = newQueue();
    const err = new RpcError(Code.Aborted, "gone");
    queue.push("a", 1);
    queue.fail(err);
    assert.equal(queue.closed, true);
    assert.deepEqual(await queue.next(), { value: "a", done: false });
    await assert.rejects(queue.next(), (e) => e === err);
    await assert.rejects(queue.next(), (e) => e === err);
  });

  test("fail() rejects a waiting next()", async () => {
    const { queue } = newQueue();
    const err = new RpcError(Code.Unavailable, "closed");
    const p = queue.next();
    queue.fail(err);
    await assert.rejects(p, (e) => e === err);
  });

  test("the first of end() and fail() wins", async () => {
    const a = newQueue().queue;
    a.end();
    a.fail(new RpcError(Code.Aborted, "late"));
    assert.deepEqual(await a.next(), { value: undefined, done: true });
    const b = newQueue().queue;
    const err = new RpcError(Code.Aborted, "first");
    b.fail(err);
    b.end();
    await assert.rejects(b.next(), (e) => e === err);
  });

  test("a second concurrent next() is refused", async () => {
    const { queue } = newQueue();
    const first = queue.next();
    await assert.rejects(queue.next(), TypeError);
    queue.push("a", 1);
    assert.deepEqual(await first, { value: "a", done: false });
  });

  test("return() drops queued items, calls onCancel once and ends the iteration", async () => {
    const { queue, consumed, cancels } = newQueue();
    queue.push("a", 10);
    queue.push("b", 20);
    assert.deepEqual(await queue.return(), { value: undefined, done: true });
    assert.deepEqual(await queue.return(), { value: undefined, done: true });
    assert.equal(cancels(), 1);
    assert.equal(queue.buffered, 0);
    assert.equal(queue.closed, true);
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
    assert.deepEqual(consumed, [], "dropped items are not reported as consumed");
    queue.push("c", 5);
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
  });

  test("breaking out of for await calls onCancel once", async () => {
    const { queue, cancels } = newQueue();
    queue.push("a", 1);
    queue.push("b", 1);
    for await (const item of queue) {
      assert.equal(item, "a");
      break;
    }
    assert.equal(cancels(), 1);
  });

  test("return() after end() or fail() does not cancel", async () => {
    const ended = newQueue();
    ended.queue.end();
    await ended.queue.return();
    assert.equal(ended.cancels(), 0);
    const failed = newQueue();
    failed.queue.fail(new RpcError(Code.Aborted, "x"));
    await failed.queue.return();
    assert.equal(failed.cancels(), 0);
  });

  // Regression: return() sets `done` but does not wake a next() that is already waiting, so a
  // consumer blocked in next() while another part of the program cancels the stream hangs forever.
  test("return() settles a next() that is already waiting", async () => {
    const { queue, cancels } = newQueue();
    const p = queue.next();
    await queue.return();
    assert.equal(cancels(), 1);
    assert.deepEqual(await state(p), { value: undefined, done: true });
  });
});

describe("SendCredit", () => {
  test("ready() resolves at once while there is credit", async () => {
    const credit = new SendCredit(10);
    assert.equal(credit.available, true);
    assert.equal(await state(credit.ready()), undefined);
  });

  test("one message larger than the window still goes through, then ready() waits for a grant", async () => {
    const credit = new SendCredit(10);
    credit.spend(25);
    assert.equal(credit.credit, -15);
    assert.equal(credit.available, false);
    const ready = credit.ready();
    assert.equal(await state(ready), "pending");
    credit.grant(10);
    assert.equal(await state(ready), "pending", "credit is still -5");
    credit.grant(6);
    assert.equal(credit.credit, 1);
    assert.equal(await state(ready), undefined);
  });

  test("credit of exactly zero is not enough", async () => {
    const credit = new SendCredit(4);
    credit.spend(4);
    assert.equal(credit.available, false);
    assert.equal(await state(credit.ready()), "pending");
  });

  test("a grant wakes every waiter", async () => {
    const credit = new SendCredit(0);
    const waiters = [credit.ready(), credit.ready(), credit.ready()];
    credit.grant(1);
    for (const w of waiters) assert.equal(await state(w), undefined);
  });

  test("release() wakes waiters without credit", async () => {
    const credit = new SendCredit(0);
    const w = credit.ready();
    credit.release();
    assert.equal(await state(w), undefined);
    assert.equal(credit.available, false);
  });
});

describe("GrantCounter", () => {
  test("grants nothing below half a window, then everything consumed so far", () => {
    const counter = new GrantCounter(100);
    assert.equal(counter.take(20), 0);
    assert.equal(counter.take(29), 0);
    assert.equal(counter.take(1), 50);
    assert.equal(counter.take(49), 0);
    assert.equal(counter.take(80), 129);
    assert.equal(counter.take(0), 0);
  });

  test("grants in half-window batches that add up to everything consumed", () => {
    const window = 1000;
    const counter = new GrantCounter(window);
    let consumed = 0;
    let granted = 0;
    let grants = 0;
    for (let i = 0; i < 1000; i++) {
      const bytes = (i * 37) % 90;
      consumed += bytes;
      const g = counter.take(bytes);
      if (g > 0) {
        assert.ok(g >= window / 2, `grant of ${g} is under half a window`);
        granted += g;
        grants++;
      }
      assert.ok(consumed - granted < window / 2, "over half a window left ungranted");
    }
    assert.ok(grants > 0 && grants <= consumed / (window / 2));
  });

  test("one message of a whole window is granted at once", () => {
    assert.equal(new GrantCounter(64).take(64), 64);
  });

  /**
   * A sender that follows §5 (sends while its credit is above zero) and a receiver that consumes
   * everything delivered, `rounds` times; `cost(i)` is the i-th message's cost. Returns the most
   * the sender ever had in flight, from message `from` on.
   */
  function run(window: number, cost: (i: number) => number, messages: number, from = 0): number {
    const counter = new GrantCounter(window);
    let credit = announcedWindow(window);
    let sent = 0;
    let inFlight = 0;
    let most = 0;
    const flight: number[] = [];
    while (sent < messages) {
      while (credit > 0 && sent < messages) {
        const c = cost(sent);
        credit -= c;
        inFlight += c;
        flight.push(c);
        sent++;
        if (sent > from) most = Math.max(most, inFlight);
      }
      assert.ok(flight.length > 0, `the sender is stuck after ${sent} messages with credit ${credit}`);
      for (const c of flight.splice(0)) {
        inFlight -= c;
        credit += counter.take(c);
      }
    }
    return most;
  }

  test("a grant never exceeds what a WINDOW's u32 carries", () => {
    const counter = new GrantCounter(0xffff_ffff);
    assert.equal(counter.take(4 * 1024 * 1024), 0xffff_ffff);
    assert.equal(counter.take(10), 0, "the rest waits for half a window");
  });

  test("a stream of small messages keeps about windowMessages of them in flight, from its start", () => {
    assert.equal(announcedWindow(4 * 1024 * 1024), initialWindowBytes);
    assert.equal(announcedWindow(1_000), 1_000);
    const most = run(4 * 1024 * 1024, () => 17, 200_000);
    assert.ok(most <= initialWindowBytes + 17, `${most} bytes of 17-byte messages in flight`);
    const medium = run(4 * 1024 * 1024, () => 1_000, 20_000, 100);
    assert.ok(medium <= windowMessages * 1_000 + 1_000, `${medium} bytes of 1,000-byte messages in flight`);
    assert.ok(medium >= (windowMessages * 1_000) / 2, `only ${medium} bytes of 1,000-byte messages in flight`);
  });

  test("large messages widen the window to the whole of it after the first one", () => {
    const window = 4 * 1024 * 1024;
    const counter = new GrantCounter(window);
    assert.equal(counter.take(65_546), window - initialWindowBytes + 65_546);
    const most = run(window, () => 65_546, 500, 1);
    assert.ok(most > window - 65_546 && most <= window + 65_546, `${most} bytes in flight`);
  });

  test("sizes that change never leave the sender stuck nor more than a window and a message in flight", () => {
    const window = 1024 * 1024;
    let seed = 7;
    const costs: number[] = [];
    for (let phase = 0; phase < 40; phase++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const size = 10 + (seed % (phase % 2 === 0 ? 64 : 200_000));
      for (let i = 0; i < 500; i++) costs.push(size + (i % 7));
    }
    const biggest = Math.max(...costs);
    const most = run(window, (i) => costs[i] as number, costs.length);
    assert.ok(most <= window + biggest, `${most} bytes in flight`);
  });
});
