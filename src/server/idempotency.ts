// At most once, optionally (docs/cluster.md, "Idempotency keys"): a unary call that carries an
// idempotency key runs once; a later call with the same key, on the same method, gets the first
// call's outcome instead of running the handler again, or waits for it while it runs.
import { Code } from "../core/code.js";
import { idempotencyKeyHeader } from "../core/metadata.js";
import { RpcError } from "../core/rpc-error.js";
import type { ServerCallContext } from "../protocol/call-context.js";

/** Keys are 1–256 printable ASCII characters (a UUID is 36). */
const maxKeyLength = 256;

/** A finished call, as kept for the calls that repeat its key. */
export interface IdempotentOutcome {
  /** A hash of the request's input: a key reused with another input is refused. */
  readonly fingerprint: string;
  readonly output?: unknown;
  readonly error?: { readonly code: Code; readonly message: string; readonly details: readonly unknown[] };
}

/**
 * Where outcomes are kept. The default keeps them in the server's memory (lost when it restarts);
 * a store shared by every replica, or one that survives restarts, makes repeated keys safe across
 * them. `get` and `set` may return promises.
 */
export interface IdempotencyStore {
  get(key: string): IdempotentOutcome | undefined | Promise<IdempotentOutcome | undefined>;
  /** Keeps `outcome` for `ttlMs`; `size` is its estimated size in bytes. */
  set(key: string, outcome: IdempotentOutcome, ttlMs: number, size: number): void | Promise<void>;
}

/** `ServerOptions.idempotency`; every field has a default. */
export interface IdempotencyOptions {
  /** How long an outcome is kept after the call ended. Default 300,000 ms (5 minutes: longer than any client's retries of one call). */
  readonly ttlMs?: number;
  /** Outcomes kept at most (the oldest go first). Default 10,000. */
  readonly maxKeys?: number;
  /** Their estimated size in all, in bytes (the oldest go first). Default 32 MiB (a small share of a server's heap). */
  readonly maxBytes?: number;
  /** An outcome larger than this is not kept; its key is answered `already_exists`. Default 64 KiB (so 32 MiB holds at least 500). */
  readonly maxOutcomeBytes?: number;
  /** Default: in memory, bounded by `maxKeys` and `maxBytes`. */
  readonly store?: IdempotencyStore;
}

/** The default store: a Map in insertion order, which is also age order, bounded in count and bytes. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, { outcome: IdempotentOutcome; expires: number; size: number }>();
  private bytes = 0;

  constructor(
    private readonly maxKeys: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): IdempotentOutcome | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires > Date.now()) return e.outcome;
    this.delete(key);
    return undefined;
  }

  set(key: string, outcome: IdempotentOutcome, ttlMs: number, size: number): void {
    this.delete(key);
    const now = Date.now();
    // Expired first, then the oldest, until the new one fits.
    for (const [k, e] of this.entries) {
      if (e.expires > now && this.entries.size < this.maxKeys && this.bytes + size <= this.maxBytes) break;
      this.delete(k);
    }
    this.entries.set(key, { outcome, expires: now + ttlMs, size });
    this.bytes += size;
  }

  private delete(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.bytes -= e.size;
  }
}

type Run = (input: unknown, ctx: ServerCallContext) => unknown;

/** The calls running now, by key: a repeat waits for the first one. One per server. */
export class IdempotentCalls {
  private readonly running = new Map<string, { fingerprint: string; done: Promise<unknown> }>();
  private readonly ttlMs: number;
  private readonly maxOutcomeBytes: number;
  private readonly maxRunning: number;
  readonly store: IdempotencyStore;

  constructor(options: IdempotencyOptions = {}) {
    this.ttlMs = Math.max(1, options.ttlMs ?? 300_000);
    const maxKeys = Math.max(1, options.maxKeys ?? 10_000);
    this.maxOutcomeBytes = Math.max(0, options.maxOutcomeBytes ?? 64 * 1024);
    // Running calls are bounded too: as many as outcomes may be kept.
    this.maxRunning = maxKeys;
    this.store =
      options.store ?? new MemoryIdempotencyStore(maxKeys, Math.max(0, options.maxBytes ?? 32 * 1024 * 1024));
  }

  /** `run` made to honour the key a call carries; calls without one run as before. */
  wrap(path: string, run: Run): Run {
    return (input, ctx) => {
      const key = ctx.metadata[idempotencyKeyHeader];
      if (key === undefined) return run(input, ctx);
      return this.once(`${path}\n${checkKey(key)}`, fingerprint(input), run, input, ctx);
    };
  }

  private async once(key: string, print: string, run: Run, input: unknown, ctx: ServerCallContext): Promise<unknown> {
    for (;;) {
      const running = this.running.get(key);
      if (running !== undefined) {
        if (running.fingerprint !== print) throw reused();
        await waitFor(running.done, ctx.signal);
        continue; // its outcome is in the store now, or it was dropped (the call was canceled)
      }
      const kept = await this.store.get(key);
      if (kept !== undefined) {
        if (kept.fingerprint !== print) throw reused();
        if (kept.error !== undefined)
          throw new RpcError(kept.error.code, kept.error.message, { details: [...kept.error.details] });
        return kept.output;
      }
      if (this.running.has(key)) continue; // another call took the key while the store answered
      if (this.running.size >= this.maxRunning)
        throw new RpcError(Code.ResourceExhausted, "too many calls with idempotency keys running", {
          safeToRetry: true,
        });
      const done = this.first(key, print, run, input, ctx);
      this.running.set(key, { fingerprint: print, done });
      return done;
    }
  }

  /** Runs the first call of a key and keeps its outcome; a call that ended because it was canceled leaves none. */
  private async first(key: string, print: string, run: Run, input: unknown, ctx: ServerCallContext): Promise<unknown> {
    try {
      let outcome: IdempotentOutcome;
      let result: unknown;
      let failure: unknown;
      try {
        result = await run(input, ctx);
        outcome = { fingerprint: print, output: result };
      } catch (err) {
        failure = err;
        if (ctx.signal.aborted) throw err;
        const e = RpcError.from(err, Code.Internal);
        // What a client would see of an error that is not an RpcError: not its message.
        const message = err instanceof RpcError ? e.rawMessage : "internal error";
        outcome = { fingerprint: print, error: { code: e.code, message, details: e.details } };
      }
      const size = sizeOf(outcome.output ?? outcome.error, this.maxOutcomeBytes);
      const kept: IdempotentOutcome =
        size > this.maxOutcomeBytes
          ? {
              fingerprint: print,
              error: {
                code: Code.AlreadyExists,
                message: "a call with this idempotency key already ran; its outcome was too large to keep",
                details: [],
              },
            }
          : outcome;
      await this.store.set(key, kept, this.ttlMs, Math.min(size, this.maxOutcomeBytes) + key.length + 64);
      if (failure !== undefined) throw failure;
      return result;
    } finally {
      this.running.delete(key);
    }
  }
}

function checkKey(key: string): string {
  if (key.length === 0 || key.length > maxKeyLength || !/^[\x21-\x7e]+$/.test(key))
    throw new RpcError(Code.InvalidArgument, `an idempotency key is 1-${maxKeyLength} printable ASCII characters`);
  return key;
}

function reused(): RpcError {
  return new RpcError(Code.InvalidArgument, "this idempotency key was used with another request");
}

/** Waits for a running call of the same key, or until this call is canceled. */
function waitFor(done: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => reject(RpcError.from(signal.reason ?? new RpcError(Code.Canceled, "call canceled")));
    if (signal.aborted) return aborted();
    signal.addEventListener("abort", aborted, { once: true });
    const settle = () => {
      signal.removeEventListener("abort", aborted);
      resolve();
    };
    done.then(settle, settle);
  });
}

/**
 * A hash of a decoded input (FNV-1a, 2 × 32 bits, over a walk that tags each value's type and
 * sorts no keys: the same client encodes the same request in the same order).
 */
export function fingerprint(value: unknown): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  const mix = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x811c9dc5) ^ (b >>> 15);
    }
  };
  const walk = (v: unknown, depth: number): void => {
    if (depth > 64) return mix("…");
    if (v === null || typeof v !== "object") return mix(`${typeof v}:${String(v)};`);
    if (v instanceof Uint8Array) {
      mix(`u8:${v.length}:`);
      for (let i = 0; i < v.length; i++) a = Math.imul(a ^ (v[i] as number), 0x01000193);
      return;
    }
    if (Array.isArray(v)) {
      mix(`[${v.length}`);
      for (const x of v) walk(x, depth + 1);
      return mix("]");
    }
    mix("{");
    for (const [k, x] of Object.entries(v)) {
      mix(`${k}=`);
      walk(x, depth + 1);
    }
    mix("}");
  };
  walk(value, 0);
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** An estimate of a value's size in bytes, stopping as soon as it passes `limit`. */
export function sizeOf(value: unknown, limit: number): number {
  let n = 0;
  const walk = (v: unknown, depth: number): void => {
    if (n > limit) return;
    if (typeof v === "string") n += 2 * v.length + 8;
    else if (v instanceof Uint8Array) n += v.length + 16;
    else if (v !== null && typeof v === "object" && depth < 64) {
      n += 16;
      if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
      else
        for (const [k, x] of Object.entries(v)) {
          n += 2 * k.length + 8;
          walk(x, depth + 1);
        }
    } else n += 8;
  };
  walk(value, 0);
  return n;
}
