// The calls a minimal bench client is waiting on, by request id: a fixed array indexed by the
// id's low bits. Not a Map: one add and one delete per call make V8 rebuild a Map's storage every
// few dozen calls, and a full GC then leaves every later copy, with the calls it holds, surviving
// young collections (see src/protocol/id-table.ts). Ids count up and the bench keeps at most 64
// calls in flight on a connection; 4096 slots leave room for one slow call to be overtaken by
// thousands of later ones before its slot comes round again.

import type net from "node:net";

const slots = 4096;

interface Pending<V> {
  resolve(value: V): void;
  reject(err: Error): void;
}

/** Calls waiting for a reply of type `V`. */
export class PendingCalls<V> {
  private readonly ids = new Float64Array(slots);
  private readonly calls: (Pending<V> | undefined)[] = new Array<Pending<V> | undefined>(slots).fill(undefined);

  add(id: number, call: Pending<V>): void {
    const i = id & (slots - 1);
    if (this.calls[i] !== undefined)
      throw new Error(`call ${id} would share a slot with call ${this.ids[i]}, still open`);
    this.calls[i] = call;
    this.ids[i] = id;
  }

  /** Removes and returns the call waiting on `id`. */
  take(id: number): Pending<V> | undefined {
    const i = id & (slots - 1);
    const call = this.calls[i];
    if (call === undefined || this.ids[i] !== id) return undefined;
    this.calls[i] = undefined;
    return call;
  }

  /** Fails every waiting call when `socket` errs or closes. */
  failWith(socket: net.Socket): void {
    const fail = (err?: Error) => this.rejectAll(err ?? new Error("connection closed"));
    socket.on("error", fail);
    socket.on("close", () => fail());
  }

  private rejectAll(err: Error): void {
    for (let i = 0; i < slots; i++) {
      const call = this.calls[i];
      this.calls[i] = undefined;
      call?.reject(err);
    }
  }
}
