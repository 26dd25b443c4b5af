// The calls a minimal bench client is waiting on, by request id: a fixed array indexed by the
// id's low bits. Not a Map: one add and one delete per call make V8 rebuild a Map's storage every
// few dozen calls, and a full GC then leaves every later copy, with the calls it holds, surviving
// young collections (see src/protocol/id-table.ts). Ids count up, and the bench keeps at most 64
// calls in flight on a connection, so two open calls never share a slot.

import type net from "node:net";

const slots = 4096;

export interface PendingCall {
  resolve(value: never): void;
  reject(err: Error): void;
}

export class PendingCalls<T extends PendingCall> {
  private readonly ids = new Float64Array(slots);
  private readonly calls: (T | undefined)[] = new Array<T | undefined>(slots).fill(undefined);

  add(id: number, call: T): void {
    const i = id & (slots - 1);
    if (this.calls[i] !== undefined) throw new Error(`more than ${slots} calls in flight`);
    this.calls[i] = call;
    this.ids[i] = id;
  }

  /** Removes and returns the call waiting on `id`. */
  take(id: number): T | undefined {
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
