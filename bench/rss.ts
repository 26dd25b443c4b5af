// Peak RSS of this process, sampled every 20 ms. process.resourceUsage().maxRSS is not used for
// the figures: on Linux a child's maxRSS starts at its parent's RSS at fork time (the kernel keeps
// it across exec), so every child of the measuring process would report at least its size.

const peak = { bytes: process.memoryUsage.rss() };
setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > peak.bytes) peak.bytes = rss;
}, 20).unref();

/** The highest RSS seen so far, in MiB, including now. */
export function peakRssMiB(): number {
  peak.bytes = Math.max(peak.bytes, process.memoryUsage.rss());
  return peak.bytes / 2 ** 20;
}
