/** An object a {@link SlotSet} can hold: the set keeps its position in it (-1 when not in one). */
export interface Slotted {
  slot: number;
}

/**
 * A set of objects with O(1) add and delete, for calls that join and leave at a high rate. Each
 * member records its index in one array; a deleted member's place is taken by the last one.
 * Not a `Set`, for the reason given at `IdTable`: a Set with an add and a delete per call keeps
 * every discarded copy of its storage linked to the next, which keeps short-lived calls alive
 * until a full GC.
 */
export class SlotSet<T extends Slotted> {
  private members: T[] = [];

  get size(): number {
    return this.members.length;
  }

  add(member: T): void {
    if (this.has(member)) return;
    member.slot = this.members.length;
    this.members.push(member);
  }

  has(member: T): boolean {
    return member.slot >= 0 && this.members[member.slot] === member;
  }

  /** Removes `member`; false if it was not in the set. */
  delete(member: T): boolean {
    if (!this.has(member)) return false;
    const last = this.members.pop() as T;
    if (last !== member) {
      this.members[member.slot] = last;
      last.slot = member.slot;
    }
    member.slot = -1;
    return true;
  }

  /** The members, in no particular order (a copy: the set may change while it is walked). */
  values(): T[] {
    return this.members.slice();
  }
}
