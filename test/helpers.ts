import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";

/** Resource kinds that must not outlive a test. */
const tracked = new Set(["TCPServerWrap", "TCPSocketWrap", "PipeServerWrap", "PipeWrap", "Timeout", "Immediate"]);

function open(): string[] {
  return process.getActiveResourcesInfo().filter((r) => tracked.has(r));
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
