// `npm run bench -- --profile <cell>`: CPU profiles of both sides of one cell, one system at a
// time, written to bench/results/profiles/ (open them in Chrome DevTools or speedscope). The
// server child runs with --cpu-prof; the measuring process profiles itself through the inspector.

import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

/** Node's CPU profile, as much of it as the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export const profileDir = new URL("../../bench/results/profiles/", import.meta.url);

/** The node flags that make a server child write its profile into {@link profileDir} on exit. */
export function serverProfileFlags(name: string): string[] {
  return ["--cpu-prof", `--cpu-prof-dir=${profileDir.pathname}`, `--cpu-prof-name=${name}.cpuprofile`];
}

/** Profiles this process until the returned function is called with the file name to write. */
export async function profileThisProcess(): Promise<(name: string) => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async (name) => {
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: CpuProfile };
    session.disconnect();
    writeFileSync(new URL(`${name}.cpuprofile`, profileDir), JSON.stringify(profile));
    return profile;
  };
}

/** The `top` functions by self time, as lines `  12.3%  name  file:line`. */
export function topFunctions(profile: CpuProfile, top = 12): string[] {
  const byNode = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || "(anonymous)"}  ${url.split("/").pop() || "(native)"}:${lineNumber + 1}`;
    const t = byNode.get(node.id) ?? 0;
    self.set(key, (self.get(key) ?? 0) + t);
    total += t;
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, t]) => `  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${key}`);
}
