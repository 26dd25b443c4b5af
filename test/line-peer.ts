// A raw TCP peer for protocols whose answers are lines (JSON-RPC over TCP ends each with "\n").
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { sleep } from "./fixtures.js";

/** A JSON-RPC 2.0 error object as the tests read it. */
export interface RpcErr {
  code: number;
  message: string;
  data: { code: string };
}

/** A parsed answer line. */
type JsonReply = Record<string, unknown> & { error?: RpcErr };

export class LinePeer {
  /** Everything received, as text. */
  text = "";
  readonly lines: string[] = [];
  /** The server sent FIN. */
  ended = false;
  closed = false;
  closedAt = 0;
  readonly openedAt = Date.now();
  private rest = "";
  private readonly wakers = new Set<() => void>();

  private constructor(
    readonly socket: Socket,
    encoding: BufferEncoding,
  ) {
    socket.setEncoding(encoding);
    socket.on("data", (chunk: string) => {
      this.text += chunk;
      this.rest += chunk;
      for (let nl = this.rest.indexOf("\n"); nl >= 0; nl = this.rest.indexOf("\n")) {
        this.lines.push(this.rest.slice(0, nl));
        this.rest = this.rest.slice(nl + 1);
      }
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.wake();
    });
  }

  /** Connects to a loopback port; the socket is destroyed by `cleanups` after the test. */
  static open(port: number, cleanups: (() => unknown)[], encoding: BufferEncoding = "utf8"): Promise<LinePeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, noDelay: true });
      const peer = new LinePeer(socket, encoding);
      cleanups.push(() => socket.destroy());
      socket.once("connect", () => resolve(peer));
      socket.once("error", reject);
    });
  }

  /** Writes and waits until the bytes were handed to the kernel. */
  send(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve) => this.socket.write(data, () => resolve()));
  }

  /** The next answer line, as sent. */
  async line(timeoutMs = 2_000): Promise<string> {
    await this.waitUntil(() => this.lines.length > 0, timeoutMs, "an answer line");
    return this.lines.shift() as string;
  }

  /** The next line, parsed as JSON. */
  async json(timeoutMs = 2_000): Promise<JsonReply> {
    return JSON.parse(await this.line(timeoutMs));
  }

  /** What arrived after the last newline. */
  get unfinished(): string {
    return this.rest;
  }

  /** Sends raw bytes (latin1) and resolves with everything received until the server closes. */
  static async exchange(port: number, text: string, cleanups: (() => unknown)[], timeoutMs = 3_000): Promise<string> {
    const peer = await LinePeer.open(port, cleanups, "latin1");
    await peer.send(text);
    await peer.whenClosed(timeoutMs);
    return peer.text;
  }

  /** Sends a text and returns the next line as sent. */
  async askLine(text: string): Promise<string> {
    await this.send(text);
    return this.line();
  }

  /** Sends a text and parses the next line. */
  async askJson(text: string): Promise<JsonReply> {
    await this.send(text);
    return this.json();
  }

  whenClosed(timeoutMs = 2_000): Promise<void> {
    return this.waitUntil(() => this.closed, timeoutMs, "the connection to close");
  }

  /** Asserts no answer line arrives within `ms`. */
  async silentFor(ms: number): Promise<void> {
    await sleep(ms);
    assert.deepEqual(this.lines, [], "no answer expected");
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Resolves once `ready()` holds; fails when the connection closes first or `timeoutMs` passes. */
  waitUntil(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.wakers.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (ready()) finish();
        else if (this.closed) finish(new Error(`closed while waiting for ${what}; got ${JSON.stringify(this.text)}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.text.slice(0, 500))}`)),
        timeoutMs,
      );
      this.wakers.add(check);
    });
  }
}
