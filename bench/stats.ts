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

/** The `q` quantile (0..1) of ascending `sorted` by the nearest-rank method. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

/** Latency percentiles in microseconds, from nanosecond samples (sorted in place). */
export interface Percentiles {
  p50Us: number;
  p99Us: number;
  p999Us: number;
}

export function percentiles(samplesNs: Float64Array): Percentiles {
  samplesNs.sort();
  return {
    p50Us: quantile(samplesNs, 0.5) / 1000,
    p99Us: quantile(samplesNs, 0.99) / 1000,
    p999Us: quantile(samplesNs, 0.999) / 1000,
  };
}

/** `process.cpuUsage()` difference in microseconds (user + system). */
export function cpuDeltaUs(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number {
  return to.user - from.user + (to.system - from.system);
}
