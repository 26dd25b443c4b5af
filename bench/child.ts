// Child processes of the benchmark: forked compiled bench files talking over IPC. Every child is
// remembered until it exits and killed by PID when this process exits, however it exits.

import { type ChildProcess, fork } from "node:child_process";

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** A message from a child: `ready` once, then replies carrying the id of the request. */
export interface ChildMessage {
  type: string;
  id?: number;
  [key: string]: unknown;
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export class Child {
  private nextId = 0;
  private readonly waiting = new Map<number, (message: ChildMessage) => void>();
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly process: ChildProcess,
    readonly name: string,
  ) {
    this.exited = new Promise((resolve) => process.once("exit", (code) => resolve(code)));
    process.on("message", (message: ChildMessage) => {
      if (message.id === undefined) return;
      const resolve = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      resolve?.(message);
    });
  }

  /**
   * Forks `dist/bench/<script>` with `args` (and node flags `execArgv`) and waits for its first
   * `readyType` message.
   */
  static async start(
    script: string,
    args: string[],
    {
      readyType = "ready",
      timeoutMs = 15_000,
      execArgv = [],
    }: { readyType?: string; timeoutMs?: number; execArgv?: string[] } = {},
  ): Promise<[Child, ChildMessage]> {
    const path = new URL(script, import.meta.url).pathname;
    const proc = fork(path, args, { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv });
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    const child = new Child(proc, `${script} ${args.join(" ")}`);
    const ready = new Promise<ChildMessage>((resolve, reject) => {
      proc.once("exit", (code, signal) =>
        reject(new Error(`${child.name} exited (code ${code}, signal ${signal}) before sending ${readyType}`)),
      );
      proc.on("message", (message: ChildMessage) => {
        if (message.type === readyType) resolve(message);
      });
    });
    return [child, await timeout(ready, timeoutMs, `waiting for ${readyType} from ${child.name}`)];
  }

  /** Sends `message` with a fresh id and resolves with the child's reply to it. */
  request(message: ChildMessage, timeoutMs = 10_000): Promise<ChildMessage> {
    const id = ++this.nextId;
    const reply = new Promise<ChildMessage>((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.exited.then((code) => reject(new Error(`${this.name} exited with ${code}`)));
      this.process.send({ ...message, id });
    });
    return timeout(reply, timeoutMs, `${this.name}: ${message.type}`);
  }

  /** Asks the child to stop, and kills it by PID if it has not exited within `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    // The child may have closed its channel as it exited, after `connected` was read: the send
    // then fails with EPIPE, which goes to the callback instead of crashing the run.
    if (this.process.connected) this.process.send({ type: "stop" }, () => {});
    try {
      await timeout(this.exited, graceMs, `stopping ${this.name}`);
    } catch {
      this.process.kill("SIGKILL");
      await this.exited;
    }
  }
}
