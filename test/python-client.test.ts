import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { afterEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { assertNoLeaks } from "./helpers.js";

// dist/test/python-client.test.js → repository root
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const run = promisify(execFile);

afterEach(() => assertNoLeaks());

/** Starts the documented demo server command and resolves with its child process and port. */
async function startDemoServer(): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL("../examples/demo/server.js", import.meta.url)), "--port", "0"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let output = "";
  child.stdout?.setEncoding("utf8");
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo server did not start: ${output}`)), 10_000);
    child.stdout?.on("data", (text: string) => {
      output += text;
      const m = /listening on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`demo server exited with ${code}: ${output}`));
    });
  });
  return { child, port, output: () => output };
}

test("the Python standard-library client calls Arith.add and Arith.divide on the demo server", async () => {
  const server = await startDemoServer();
  try {
    const { stdout } = await run("python3", [join(root, "examples/python/client.py"), "--port", String(server.port)], {
      timeout: 20_000,
    });
    assert.equal(
      stdout,
      [
        "Arith.add(1, 2) = 3",
        "Arith.divide(10, 4) = 2.5",
        "Arith.divide(1, 0) failed: invalid_argument: divide by zero",
        "",
      ].join("\n"),
    );
  } finally {
    const exited = once(server.child, "exit");
    server.child.kill("SIGTERM");
    const [code] = await exited;
    assert.equal(code, 0, "the demo server exits cleanly on SIGTERM");
    assert.match(server.output(), /SIGTERM: draining\nclosed\n/);
  }
});
