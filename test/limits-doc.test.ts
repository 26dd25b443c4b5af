import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, maxHeaderSize } from "node:http";
import { test } from "node:test";
import { defaultBackoff } from "../src/client/channel.js";
import { maxTimerMs } from "../src/core/deadline.js";
import { defaultLimits, maxDepthCapacity, resolveLimits } from "../src/core/limits.js";
import { maxPortmapEntries } from "../src/discovery/portmapper.js";
import { defaultWriteStallTimeoutMs, maxBufferedBytes } from "../src/protocol/byte-stream.js";
import {
  defaultFrameTimeoutMs,
  defaultStreamWindowBytes,
  frameOverheadBytes,
  maxMethodIds,
  maxMethodNameBytes,
} from "../src/protocol/farcall/constants.js";
import { initialWindowBytes, windowMessages } from "../src/protocol/flow.js";
import { defaultMaxBatchLength } from "../src/protocol/jsonrpc/server.js";
import { oncMaxDepth } from "../src/protocol/oncrpc/call.js";
import { firstRetransmitMs, maxRetransmitMs, udpGiveUpMs } from "../src/protocol/oncrpc/client.js";
import { maxAuthBytes } from "../src/protocol/oncrpc/constants.js";
import { headerAllowance } from "../src/protocol/oncrpc/server.js";
import { maxCallsPerSender, replyCacheEntries } from "../src/protocol/oncrpc/udp-server.js";
import {
  defaultIdleTimeoutMs,
  defaultKeepalive,
  defaultMessageTimeoutMs,
  maxLeadingBlanks,
  maxSniffBytes,
} from "../src/protocol/protocol.js";
import { webSocketPieceBytes } from "../src/protocol/websocket-stream.js";
import { defaultHmacWindowMs, defaultMaxNonces } from "../src/server/hmac.js";
import { maxUdpPayload } from "../src/transport/udp.js";

/**
 * Checks the limits table of docs/security.md (§5) against the code: every row's default is the value the code has (an
 * exported constant, `resolveLimits()`, node's own default, or for a private constant the number
 * in its source file), and every test the table names exists under that name.
 */

const root = new URL("../../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");

interface Row {
  /** The first `code` span of the first cell: the limit's name. */
  readonly name: string;
  readonly cells: readonly string[];
}

function readTable(): Row[] {
  const lines = read("docs/security.md").split("\n");
  const start = lines.findIndex((l) => l.startsWith("| Limit |"));
  assert.ok(start >= 0, "docs/security.md has a table whose first column is Limit");
  const rows: Row[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line
      .slice(1, line.endsWith("|") ? -1 : undefined)
      .split("|")
      .map((c) => c.trim());
    assert.equal(cells.length, 6, `six cells in: ${line.slice(0, 80)}`);
    const name = /`([^`]+)`/.exec(cells[0] as string)?.[1];
    assert.ok(name !== undefined, `a limit name in: ${line.slice(0, 80)}`);
    rows.push({ name, cells });
  }
  return rows;
}

/** The numbers written in a cell, in order: `4,194,304`, `1.6`, `30,000`. */
function numbersIn(text: string): number[] {
  return [...text.matchAll(/\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?/g)].map((m) => Number(m[0].replaceAll(",", "")));
}

/** The value of a numeric expression captured from source: `10_000`, `16 * 1024`, `0xffff`. */
function sourceNumber(path: string, pattern: RegExp, group = 1): number {
  const m = pattern.exec(read(path));
  assert.ok(m !== null, `${path} matches ${pattern}`);
  const expr = (m[group] as string).replaceAll("_", "");
  return expr
    .split("*")
    .map((f) => Number(f.trim()))
    .reduce((a, b) => a * b, 1);
}

function sourceHas(path: string, pattern: RegExp): void {
  assert.match(read(path), pattern, `${path} still has ${pattern}`);
}

const limits = resolveLimits({});

/**
 * What the code says each row's default is: the first value must be the first number of the
 * Default cell, and every other value must appear in it too.
 */
const expected: Record<string, () => number[]> = {
  maxMessageBytes: () => [limits.maxMessageBytes],
  defaultHmacWindowMs: () => [defaultHmacWindowMs],
  defaultMaxNonces: () => [defaultMaxNonces],
  hmacSigner: () => {
    for (const path of ["src/client/hmac.ts", "src/server/hmac.ts", "src/server/tokens.ts"]) {
      sourceHas(path, /\.length < 32\)/);
    }
    return [32];
  },
  minVersion: () => {
    sourceHas("src/transport/tls.ts", /minVersion: options\.minVersion \?\? "TLSv1\.2"/);
    return [1.2];
  },
  handshakeTimeout: () => {
    sourceHas("src/transport/tls.ts", /handshakeTimeout: this\.handshakeTimeoutMs,/);
    return [handshakeTimeoutMs()];
  },
  openEnvelope: () => {
    sourceHas("src/protocol/jsonrpc/envelope.ts", /size > limits\.maxMetadataBytes/);
    return [limits.maxMetadataBytes];
  },
  maxMetadataBytes: () => [limits.maxMetadataBytes],
  maxDepth: () => [limits.maxDepth],
  maxKeys: () => [limits.maxKeys],
  maxInflight: () => [limits.maxInflight],
  maxConcurrentCalls: () => [limits.maxConcurrentCalls],
  "resolveLimits()": () => {
    // The ranges resolveLimits enforces, found by asking it.
    const top = 0xffff_ffff;
    assert.doesNotThrow(() => resolveLimits({ maxInflight: top }));
    assert.throws(() => resolveLimits({ maxInflight: top + 1 }), RangeError);
    assert.throws(() => resolveLimits({ maxInflight: 0 }), RangeError);
    assert.doesNotThrow(() => resolveLimits({ maxMetadataBytes: 65_535 }));
    assert.throws(() => resolveLimits({ maxMetadataBytes: 65_536 }), RangeError);
    assert.doesNotThrow(() => resolveLimits({ maxDepth: maxDepthCapacity }));
    assert.throws(() => resolveLimits({ maxDepth: maxDepthCapacity + 1 }), RangeError);
    return [1, top, 65_535, maxDepthCapacity];
  },
  frameOverheadBytes: () => [
    defaultLimits.maxMessageBytes + defaultLimits.maxMetadataBytes + frameOverheadBytes,
    frameOverheadBytes,
  ],
  firstGrowBytes: () => [
    sourceNumber("src/protocol/farcall/frame-reader.ts", /const firstGrowBytes = ([\d_ *]+);/),
    sourceNumber("src/protocol/farcall/frame-reader.ts", /const eagerBodyBytes = ([\d_ *]+);/),
  ],
  defaultStreamWindowBytes: () => [defaultStreamWindowBytes],
  initialWindowBytes: () => [initialWindowBytes],
  windowMessages: () => [windowMessages, initialWindowBytes],
  maxMethodIds: () => [maxMethodIds],
  maxMethodNameBytes: () => [maxMethodNameBytes],
  readSettings: () => [sourceNumber("src/protocol/farcall/session.ts", /payload\.length > (\d+) \* 6/)],
  keyPattern: () => {
    const path = "src/protocol/farcall/payload.ts";
    sourceHas(path, /v > 0xffff\)/);
    const min = sourceNumber(path, /const keyPattern = \/\^\[0-9a-z_.-\]\{(\d+),(\d+)\}\$\//, 1);
    const max = sourceNumber(path, /const keyPattern = \/\^\[0-9a-z_.-\]\{(\d+),(\d+)\}\$\//, 2);
    return [min, max, 0xffff];
  },
  maxErrorMessageBytes: () => [
    sourceNumber("src/protocol/farcall/error-frame.ts", /const maxErrorMessageBytes = ([\d_]+);/),
  ],
  sendGoAway: () => [sourceNumber("src/protocol/farcall/session.ts", /encodeLimitedText\(message, ([\d_]+)\)/)],
  maxTimerMs: () => [maxTimerMs],
  "farcall-timeout-ms": () => [1, sourceNumber("src/protocol/http/post.ts", /\\d\{1,(\d+)\}/)],
  maxSniffBytes: () => [maxSniffBytes],
  maxLeadingBlanks: () => [maxLeadingBlanks],
  defaultHandshakeTimeoutMs: () => [handshakeTimeoutMs()],
  maxConnectHeadBytes: () => [
    sourceNumber("src/protocol/jsonrpc/go-connect.ts", /const maxConnectHeadBytes = ([\d_]+);/),
  ],
  headersTimeoutMs: () => {
    sourceHas("src/protocol/http/protocol.ts", /headersTimeoutMs: ctx\.handshakeTimeoutMs,/);
    return [handshakeTimeoutMs()];
  },
  requestTimeoutMs: () => {
    sourceHas("src/transport/http.ts", /Math\.max\(options\.requestTimeoutMs, options\.headersTimeoutMs\)/);
    const factor = sourceNumber("src/protocol/http/protocol.ts", /requestTimeoutMs: (\d+) \* ctx\.messageTimeoutMs/);
    return [Math.max(factor * defaultMessageTimeoutMs, handshakeTimeoutMs())];
  },
  maxHeaderSize: () => [maxHeaderSize],
  keepAliveTimeout: () => [createHttpServer().keepAliveTimeout],
  defaultMessageTimeoutMs: () => {
    assert.equal(defaultFrameTimeoutMs, defaultMessageTimeoutMs);
    return [defaultMessageTimeoutMs];
  },
  defaultIdleTimeoutMs: () => [defaultIdleTimeoutMs],
  "defaultKeepalive.intervalMs": () => [defaultKeepalive.intervalMs],
  "defaultKeepalive.timeoutMs": () => [defaultKeepalive.timeoutMs],
  maxBufferedBytes: () => [maxBufferedBytes],
  defaultWriteStallTimeoutMs: () => [defaultWriteStallTimeoutMs],
  tcpKeepaliveMs: () => [sourceNumber("src/transport/socket-stream.ts", /const tcpKeepaliveMs = ([\d_]+);/)],
  lingerMs: () => [sourceNumber("src/transport/socket-stream.ts", /const lingerMs = ([\d_]+);/)],
  defaultGraceMs: () => [sourceNumber("src/server/server.ts", /const defaultGraceMs = ([\d_]+);/)],
  maxWebSocketMessageBytes: () => {
    sourceHas(
      "src/protocol/http/protocol.ts",
      /maxWebSocketMessageBytes: Math\.max\(ctx\.limits\.maxMessageBytes, webSocketPieceBytes\)/,
    );
    return [Math.max(defaultLimits.maxMessageBytes, webSocketPieceBytes)];
  },
  webSocketPieceBytes: () => [webSocketPieceBytes],
  defaultMaxBatchLength: () => [defaultMaxBatchLength],
  headerAllowance: () => [defaultLimits.maxMessageBytes + headerAllowance, headerAllowance],
  maxAuthBytes: () => [maxAuthBytes],
  oncMaxDepth: () => [oncMaxDepth, oncMaxDepth / 2],
  readXdr: () => [sourceNumber("src/codec/xdr/decode.ts", /n > r\.left \+ ([\d_]+)/)],
  maxUdpPayload: () => [maxUdpPayload],
  maxCallsPerSender: () => [maxCallsPerSender],
  replyCacheEntries: () => [replyCacheEntries],
  firstRetransmitMs: () => {
    sourceHas("src/protocol/oncrpc/client.ts", /again\(Math\.min\(waitMs \* 2, maxRetransmitMs\)\)/);
    return [firstRetransmitMs];
  },
  maxRetransmitMs: () => [maxRetransmitMs],
  udpGiveUpMs: () => [udpGiveUpMs],
  maxPortmapEntries: () => [maxPortmapEntries],
  callOnce: () => {
    const exchange = sourceNumber("src/protocol/oncrpc/rpcbind.ts", /timeoutMs = ([\d_]+),\n\): Promise<O>/);
    const dial = sourceNumber(
      "src/protocol/oncrpc/protocol.ts",
      /dial\(`tcp:\/\/127\.0\.0\.1:\$\{portmapper\}`, ([\d_]+)\)/,
    );
    assert.equal(dial, exchange, "rpcbind's connect timeout and exchange timeout are one value in the table");
    return [exchange];
  },
  "close()": () => [
    sourceNumber("src/discovery/portmapper.ts", /close: \(\) => server\.close\(\{ graceMs: ([\d_]+) \}\)/),
  ],
  connectTimeoutMs: () => [sourceNumber("src/client/transports.ts", /options\.connectTimeoutMs \?\? ([\d_]+);/)],
  defaultBackoff: () => [
    defaultBackoff.initialMs,
    defaultBackoff.multiplier,
    defaultBackoff.maxMs,
    defaultBackoff.jitter,
  ],
};

function handshakeTimeoutMs(): number {
  return sourceNumber("src/server/server.ts", /const defaultHandshakeTimeoutMs = ([\d_]+);/);
}

test("docs/security.md has one row per limit, each with its six cells", () => {
  const rows = readTable();
  assert.ok(rows.length >= 40, `${rows.length} rows`);
  const names = rows.map((r) => r.name);
  assert.equal(new Set(names).size, names.length, `a limit named twice among ${names.join(", ")}`);
});

test("every documented default is the value in the code", () => {
  for (const row of readTable()) {
    const values = expected[row.name];
    assert.ok(values !== undefined, `no check for the default of ${row.name}: add it to test/limits-doc.test.ts`);
    const want = values();
    const written = numbersIn(row.cells[2] as string);
    assert.equal(written[0], want[0], `${row.name}: the default cell says ${row.cells[2]}, the code ${want[0]}`);
    for (const v of want) assert.ok(written.includes(v), `${row.name}: ${v} is missing from "${row.cells[2]}"`);
  }
});

test("every row names the tests that cover it, and those tests exist", () => {
  for (const row of readTable()) {
    const cell = row.cells[5] as string;
    const named = [...cell.matchAll(/`((?:test|src)\/[^`]+\.test\.ts)`: "([^"]+)"/g)];
    assert.ok(named.length > 0 || /\bnone\b/.test(cell), `${row.name}: name a test or say none`);
    for (const [, path, name] of named) {
      assert.ok(existsSync(new URL(path as string, root)), `${row.name}: ${path} does not exist`);
      assert.ok(read(path as string).includes(name as string), `${row.name}: ${path} has no test "${name}"`);
    }
  }
});
