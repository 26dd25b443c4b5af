/** Capacity of a new table; it doubles when half full. */
const initialCapacity = 64;

/**
 * Open calls by u32 id: an open-addressed hash table (linear probing, deletion by shifting later
 * entries back, so there are no tombstones).
 *
 * Not a `Map`: a Map that sees one add and one delete per call rebuilds its storage every few dozen
 * calls, and each discarded copy keeps a link to the copy that replaced it. Once a full GC has moved
 * the current copy to the old generation, every later copy, and every call it holds, survives the
 * young-generation collections until the next full GC, which starts the chain again: a busy
 * connection then moves megabytes per collection to the old generation (add at 64 in flight:
 * ~75 KB → ~2 MB surviving each scavenge, with a full GC every few hundred milliseconds). This table
 * keeps one array of slots and clears a slot when its entry leaves.
 *
 * Slots are picked by multiplying the id by a random odd number (multiply-shift hashing), so a peer
 * that picks the ids cannot make them collide except by chance.
 */
export class IdTable<T> {
  private slotIds!: Uint32Array;
  private slots!: (T | undefined)[];
  private mask = 0;
  private shift = 0;
  private count = 0;

  /**
   * `nextId` is the first id {@link nextFreeId} tries; `multiplier` (odd) is the hash's, random
   * unless given (tests give one to fix the layout). Its top bit is set, so that consecutive ids
   * spread over the table.
   */
  constructor(
    private nextId = 1,
    private readonly multiplier = ((Math.random() * 0x1_0000_0000) | 0x8000_0001) >>> 0,
  ) {
    this.allocate(initialCapacity);
  }

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const slots = this.slots;
    for (let i = this.home(id); ; i = (i + 1) & this.mask) {
      const value = slots[i];
      if (value === undefined || this.slotIds[i] === id) return value;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /**
   * An id for a new entry: counts up from 1, wrapping after 4294967295 back to 1, and skips ids
   * still in the table.
   */
  nextFreeId(): number {
    let id = this.nextId;
    while (this.has(id)) id = id === 0xffff_ffff ? 1 : id + 1;
    this.nextId = id === 0xffff_ffff ? 1 : id + 1;
    return id;
  }

  /** Adds or replaces the entry for `id`, a u32 (other numbers would be stored truncated). */
  set(id: number, value: T): void {
    if ((this.count + 1) * 2 > this.slots.length) this.resize(this.slots.length * 2);
    const slots = this.slots;
    let i = this.home(id);
    while (slots[i] !== undefined && this.slotIds[i] !== id) i = (i + 1) & this.mask;
    if (slots[i] === undefined) this.count++;
    slots[i] = value;
    this.slotIds[i] = id;
  }

  /** Removes the entry for `id`; false if there was none. */
  delete(id: number): boolean {
    const slots = this.slots;
    const ids = this.slotIds;
    const mask = this.mask;
    let hole = this.home(id);
    for (; ; hole = (hole + 1) & mask) {
      const value = slots[hole];
      if (value === undefined) return false;
      if (ids[hole] === id) break;
    }
    slots[hole] = undefined;
    this.count--;
    // Later entries of the same run move back into the hole when their home slot is not after it,
    // so that every entry stays reachable from its home slot without crossing an empty slot.
    for (let j = (hole + 1) & mask; slots[j] !== undefined; j = (j + 1) & mask) {
      const key = ids[j] as number;
      if (((j - this.home(key)) & mask) >= ((j - hole) & mask)) {
        slots[hole] = slots[j];
        ids[hole] = key;
        slots[j] = undefined;
        hole = j;
      }
    }
    return true;
  }

  /** The entries, in no particular order (a copy: the table may change while it is walked). */
  values(): T[] {
    const out: T[] = [];
    for (const value of this.slots) if (value !== undefined) out.push(value);
    return out;
  }

  /** The ids, in no particular order (a copy). */
  keys(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i] !== undefined) out.push(this.slotIds[i] as number);
    return out;
  }

  clear(): void {
    this.allocate(initialCapacity);
  }

  private home(id: number): number {
    return Math.imul(id, this.multiplier) >>> this.shift;
  }

  private allocate(capacity: number): void {
    this.slotIds = new Uint32Array(capacity);
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    this.count = 0;
  }

  private resize(capacity: number): void {
    const oldIds = this.slotIds;
    const oldSlots = this.slots;
    this.allocate(capacity);
    for (let i = 0; i < oldSlots.length; i++) {
      const value = oldSlots[i];
      if (value !== undefined) this.set(oldIds[i] as number, value);
    }
  }
}
