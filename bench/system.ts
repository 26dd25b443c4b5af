// What each compared system provides: a server (run in the server child) and a client factory
// (run in the measuring process, or in the stream client child).

import type { WorkloadName } from "./workloads.js";

/** A listening server, started by `node dist/bench/server.js <system>`. */
export interface BenchServer {
  /** Where clients connect: `tcp://127.0.0.1:<port>` or `127.0.0.1:<port>`, as the system spells it. */
  address: string;
  /** The server's CPU so far, where it is not the server child's own (a server in another process). */
  cpu?(): NodeJS.CpuUsage;
  close(): Promise<void>;
}

/** One connection to a {@link BenchServer}. Every method resolves with the server's reply. */
export interface BenchClient {
  add(a: number, b: number): Promise<number>;
  /**
   * Sends a payload workload's value (struct, records, nested, text) and resolves
   * with what comes back, which should be the same value.
   */
  value(workload: WorkloadName, value: unknown): Promise<unknown>;
  echo(bytes: Buffer): Promise<Uint8Array>;
  /** Receives `totalBytes` from the server in chunks of `chunkBytes`, each passed to `onChunk`. */
  stream?(totalBytes: number, chunkBytes: number, onChunk: (chunk: Uint8Array) => void): Promise<void>;
  close(): Promise<void>;
}

export interface BenchSystem {
  /** Short name used on the command line, in tables and in the JSON. */
  name: string;
  /** One line saying what exactly is measured. */
  description: string;
  /** The workloads it takes part in, where it is not all of them. */
  workloads?: readonly WorkloadName[];
  /** Speaks TLS with the run's test certificates (bench/certs.ts), which the run then makes. */
  tls?: boolean;
  serve(): Promise<BenchServer>;
  connect(address: string): Promise<BenchClient>;
}
