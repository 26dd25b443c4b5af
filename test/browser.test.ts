import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { afterEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { builtinProtocols, codeToString, type Interceptor, RpcError } from "../src/index.js";
import { cutSleeps, pageDir, startPageHost, webEntry } from "./browser-peer.js";
import { startDemo, until } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

/**
 * The browser entry in a real browser: chromium loads test/browser/index.html, whose script imports
 * the compiled entry (no bundler) and calls the demo services of a farcall server on another port
 * (so another origin) over HTTP JSON, WebSocket and JSON-RPC; what the page must show is checked
 * in test/browser-peer.ts.
 */

afterEach(() => assertNoLeaks());

/** Specifiers the page's import map maps. */
async function importMapKeys(): Promise<Set<string>> {
  const html = await readFile(fileURLToPath(new URL("index.html", pageDir)), "utf8");
  const m = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, "index.html has an import map");
  return new Set(Object.keys((JSON.parse(m[1] as string) as { imports: Record<string, string> }).imports));
}

/**
 * Walks the compiled module graph from the web entry through relative imports and returns the
 * other specifiers it meets, each with a file that imports it.
 */
async function bareImports(entry: URL): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const seen = new Set<string>();
  const queue = [entry];
  const pattern =
    /(?:\bimport|\bexport)\s*(?:[^'";]*?\bfrom\s*)?["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file.href)) continue;
    seen.add(file.href);
    const text = await readFile(fileURLToPath(file), "utf8");
    for (const m of text.matchAll(pattern)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith("./") || spec.startsWith("../")) queue.push(new URL(spec, file));
      else if (!found.has(spec)) found.set(spec, fileURLToPath(file));
    }
  }
  return found;
}

/** How each `Arith/sleep` call ended on the server: a code name or "ok", and how long it ran. */
function watchSleeps(): { interceptor: Interceptor; ended: { how: string; ms: number }[] } {
  const ended: { how: string; ms: number }[] = [];
  const interceptor: Interceptor = (next) => async (req) => {
    if (req.method.path !== "Arith/sleep") return next(req);
    const started = Date.now();
    try {
      const res = await next(req);
      ended.push({ how: "ok", ms: Date.now() - started });
      return res;
    } catch (err) {
      ended.push({ how: codeToString(RpcError.from(err).code), ms: Date.now() - started });
      throw err;
    }
  };
  return { interceptor, ended };
}

test("the web entry calls farcall from chromium over HTTP, WebSocket and JSON-RPC", { timeout: 90_000 }, async () => {
  const host = await startPageHost();
  let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
  try {
    const mapped = await importMapKeys();
    for (const [spec, from] of await bareImports(webEntry)) {
      assert.ok(!spec.startsWith("node:"), `the web entry reaches ${spec} (imported by ${from})`);
      assert.ok(mapped.has(spec), `${from} imports ${spec}, which test/browser/index.html does not map`);
    }

    const sleeps = watchSleeps();
    demo = await startDemo({
      protocols: builtinProtocols({ http: { corsOrigins: [host.origin] } }),
      interceptors: [sleeps.interceptor],
    });
    await host.check(new URL(demo.address).host);

    // The server's handlers were stopped too (the sleeps would otherwise run their full 2 s).
    await until(() => sleeps.ended.length === cutSleeps.size, 3_000).catch(() => {});
    assert.equal(sleeps.ended.length, cutSleeps.size, `sleeps ended on the server: ${JSON.stringify(sleeps.ended)}`);
    for (const { how, ms: ran } of sleeps.ended) {
      assert.ok(how !== "ok" && ran < 1_500, `a sleep on the server ended ${how} after ${ran} ms`);
    }
  } finally {
    await host.close();
    await demo?.close();
  }
});
