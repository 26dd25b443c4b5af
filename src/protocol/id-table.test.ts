import assert from "node:assert/strict";
import { describe, test } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import { IdTable } from "./id-table.js";
import { SlotSet } from "./slot-set.js";

/** A small deterministic PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function checkAgainst(table: IdTable<string>, model: Map<number, string>): void {
  assert.equal(table.size, model.size);
  for (const [id, value] of model) assert.equal(table.get(id), value, `id ${id}`);
  assert.deepEqual(
    table.keys().sort((a, b) => a - b),
    [...model.keys()].sort((a, b) => a - b),
  );
  assert.deepEqual(table.values().sort(), [...model.values()].sort());
}

/** Old-generation bytes gained while `work` runs after a full GC (objects promoted by young GCs). */
function promotedDuring(work: () => void): number {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space")?.space_used_size ?? 0;
  gc();
  const before = oldSpace();
  work();
  return oldSpace() - before;
}

/** A fixed hash multiplier, so that a failure shows the same table layout when run again. */
const multiplier = 0x9e37_79b1;

describe("IdTable", () => {
  for (const [name, range] of [
    ["ids from a small range (many collisions)", 300],
    ["ids from the whole u32 range", 0x1_0000_0000],
  ] as const) {
    test(`matches a Map under random adds, replaces and deletes: ${name}`, () => {
      const random = prng(range);
      const table = new IdTable<string>(1, multiplier);
      const model = new Map<number, string>();
      for (let step = 0; step < 20_000; step++) {
        const id = Math.floor(random() * range);
        const r = random();
        if (r < 0.5) {
          table.set(id, `v${step}`);
          model.set(id, `v${step}`);
        } else {
          assert.equal(table.delete(id), model.delete(id), `delete ${id} at step ${step}`);
        }
        assert.equal(table.get(id), model.get(id));
        assert.equal(table.has(id), model.has(id));
        if (step % 97 === 0) checkAgainst(table, model);
      }
      checkAgainst(table, model);
      for (const id of [...model.keys()]) assert.equal(table.delete(id), true);
      assert.equal(table.size, 0);
      assert.deepEqual(table.values(), []);
    });
  }

  test("a deletion moves back entries whose run wraps past the end of the slots", () => {
    // Five ids that all hash to the last slot of a new table (64 slots): they fill slots 63, 0, 1,
    // 2, 3. Deleting any one must leave the others reachable from slot 63.
    const home = (id: number) => Math.imul(id, multiplier) >>> 26;
    const ids: number[] = [];
    for (let id = 1; ids.length < 5; id++) if (home(id) === 63) ids.push(id);
    for (let gone = 0; gone < ids.length; gone++) {
      const table = new IdTable<number>(1, multiplier);
      for (const id of ids) table.set(id, id);
      assert.equal(table.delete(ids[gone] as number), true);
      for (const id of ids)
        assert.equal(table.get(id), id === ids[gone] ? undefined : id, `id ${id} after deleting ${ids[gone]}`);
      assert.equal(table.size, 4);
    }
  });

  test("grows past its first capacity and finds every entry", () => {
    const table = new IdTable<number>();
    for (let id = 1; id <= 10_000; id++) table.set(id * 64, id);
    assert.equal(table.size, 10_000);
    for (let id = 1; id <= 10_000; id++) assert.equal(table.get(id * 64), id);
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.get(64), undefined);
  });

  test("finds nothing for ids that are not u32 integers", () => {
    const table = new IdTable<string>();
    table.set(1, "one");
    table.set(0xffff_ffff, "max");
    for (const id of [1.5, -1, 0x1_0000_0001, Number.NaN, 2 ** 53]) assert.equal(table.get(id), undefined, `${id}`);
    assert.equal(table.get(0xffff_ffff), "max");
  });

  test("nextFreeId counts up from 1, skips ids in use, and wraps after 4294967295 to 1", () => {
    const table = new IdTable<string>();
    assert.equal(table.nextFreeId(), 1);
    table.set(2, "x");
    table.set(3, "y");
    assert.equal(table.nextFreeId(), 4);
    const high = new IdTable<string>(0xffff_fffe);
    high.set(1, "open");
    assert.equal(high.nextFreeId(), 0xffff_fffe);
    assert.equal(high.nextFreeId(), 0xffff_ffff);
    assert.equal(high.nextFreeId(), 2, "0 is never used and 1 is still open");
  });

  test("a busy table keeps short-lived entries out of the old generation", () => {
    // One add and one delete per call, 64 open, as a connection at 64 in flight: with a Map in
    // place of the table this promotes ~10 MB here (each discarded copy links to the next).
    const table = new IdTable<{ id: number; payload: number[] }>();
    const promoted = promotedDuring(() => {
      for (let id = 1; id <= 300_000; id++) {
        table.set(id, { id, payload: [id, id + 1, id + 2, id + 3, id + 4, id + 5, id + 6, id + 7] });
        if (id > 64) table.delete(id - 64);
      }
    });
    assert.equal(table.size, 64);
    assert.ok(promoted < 1_000_000, `old generation grew by ${promoted} bytes`);
  });
});

interface Member {
  slot: number;
  name: string;
}

describe("SlotSet", () => {
  test("adds, finds and deletes members, moving the last into a freed place", () => {
    const set = new SlotSet<Member>();
    const [a, b, c] = ["a", "b", "c"].map((name) => ({ slot: -1, name })) as [Member, Member, Member];
    set.add(a);
    set.add(b);
    set.add(c);
    set.add(a);
    assert.equal(set.size, 3, "adding a member twice keeps one");
    assert.equal(set.delete(a), true);
    assert.equal(a.slot, -1);
    assert.equal(set.has(a), false);
    assert.equal(set.delete(a), false);
    assert.equal(set.has(b), true);
    assert.equal(set.has(c), true);
    assert.deepEqual(
      set
        .values()
        .map((m) => m.name)
        .sort(),
      ["b", "c"],
    );
    assert.equal(set.delete(c), true);
    assert.equal(set.delete(b), true);
    assert.equal(set.size, 0);
  });

  test("a member of another set is not a member of this one", () => {
    const one = new SlotSet<Member>();
    const two = new SlotSet<Member>();
    const a = { slot: -1, name: "a" };
    const b = { slot: -1, name: "b" };
    one.add(a);
    two.add(b);
    assert.equal(two.has(a), false);
    assert.equal(two.delete(a), false);
    assert.equal(one.size, 1);
    assert.equal(two.size, 1);
  });

  test("matches a Set under random adds and deletes", () => {
    const random = prng(7);
    const members = Array.from({ length: 50 }, (_, i) => ({ slot: -1, name: `m${i}` }));
    const set = new SlotSet<Member>();
    const model = new Set<Member>();
    for (let step = 0; step < 10_000; step++) {
      const m = members[Math.floor(random() * members.length)] as Member;
      if (random() < 0.5) {
        set.add(m);
        model.add(m);
      } else assert.equal(set.delete(m), model.delete(m));
      assert.equal(set.size, model.size);
    }
    for (const m of members) assert.equal(set.has(m), model.has(m));
  });

  test("a busy set keeps short-lived members out of the old generation", () => {
    const set = new SlotSet<Member & { payload: number[] }>();
    const open: (Member & { payload: number[] })[] = [];
    const promoted = promotedDuring(() => {
      for (let i = 0; i < 300_000; i++) {
        const m = { slot: -1, name: "", payload: [i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7] };
        set.add(m);
        open.push(m);
        if (open.length > 64) set.delete(open.shift() as Member & { payload: number[] });
      }
    });
    assert.equal(set.size, 64);
    assert.ok(promoted < 1_000_000, `old generation grew by ${promoted} bytes`);
  });
});
