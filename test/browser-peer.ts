// chromium loading test/browser/index.html, which calls the server through the web entry: used by
// test/browser.test.ts and test/one-port.test.ts. A missing chromium makes the check fail.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";

/** This file compiles to <build>/test/browser-peer.js, the build dir being one level below the repository. */
const buildRoot = new URL("../", import.meta.url);
const repoRoot = new URL("../../", import.meta.url);

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const chromiumArgs = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"];

export const pageDir = new URL("test/browser/", repoRoot);
export const webEntry = new URL("src/web/index.js", buildRoot);

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

/** The page's steps that end a 2 s `Arith/sleep` by a deadline or an abort. */
export const cutSleeps: ReadonlySet<string> = new Set(["http-deadline", "http-abort", "ws-deadline", "ws-abort"]);

/** Where the page is served from, and a way to open it against a farcall server. */
interface PageHost {
  /** The page's origin, which the farcall server must allow (CORS). */
  origin: string;
  /**
   * Opens the page in chromium with `?server=host:port`, waits for it to finish and checks
   * everything it shows; the browser is closed before this settles.
   */
  check(farcallHost: string): Promise<void>;
  close(): Promise<void>;
}

export async function startPageHost(): Promise<PageHost> {
  assert.ok(existsSync(chromiumPath), `chromium not found at ${chromiumPath} (set CHROMIUM_PATH)`);
  assert.ok(existsSync(fileURLToPath(webEntry)), `${fileURLToPath(webEntry)} is missing: is src/web/index.ts built?`);
  const statics = await startStatic();
  return {
    origin: statics.origin,
    check: async (farcallHost) => {
      const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000 });
      try {
        await checkPage(await browser.newPage(), statics.origin, farcallHost, statics.missing);
      } finally {
        await browser.close();
      }
    },
    close: () => closeStatic(statics.server),
  };
}

async function checkPage(page: Page, origin: string, farcallHost: string, missing: string[]): Promise<void> {
  const farcallHttp = `http://${farcallHost}`;
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

  await page.goto(`${origin}/?server=${encodeURIComponent(farcallHost)}`, { timeout: 10_000 });
  let settled = true;
  try {
    await page.waitForFunction("document.title !== 'running'", null, { timeout: 30_000, polling: 50 });
  } catch {
    settled = false;
  }
  const shown = (await page.evaluate(readPage)) as { title: string; fatal: string; items: Item[] };
  const report = JSON.stringify({ ...shown, problems, missing }, null, 2);
  assert.ok(settled, `the page did not finish within 30 s:\n${report}`);
  assert.equal(shown.title, "done", `the page failed:\n${report}`);

  // Deadlines and aborts: only the code is checked, their messages are not part of the contract.
  const text = Object.fromEntries(shown.items.map((i) => [i.id, cutSleeps.has(i.id) ? i.text.split(":")[0] : i.text]));
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
  for (const id of cutSleeps) {
    const took = ms[id] ?? Number.NaN;
    assert.ok(took >= 50 && took < 1_500, `${id} took ${took} ms`);
  }
  assert.deepEqual(problems, [], "the page logged errors");
  assert.deepEqual(missing, [], "the page asked for files that are not there");
}
