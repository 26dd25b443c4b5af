// Certificates for the TLS tests, made by scripts/make-certs.sh (openssl) once per process and
// read into memory; the directory is removed straight away.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A certificate and its key, PEM. */
export interface Pair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCerts {
  /** The test CA. */
  readonly ca: string;
  /** For localhost, 127.0.0.1 and ::1. */
  readonly server: Pair;
  /** CN=client, SAN URI:spiffe://farcall.test/client. */
  readonly client: Pair;
  /** A server certificate that expired in 2020. */
  readonly expired: Pair;
  /** A server certificate for elsewhere.test. */
  readonly otherName: Pair;
  /** Another CA, and a client certificate it signed. */
  readonly rogueCa: string;
  readonly rogueClient: Pair;
}

const script = fileURLToPath(new URL("../../scripts/make-certs.sh", import.meta.url));
let made: TestCerts | undefined;

/** Makes (once) and returns the test certificates. */
export function testCerts(): TestCerts {
  if (made !== undefined) return made;
  const dir = mkdtempSync(join(tmpdir(), "farcall-certs-"));
  try {
    execFileSync("bash", [script, dir], { stdio: ["ignore", "ignore", "inherit"] });
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    const pair = (name: string): Pair => ({ cert: read(`${name}.pem`), key: read(`${name}-key.pem`) });
    made = {
      ca: read("ca.pem"),
      server: pair("server"),
      client: pair("client"),
      expired: pair("expired"),
      otherName: pair("other-name"),
      rogueCa: read("rogue-ca.pem"),
      rogueClient: pair("rogue-client"),
    };
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
