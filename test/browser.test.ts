import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { codeToString, type Interceptor, RpcError } from "../src/index.js";
import { startDemo, until } from "./fixtures.js";
import { assertNoLeaks } from "./helpers.js";

/**
 * The browser entry in a real browser: chromium loads test/browser/index.html, whose script imports
 * the compiled entry (no bundler) and calls the demo services of a farcall server on another port
 * (so another origin) over HTTP JSON, WebSocket and JSON-RPC; the test reads what the page wrote.
 */

afterEach(() => assertNoLeaks());

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const chromiumArgs = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"];

/** This file compiles to <build>/test/browser.test.js, the build dir being one level below the repo. */
const buildRoot = new URL("../", import.meta.url);
const repoRoot = new URL("../../", import.meta.url);
const pageDir = new URL("test/browser/", repoRoot);
const webEntry = new URL("src/web/index.js", buildRoot);

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
};

/** URL path prefixes and the directories they serve; the first match wins. */
const mounts: ReadonlyArray<readonly [string, URL]> = [
  ["/build/", buildRoot],
  ["/node_modules/", new URL("node_modules/", repoRoot)],
  ["/", pageDir],
];

/** A static file server on loopback for the page, the compiled modules and their packages. */
async function startStatic(): Promise<{ server: HttpServer; origin: string; missing: string[] }> {
  const missing: string[] = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname.replace(/^\/$/, "/index.html");
    const mount = mounts.find(([prefix]) => path.startsWith(prefix));
    const ext = path.slice(path.lastIndexOf("."));
    const type = contentTypes[ext];
    if (req.method === "GET" && mount !== undefined && type !== undefined) {
      const [prefix, base] = mount;
      const file = new URL(`./${path.slice(prefix.length)}`, base);
      if (file.href.startsWith(base.href)) {
        try {
          const body = await readFile(fileURLToPath(file));
          res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
          res.end(body);
          return;
        } catch {
          // answered 404 below
        }
      }
    }
    missing.push(`${req.method} ${req.url}`);
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, missing };
}

async function closeStatic(server: HttpServer): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  server.closeAllConnections();
  await closed;
}

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

interface Item {
  id: string;
  text: string;
  ms: number;
}

/** What the page shows: its title, the fatal message if any, and every result item. */
const readPage = `({
  title: document.title,
  fatal: document.getElementById("fatal")?.textContent ?? "",
  items: [...document.querySelectorAll("#results li")].map((li) => ({
    id: li.id,
    text: li.textContent,
    ms: Number(li.dataset.ms ?? NaN),
  })),
})`;

/**
 * Non-2xx replies that the page asks for on purpose; chromium logs each as a console error
 * ("Failed to load resource: the server responded with a status of 400 (Bad Request)").
 * A deadline may be answered by the server (504) or cut by the client first.
 */
const expectedStatuses: Record<string, number[]> = {
  "/Arith/divide": [400],
  "/Arith/sleep": [504, 499],
};

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
  assert.ok(existsSync(chromiumPath), `chromium not found at ${chromiumPath} (set CHROMIUM_PATH)`);
  assert.ok(existsSync(fileURLToPath(webEntry)), `${fileURLToPath(webEntry)} is missing: is src/web/index.ts built?`);

  const mapped = await importMapKeys();
  for (const [spec, from] of await bareImports(webEntry)) {
    assert.ok(!spec.startsWith("node:"), `the web entry reaches ${spec} (imported by ${from})`);
    assert.ok(mapped.has(spec), `${from} imports ${spec}, which test/browser/index.html does not map`);
  }

  const statics = await startStatic();
  let browser: Browser | undefined;
  let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
  try {
    const sleeps = watchSleeps();
    demo = await startDemo({ corsOrigins: [statics.origin], interceptors: [sleeps.interceptor] });
    const farcallHost = new URL(demo.address).host;
    const farcallHttp = `http://${farcallHost}`;

    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000 });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (err) => problems.push(`page error: ${err.stack ?? err.message}`));
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const url = msg.location().url;
      const status = /^Failed to load resource: the server responded with a status of (\d+)/.exec(msg.text());
      if (status && url.startsWith(`${farcallHttp}/`)) {
        const allowed = expectedStatuses[new URL(url).pathname] ?? [];
        if (allowed.includes(Number(status[1]))) return;
      }
      problems.push(`console error: ${msg.text()} (${url})`);
    });

    await page.goto(`${statics.origin}/?server=${encodeURIComponent(farcallHost)}`, { timeout: 10_000 });
    let settled = true;
    try {
      await page.waitForFunction("document.title !== 'running'", null, { timeout: 30_000, polling: 50 });
    } catch {
      settled = false;
    }
    const shown = (await page.evaluate(readPage)) as { title: string; fatal: string; items: Item[] };
    const report = JSON.stringify({ ...shown, problems, missing: statics.missing }, null, 2);
    assert.ok(settled, `the page did not finish within 30 s:\n${report}`);
    assert.equal(shown.title, "done", `the page failed:\n${report}`);

    // Deadlines and aborts: only the code is checked, their messages are not part of the contract.
    const codeOnly = new Set(["http-deadline", "http-abort", "ws-deadline", "ws-abort"]);
    const text = Object.fromEntries(shown.items.map((i) => [i.id, codeOnly.has(i.id) ? i.text.split(":")[0] : i.text]));
    const ms = Object.fromEntries(shown.items.map((i) => [i.id, i.ms]));
    assert.deepEqual(
      text,
      {
        "http-add": "3",
        "http-divide": "InvalidArgument: divide by zero",
        "http-count": "1,2,3,4,5",
        "http-deadline": "DeadlineExceeded",
        "http-abort": "Canceled",
        "http-after": "42",
        "ws-add": "5",
        "ws-divide": "InvalidArgument: divide by zero",
        "ws-count": "1,2,3,4,5",
        "ws-chat": "PING,PONG",
        "ws-break": "1,2,3",
        "ws-deadline": "DeadlineExceeded",
        "ws-abort": "Canceled",
        "ws-after": "42",
        "jsonrpc-http-add": "7",
        "jsonrpc-http-divide": "InvalidArgument: divide by zero",
        "jsonrpc-ws-add": "9",
        "jsonrpc-ws-divide": "InvalidArgument: divide by zero",
        closed: "yes",
      },
      `what the page shows:\n${report}`,
    );
    // A deadline or an abort ends the call long before the 2 s sleep would.
    for (const id of codeOnly) {
      const took = ms[id] ?? Number.NaN;
      assert.ok(took >= 50 && took < 1_500, `${id} took ${took} ms`);
    }
    // The server's handlers were stopped too (the sleeps would otherwise run their full 2 s).
    await until(() => sleeps.ended.length === codeOnly.size, 3_000).catch(() => {});
    assert.equal(sleeps.ended.length, codeOnly.size, `sleeps ended on the server: ${JSON.stringify(sleeps.ended)}`);
    for (const { how, ms: ran } of sleeps.ended) {
      assert.ok(how !== "ok" && ran < 1_500, `a sleep on the server ended ${how} after ${ran} ms`);
    }
    assert.deepEqual(problems, [], "the page logged errors");
    assert.deepEqual(statics.missing, [], "the page asked for files that are not there");
  } finally {
    await browser?.close();
    await closeStatic(statics.server);
    await demo?.close();
  }
});
