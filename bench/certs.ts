// Test certificates for the TLS systems (raw-tls, farcall-tls, grpc-js-tls): the measuring process
// makes them once per run with scripts/make-certs.sh in a fresh temporary directory, which it
// removes as it exits; the server and stream-client children find it through BENCH_TLS_DIR, which
// they inherit.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const variable = "BENCH_TLS_DIR";
/** dist/bench/certs.js → the repository root → scripts/make-certs.sh. */
const script = new URL("../../scripts/make-certs.sh", import.meta.url).pathname;

/** Makes the certificates and points BENCH_TLS_DIR at them; they are removed when this process exits. */
export function makeCerts(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "farcall-bench-certs-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync("bash", [script, dir], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`scripts/make-certs.sh failed${stderr ? `: ${stderr}` : ""}`, { cause: err });
  }
  process.env[variable] = dir;
}

export interface BenchCerts {
  /** The CA clients trust (PEM). */
  ca: string;
  /** The server's certificate, for localhost and 127.0.0.1 (PEM). */
  cert: string;
  /** Its private key (PEM). */
  key: string;
}

let cached: BenchCerts | undefined;

/** The certificates {@link makeCerts} made, in this process or in the parent that forked it. */
export function benchCerts(): BenchCerts {
  if (cached !== undefined) return cached;
  const dir = process.env[variable];
  if (dir === undefined) throw new Error(`${variable} is not set: the TLS systems need the run's certificates`);
  const read = (name: string) => readFileSync(path.join(dir, name), "utf8");
  cached = { ca: read("ca.pem"), cert: read("server.pem"), key: read("server-key.pem") };
  return cached;
}
