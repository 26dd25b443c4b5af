/**
 * Coverage feedback from V8's precise block coverage, read through `node:inspector` in the same
 * thread (the inspector answers a session of its own thread synchronously). A feature is one
 * block (or function) range of farcall's compiled source (`src/` beside the compiled fuzz/) that ran once;
 * taking the coverage resets V8's counters, so each take says what ran since the last one.
 */
import { Session } from "node:inspector";

interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: { ranges: CoverageRange[] }[];
}

/** Block coverage of the scripts whose URL contains `scope`, as sets of feature keys. */
export class BlockCoverage {
  private readonly session = new Session();
  private readonly seen = new Set<string>();

  /** `scope`: the URL prefix of the scripts that count; default the compiled src/ next to this file's folder. */
  constructor(private readonly scope = new URL("../src/", import.meta.url).href) {}

  private post<T>(method: string, params?: object): T {
    let result: T | undefined;
    let error: Error | null = null;
    this.session.post(method, params, (err, res) => {
      error = err;
      result = res as T;
    });
    if (error !== null) throw error;
    if (result === undefined) throw new Error(`inspector did not answer ${method} synchronously`);
    return result;
  }

  start(): void {
    this.session.connect();
    this.post("Profiler.enable");
    this.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
  }

  stop(): void {
    try {
      this.post("Profiler.stopPreciseCoverage");
      this.post("Profiler.disable");
    } finally {
      this.session.disconnect();
    }
  }

  /** Features covered so far in this process. */
  get size(): number {
    return this.seen.size;
  }

  /**
   * What ran since the last take that was never seen before (counters are reset). With `keep`,
   * the new features are added to those seen.
   */
  takeNew(keep: boolean): number {
    const { result } = this.post<{ result: ScriptCoverage[] }>("Profiler.takePreciseCoverage");
    let fresh = 0;
    for (const script of result) {
      if (!script.url.startsWith(this.scope)) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const key = `${script.scriptId}:${r.startOffset}:${r.endOffset}`;
          if (this.seen.has(key)) continue;
          fresh++;
          if (keep) this.seen.add(key);
        }
      }
    }
    return fresh;
  }
}
