// Small statistics over bounded samples.

/** The median of a few numbers (the middle one, or the mean of the two middle ones). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Latency percentiles in microseconds. */
export interface Percentiles {
  p50Us: number;
  p99Us: number;
  p999Us: number;
}

/** Sub-buckets per power of two: a recorded value is reported within 1/256 of itself. */
const sub = 128;
/** Values up to 2^32 − 1 ns (4.3 s); longer ones count as that. */
const buckets = sub + 25 * sub;

/**
 * Latencies in a log-linear histogram (as HdrHistogram keeps them): fixed memory and no allocation
 * per call. An array of one sample per call held 16 MB in the measuring process, which made V8's
 * young-generation collections there several times slower and the client's CPU per call noisier.
 */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(buckets);
  count = 0;

  record(ns: number): void {
    const v = ns >= 0xffff_ffff ? 0xffff_ffff : ns >>> 0;
    let i = v;
    if (v >= sub) {
      const shift = 31 - Math.clz32(v) - 7;
      i = sub + shift * sub + ((v >>> shift) - sub);
    }
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
  }

  /** The value at the `q` quantile (0..1) by the nearest-rank method: its bucket's midpoint, in ns. */
  quantileNs(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < buckets; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) {
        if (i < sub) return i;
        const width = 2 ** Math.floor((i - sub) / sub);
        return (sub + ((i - sub) % sub)) * width + (width - 1) / 2;
      }
    }
    return Number.NaN;
  }

  percentiles(): Percentiles {
    return {
      p50Us: this.quantileNs(0.5) / 1000,
      p99Us: this.quantileNs(0.99) / 1000,
      p999Us: this.quantileNs(0.999) / 1000,
    };
  }
}

/** `process.cpuUsage()` difference in microseconds (user + system). */
export function cpuDeltaUs(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number {
  return to.user - from.user + (to.system - from.system);
}
