import assert from "node:assert/strict";
import { afterEach } from "node:test";
import { setImmediate as tick } from "node:timers/promises";

/** Resource kinds that must not outlive a test. */
const tracked = new Set(["TCPServerWrap", "TCPSocketWrap", "PipeServerWrap", "PipeWrap", "Timeout", "Immediate"]);

function count(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (tracked.has(r)) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** What was open when the test file loaded (the runner's own stdio pipes, for one). */
const baseline = count();

function open(): string[] {
  const left: string[] = [];
  for (const [kind, n] of count()) {
    for (let i = baseline.get(kind) ?? 0; i < n; i++) left.push(kind);
  }
  return left;
}

/**
 * Asserts that no sockets, servers or timers are left open. Handles close asynchronously, so it
 * polls for up to `waitMs` before failing. Use in `afterEach`.
 */
export async function assertNoLeaks(waitMs = 2_000): Promise<void> {
  const until = Date.now() + waitMs;
  for (;;) {
    // The polling tick itself is an Immediate; it is gone by the time the list is read.
    const left = open();
    if (left.length === 0) return;
    if (Date.now() > until) assert.deepEqual(left, [], "resources left open after the test");
    await tick();
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A list for the current test's cleanups (sockets, servers, clients): after each test they run in
 * reverse order, then {@link assertNoLeaks}. Call once per test file, at its top level.
 */
export function trackCleanups(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
    await assertNoLeaks();
  });
  return cleanups;
}
