/**
 * Debian's rpcbind, and then `farcall portmap` in its place, each started by this test in a network
 * and mount namespace of its own (`unshare`: loopback only, its own port 111 and
 * /run/rpcbind.sock; `rpcbind -h 127.0.0.1` crashes on this Debian), stopped by PID:
 * interop/oncrpc/rpcbind-scenario.mjs runs inside and reports.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));

for (const mapper of ["rpcbind", "farcall portmap"]) {
  test(`with ${mapper}: a farcall server registers, C and farcall clients find it, drain unregisters; a C server found by farcall`, async () => {
    const bin = mkdtempSync(join(tmpdir(), "farcall-rpcbind-"));
    try {
      await run("bash", [join(root, "interop/oncrpc/build.sh"), bin], { timeout: 120_000 });
      const script = [
        "set -e",
        "mount -t tmpfs tmpfs /run",
        "ip link set lo up",
        mapper === "rpcbind"
          ? "rpcbind -f -w & RB=$!"
          : `node ${join(root, "dist/src/cli/main.js")} portmap >/dev/null & RB=$!`,
        "for i in $(seq 100); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done",
        `node ${join(root, "interop/oncrpc/rpcbind-scenario.mjs")} ${bin} || true`,
        "kill $RB; wait $RB || true",
      ].join("\n");
      const { stdout } = await run("unshare", ["-n", "-m", "sh", "-c", script], { timeout: 90_000 });
      const seen = JSON.parse(stdout.trim().split("\n").pop() as string) as Record<string, unknown>;
      const port = seen.port as number;
      const rows = (proto: string) => new RegExp(`^\\s*536870913\\s+1\\s+${proto}\\s+${port}`);
      const registered = seen.registered as string[];
      assert.ok(
        registered.some((l) => rows("tcp").test(l)),
        `rpcinfo -p lists tcp: ${registered.join(" | ")}`,
      );
      assert.ok(
        registered.some((l) => rows("udp").test(l)),
        `rpcinfo -p lists udp: ${registered.join(" | ")}`,
      );
      // farcall rpcinfo -p prints what rpcinfo -p prints (names aside: both read /etc/rpc where there is one).
      assert.equal(seen.farcallRpcinfo, (seen.rpcinfo as string).replace(/ +$/gm, ""));
      assert.match(seen.farcallRpcinfo as string, /^ {3}program vers proto {3}port {2}service\n/);
      assert.match(seen.cTcp as string, /^From the Time Server \.\.\.Current time is .* \(C over tcp\)\n$/);
      assert.match(seen.cUdp as string, /^From the Time Server \.\.\.Current time is .* \(C over udp\)\n$/);
      assert.match(seen.farcallTcp as string, /^Current time is .* \(farcall\)$/);
      assert.match(seen.farcallUdp as string, /^Current time is .* \(farcall\)$/);
      assert.deepEqual(seen.afterDrain, [], "unregistered after the drain");
      assert.ok((seen.cRegistered as string[]).length >= 1, "the C server registered");
      assert.match(seen.farcallToC as string, /^Current time is \w{3} \w{3} /);
      assert.deepEqual(seen.afterC, []);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
}

test("rpcinfo -p, -s and -l print the same for farcall portmap as for rpcbind; -m reads its statistics", async () => {
  const out: Record<string, string> = {};
  for (const mapper of ["rpcbind", "farcall portmap"]) {
    const start =
      mapper === "rpcbind" ? "rpcbind -f -w" : `node ${join(root, "dist/src/cli/main.js")} portmap >/dev/null`;
    const script = [
      "mount -t tmpfs tmpfs /run",
      "ip link set lo up",
      `${start} & PM=$!`,
      "for i in $(seq 100); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done",
      "sleep 0.3",
      "echo '--- p'; rpcinfo -p 127.0.0.1",
      "echo '--- s'; rpcinfo -s 127.0.0.1",
      "echo '--- l'; rpcinfo -l 127.0.0.1 100000 4",
      "echo '--- m'; rpcinfo -m 127.0.0.1",
      "kill $PM; wait $PM || true",
    ].join("\n");
    out[mapper] = (await run("unshare", ["-n", "-m", "sh", "-c", script], { timeout: 60_000 })).stdout;
  }
  const part = (text: string, name: string) => text.split(`--- ${name}\n`)[1]?.split("\n--- ")[0] ?? "";
  for (const name of ["p", "s", "l"]) {
    assert.equal(part(out["farcall portmap"] as string, name), part(out.rpcbind as string, name), `rpcinfo -${name}`);
  }
  const m = part(out["farcall portmap"] as string, "m");
  for (const heading of [
    "PORTMAP (version 2) statistics",
    "RPCBIND (version 3) statistics",
    "RPCBIND (version 4) statistics",
  ]) {
    assert.ok(m.includes(heading), `rpcinfo -m shows ${heading}:\n${m}`);
  }
});
