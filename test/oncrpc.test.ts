/**
 * ONC RPC v2 (RFC 5531) over TCP on farcall's shared port: farcall's client against its server,
 * and a raw peer for every status and for hostile input (record marks, fragments, auth, XDR).
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { Arith, arithImpl } from "../examples/demo/services.js";
import {
  builtinProtocols,
  Code,
  createClient,
  createServer,
  defineService,
  RpcError,
  unary,
  xdr,
} from "../src/index.js";
import { rejectsWith, stillServes, until, within } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const PROG = 0x20000101;

const Point = xdr.struct("point", [
  ["x", xdr.int],
  ["big", xdr.hyper],
]);
const V1 = defineService("RICH.V1", {
  PRINTIME: unary<string, string>({
    program: PROG,
    version: 1,
    id: 1,
    wire: { input: xdr.string(64), output: xdr.string() },
  }),
  MOVE: unary<{ x: number; big: bigint }, { x: number; big: bigint }>({
    program: PROG,
    version: 1,
    id: 2,
    wire: { input: Point, output: Point },
  }),
  WHO: unary<void, string>({ program: PROG, version: 1, id: 3, wire: { input: xdr.void, output: xdr.string() } }),
  FAIL: unary<number, void>({ program: PROG, version: 1, id: 4, wire: { input: xdr.int, output: xdr.void } }),
});
let counted = 0;
const V3 = defineService("RICH.V3", {
  COUNT: unary<number, number>({ program: PROG, version: 3, id: 2, wire: { input: xdr.int, output: xdr.int } }),
  BIG: unary<number, string>({ program: PROG, version: 3, id: 3, wire: { input: xdr.int, output: xdr.string() } }),
  SUM: unary<{ arg1: number; arg2: number }, number>({
    program: PROG,
    version: 3,
    id: 1,
    wire: {
      input: xdr.struct(undefined, [
        ["arg1", xdr.int],
        ["arg2", xdr.int],
      ]),
      output: xdr.int,
    },
  }),
});
/** What a client may call that the server does not serve. */
const Missing = defineService("RICH.MISSING", {
  V2: unary<void, void>({ program: PROG, version: 2, id: 1, wire: { input: xdr.void, output: xdr.void } }),
  PROC9: unary<void, void>({ program: PROG, version: 1, id: 9, wire: { input: xdr.void, output: xdr.void } }),
  NULL1: unary<void, void>({ program: PROG, version: 1, id: 0, wire: { input: xdr.void, output: xdr.void } }),
  NULL3: unary<void, void>({ program: PROG, version: 3, id: 0, wire: { input: xdr.void, output: xdr.void } }),
});
const Other = defineService("OTHER.V1", {
  NULL: unary<void, void>({ program: 0x20000999, version: 1, id: 0, wire: { input: xdr.void, output: xdr.void } }),
});

async function start(): Promise<{ port: number; address: string }> {
  const server = createServer();
  server.add(Arith, arithImpl());
  server.add(V1, {
    PRINTIME: (msg) => `Current time is now (${msg})`,
    MOVE: (p) => ({ x: p.x + 1, big: p.big * 2n }),
    WHO: (_, ctx) =>
      ctx.credentials
        ? `${ctx.credentials.machineName} ${ctx.credentials.uid}/${ctx.credentials.gid} ${ctx.credentials.gids.join(",")}`
        : "nobody",
    FAIL: (code) => {
      throw new RpcError(code, "refused");
    },
  });
  server.add(V3, {
    SUM: ({ arg1, arg2 }) => arg1 + arg2,
    COUNT: (ms) => {
      counted++;
      return new Promise((r) => setTimeout(() => r(counted), ms));
    },
    BIG: (n) => "x".repeat(n),
  });
  const address = await server.listen("tcp://127.0.0.1:0", { udp: true });
  cleanups.push(() => server.close({ graceMs: 100 }));
  return { port: Number(address.split(":").pop()), address };
}

function client(port: number, oncrpc?: Parameters<typeof builtinProtocols>[0], scheme = "oncrpc+tcp") {
  const c = createClient(`${scheme}://127.0.0.1:${port}`, oncrpc ? { protocols: builtinProtocols(oncrpc) } : {});
  cleanups.push(() => c.close());
  return c;
}

test("a farcall client calls a farcall ONC RPC server: strings, structs with hyper, several arguments, void", async () => {
  const { port, address } = await start();
  const c = client(port);
  assert.equal(await c.service(V1).PRINTIME("hi there"), "Current time is now (hi there)");
  assert.deepEqual(await c.service(V1).MOVE({ x: -5, big: 2n ** 60n }), { x: -4, big: 2n ** 61n });
  assert.equal(await c.service(V3).SUM({ arg1: 40, arg2: 2 }), 42);
  assert.equal(await c.service(V1).WHO(), "nobody");
  // Many in flight on one connection, answered by xid.
  const many = await Promise.all(Array.from({ length: 200 }, (_, i) => c.service(V3).SUM({ arg1: i, arg2: i })));
  assert.deepEqual(
    many,
    Array.from({ length: 200 }, (_, i) => 2 * i),
  );
  await stillServes(address);
});

test("statuses: PROG_MISMATCH with the versions served, PROC_UNAVAIL, PROG_UNAVAIL, procedure 0 of every version", async () => {
  const { port } = await start();
  const c = client(port).service(Missing);
  const mismatch = await rejectsWith(c.V2(), Code.Unimplemented);
  assert.match(mismatch.rawMessage, /PROG_MISMATCH.*versions 1 to 3/);
  assert.deepEqual(mismatch.details, [{ low: 1, high: 3 }]);
  assert.match((await rejectsWith(c.PROC9(), Code.Unimplemented)).rawMessage, /PROC_UNAVAIL/);
  assert.match((await rejectsWith(client(port).service(Other).NULL(), Code.Unimplemented)).rawMessage, /PROG_UNAVAIL/);
  assert.equal(await c.NULL1(), undefined);
  assert.equal(await c.NULL3(), undefined);
});

test("handler errors map to accept statuses: invalid_argument GARBAGE_ARGS, unimplemented PROC_UNAVAIL, others SYSTEM_ERR", async () => {
  const { port } = await start();
  const c = client(port).service(V1);
  assert.match((await rejectsWith(c.FAIL(Code.InvalidArgument), Code.InvalidArgument)).rawMessage, /GARBAGE_ARGS/);
  assert.match((await rejectsWith(c.FAIL(Code.Unimplemented), Code.Unimplemented)).rawMessage, /PROC_UNAVAIL/);
  assert.match((await rejectsWith(c.FAIL(Code.NotFound), Code.Internal)).rawMessage, /SYSTEM_ERR/);
  // An argument the client cannot encode fails before anything is sent.
  assert.match((await rejectsWith(c.PRINTIME("x".repeat(65)), Code.Internal)).rawMessage, /exceeds the maximum 64/);
});

test("AUTH_SYS credentials reach the handler as ctx.credentials", async () => {
  const { port } = await start();
  const credentials = {
    flavor: "auth_sys",
    stamp: 7,
    machineName: "box",
    uid: 1000,
    gid: 100,
    gids: [4, 24, 27],
  } as const;
  const c = client(port, { oncrpc: { credentials } });
  assert.equal(await c.service(V1).WHO(), "box 1000/100 4,24,27");
});

test("a deadline fails the call on the client; a late answer is dropped", async () => {
  const server = createServer();
  const Slow = defineService("SLOW.V1", {
    WAIT: unary<number, number>({ program: 0x20000202, version: 1, id: 1, wire: { input: xdr.int, output: xdr.int } }),
  });
  server.add(Slow, { WAIT: (ms) => new Promise((r) => setTimeout(() => r(ms), ms)) });
  const l = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 500 }));
  const c = client(Number(l.split(":").pop())).service(Slow);
  await rejectsWith(c.WAIT(300, { timeoutMs: 50 }), Code.DeadlineExceeded);
  assert.equal(await c.WAIT(1), 1);
});

// ---- a raw peer ------------------------------------------------------------------------------

function u32s(...words: number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const v = new DataView(b.buffer);
  for (const [i, w] of words.entries()) v.setUint32(i * 4, w >>> 0);
  return b;
}
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
/** A record of one last fragment. */
const record = (body: Uint8Array) => cat(u32s(0x8000_0000 | body.length), body);
/** A CALL header with AUTH_NONE, then `args`. */
const call = (
  xid: number,
  prog: number,
  vers: number,
  proc: number,
  args: Uint8Array = new Uint8Array(0),
  rpcvers = 2,
) => cat(u32s(xid, 0, rpcvers, prog, vers, proc, 0, 0, 0, 0), args);

class RawPeer {
  private buf = new Uint8Array(0);
  closed = false;
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on("data", (d) => {
      this.buf = cat(this.buf, d);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on("error", () => {});
  }
  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => resolve(new RawPeer(s)));
      s.once("error", reject);
      cleanups.push(() => s.destroy());
    });
  }
  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }
  /** The next reply record's words (the record must be one fragment). */
  async reply(): Promise<number[]> {
    return within(
      (async () => {
        for (;;) {
          if (this.buf.length >= 4) {
            const n = new DataView(this.buf.buffer, this.buf.byteOffset).getUint32(0) & 0x7fff_ffff;
            if (this.buf.length >= 4 + n) {
              const body = this.buf.subarray(4, 4 + n);
              this.buf = this.buf.slice(4 + n);
              const v = new DataView(body.buffer, body.byteOffset, body.length);
              return Array.from({ length: n / 4 }, (_, i) => v.getUint32(i * 4));
            }
          }
          if (this.closed) throw new Error("closed before a reply");
          await new Promise<void>((r) => this.waiters.push(r));
        }
      })(),
      3_000,
      "reply",
    );
  }
  async closedByServer(): Promise<void> {
    await within(
      (async () => {
        while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      3_000,
      "server closing the connection",
    );
  }
}

/** reply header words: xid, REPLY(1), MSG_ACCEPTED(0), verf flavor 0, verf length 0, accept_stat */
const accepted = (xid: number, stat: number, ...rest: number[]) => [xid, 1, 0, 0, 0, stat, ...rest];
const denied = (xid: number, ...rest: number[]) => [xid, 1, 1, ...rest];
const str = (s: string) => {
  const bytes = new TextEncoder().encode(s);
  return cat(u32s(bytes.length), bytes, new Uint8Array((4 - (bytes.length % 4)) % 4));
};

test("raw peer: every status RFC 5531 defines, byte for byte", async () => {
  const { port, address } = await start();
  const p = await RawPeer.open(port);
  p.send(record(call(1, PROG, 1, 1, str("abc"))));
  const ok = await p.reply();
  assert.deepEqual(ok.slice(0, 7), [...accepted(1, 0), 25]);
  p.send(record(call(2, PROG, 1, 1, str("abc"), 3)));
  assert.deepEqual(await p.reply(), denied(2, 0, 2, 2), "RPC_MISMATCH, low 2, high 2");
  p.send(record(call(3, 0x3000_0000, 1, 1)));
  assert.deepEqual(await p.reply(), accepted(3, 1), "PROG_UNAVAIL");
  p.send(record(call(4, PROG, 7, 1)));
  assert.deepEqual(await p.reply(), accepted(4, 2, 1, 3), "PROG_MISMATCH 1..3");
  p.send(record(call(5, PROG, 3, 9)));
  assert.deepEqual(await p.reply(), accepted(5, 3), "PROC_UNAVAIL");
  p.send(record(call(6, PROG, 3, 0)));
  assert.deepEqual(await p.reply(), accepted(6, 0), "NULL");
  p.send(record(call(7, PROG, 3, 0, u32s(1))));
  assert.deepEqual(await p.reply(), accepted(7, 4), "NULL with arguments: GARBAGE_ARGS");
  p.send(record(call(8, PROG, 1, 1, u32s(0xffff_ffff))));
  assert.deepEqual(await p.reply(), accepted(8, 4), "string length 0xFFFFFFFF: GARBAGE_ARGS");
  p.send(record(call(9, PROG, 1, 1, cat(u32s(1), Uint8Array.of(0x61, 0, 1, 0)))));
  assert.deepEqual(await p.reply(), accepted(9, 4), "non-zero padding: GARBAGE_ARGS");
  p.send(record(call(10, PROG, 1, 1, cat(str("abc"), u32s(0)))));
  assert.deepEqual(await p.reply(), accepted(10, 4), "trailing bytes: GARBAGE_ARGS");
  p.send(record(call(11, PROG, 1, 2, u32s(1, 0))));
  assert.deepEqual(await p.reply(), accepted(11, 4), "truncated struct: GARBAGE_ARGS");
  p.send(record(call(12, PROG, 1, 1, str("x".repeat(65)))));
  assert.deepEqual(await p.reply(), accepted(12, 4), "string over its maximum: GARBAGE_ARGS");
  // Credentials: an unknown flavor, an opaque_auth over 400 bytes, a malformed AUTH_SYS body.
  p.send(record(cat(u32s(13, 0, 2, PROG, 3, 0, 3, 0, 0, 0))));
  assert.deepEqual(await p.reply(), denied(13, 1, 2), "AUTH_ERROR AUTH_REJECTEDCRED");
  p.send(record(cat(u32s(14, 0, 2, PROG, 3, 0, 1, 404), new Uint8Array(404), u32s(0, 0))));
  assert.deepEqual(await p.reply(), denied(14, 1, 1), "AUTH_ERROR AUTH_BADCRED (over 400 bytes)");
  p.send(record(cat(u32s(15, 0, 2, PROG, 3, 0, 1, 8, 0, 0xffff), u32s(0, 0))));
  assert.deepEqual(await p.reply(), denied(15, 1, 1), "AUTH_ERROR AUTH_BADCRED (malformed AUTH_SYS)");
  p.send(record(cat(u32s(16, 0, 2, PROG, 3, 0, 0, 0, 6, 0))));
  assert.deepEqual(await p.reply(), denied(16, 1, 3), "AUTH_ERROR AUTH_BADVERF");
  await stillServes(address);
});

test("raw peer: a record split at every byte, and one of three fragments, are answered", async () => {
  const { port } = await start();
  const p = await RawPeer.open(port);
  const whole = record(call(21, PROG, 3, 1, u32s(20, 22)));
  for (let i = 0; i < whole.length; i++) {
    p.send(whole.subarray(i, i + 1));
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await p.reply(), [...accepted(21, 0), 42]);
  const body = call(22, PROG, 3, 1, u32s(1, 2));
  p.send(cat(u32s(5), body.subarray(0, 5), u32s(0), u32s(0x8000_0000 | (body.length - 5)), body.subarray(5)));
  assert.deepEqual(await p.reply(), [...accepted(22, 0), 3]);
});

for (const [name, bytes] of [
  ["a record mark of 0x7FFFFFFF", u32s(0x7fff_ffff, 1, 0, 2)],
  ["a record mark of 0xFFFFFFFF", u32s(0xffff_ffff, 1, 0, 2)],
  ["a REPLY sent to the server", record(u32s(1, 1, 0, 0, 0, 0))],
  ["endless non-last fragments", cat(...Array.from({ length: 80 }, () => cat(u32s(65_532), new Uint8Array(65_532))))],
] as const) {
  test(`raw peer: ${name} closes the connection; the server still serves`, async () => {
    const { port, address } = await start();
    const p = await RawPeer.open(port);
    const before = process.memoryUsage().arrayBuffers;
    p.send(bytes);
    await p.closedByServer();
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, "no allocation sized by the peer");
    await stillServes(address);
  });
}

// ---- UDP ---------------------------------------------------------------------------------------

test("over UDP: a farcall client calls a farcall server on the same port number, with credentials", async () => {
  const { port, address } = await start();
  const credentials = { flavor: "auth_sys", stamp: 1, machineName: "udp-box", uid: 5, gid: 6, gids: [] } as const;
  const c = client(port, { oncrpc: { credentials } }, "oncrpc+udp");
  assert.equal(await c.service(V1).PRINTIME("by datagram"), "Current time is now (by datagram)");
  assert.deepEqual(await c.service(V1).MOVE({ x: 1, big: -3n }), { x: 2, big: -6n });
  assert.equal(await c.service(V1).WHO(), "udp-box 5/6 ");
  const many = await Promise.all(Array.from({ length: 100 }, (_, i) => c.service(V3).SUM({ arg1: i, arg2: 1 })));
  assert.deepEqual(
    many,
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  const mismatch = await rejectsWith(c.service(Missing).V2(), Code.Unimplemented);
  assert.deepEqual(mismatch.details, [{ low: 1, high: 3 }]);
  await stillServes(address);
});

/** A UDP socket of the test's, with the datagrams it received. */
async function udpPeer() {
  const socket = createSocket("udp4");
  const got: number[][] = [];
  socket.on("message", (m) => {
    const v = new DataView(m.buffer, m.byteOffset, m.length);
    got.push(Array.from({ length: Math.floor(m.length / 4) }, (_, i) => v.getUint32(i * 4)));
  });
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
  return { socket, got };
}

test("over UDP: a retransmitted call runs once and gets the same reply; bad datagrams get GARBAGE_ARGS or nothing", async () => {
  const { port, address } = await start();
  const { socket, got } = await udpPeer();
  const send = (b: Uint8Array) => socket.send(b, port, "127.0.0.1");
  const before = counted;
  const slow = call(31, PROG, 3, 2, u32s(100));
  send(slow);
  send(slow);
  await new Promise((r) => setTimeout(r, 300));
  send(slow);
  await until(() => got.length >= 2);
  assert.equal(counted - before, 1, "the handler ran once");
  assert.deepEqual(got[0], got[1]);
  assert.deepEqual(got[0], [...accepted(31, 0), before + 1]);
  got.length = 0;
  send(call(31, PROG, 3, 1, u32s(2, 3))); // the same xid for another procedure: run, not the cached reply
  await until(() => got.length >= 1);
  assert.deepEqual(got[0], [...accepted(31, 0), 5]);
  got.length = 0;
  send(call(32, PROG, 1, 1, u32s(10, 0x61626364)));
  await until(() => got.length >= 1);
  assert.deepEqual(got[0], accepted(32, 4), "a string cut short by the datagram's end: GARBAGE_ARGS");
  got.length = 0;
  send(u32s(33, 1, 0, 0, 0, 0)); // a REPLY
  send(Uint8Array.of(1, 2, 3)); // shorter than a header
  send(call(34, PROG, 3, 3, u32s(70_000)));
  await until(() => got.length >= 1);
  assert.deepEqual(got, [accepted(34, 5)], "a reply over 65,507 bytes: SYSTEM_ERR; the REPLY and the scrap: nothing");
  await stillServes(address);
});

test("over UDP: a flood from one sender runs at most 64 calls at once; the server still serves", async () => {
  const { port, address } = await start();
  const { socket } = await udpPeer();
  const before = counted;
  for (let i = 0; i < 500; i++) socket.send(call(1000 + i, PROG, 3, 2, u32s(300)), port, "127.0.0.1");
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(counted - before <= 64, `${counted - before} calls started`);
  assert.ok(counted - before >= 1);
  await stillServes(address);
  const c = client(port, undefined, "oncrpc+udp");
  assert.equal(await c.service(V3).SUM({ arg1: 1, arg2: 1 }), 2);
});

test("over UDP: the client sends a lost call again with the same xid, and fails at its deadline when nobody answers", async () => {
  const server = createSocket("udp4");
  const xids: number[] = [];
  server.on("message", (m, from) => {
    const v = new DataView(m.buffer, m.byteOffset, m.length);
    xids.push(v.getUint32(0));
    if (xids.length < 3) return; // lose the first two
    server.send(u32sBytes([v.getUint32(0), 1, 0, 0, 0, 0, 42]), from.port, from.address);
  });
  await new Promise<void>((r) => server.bind(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address();
  const c = client(port, undefined, "oncrpc+udp");
  assert.equal(await c.service(V3).SUM({ arg1: 0, arg2: 0 }), 42);
  assert.equal(xids.length, 3);
  assert.equal(new Set(xids).size, 1, "one xid for every transmission");
  const silent = createSocket("udp4");
  await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => silent.close(() => r())));
  const c2 = client(silent.address().port, undefined, "oncrpc+udp");
  await rejectsWith(c2.service(V3).SUM({ arg1: 0, arg2: 0 }, { timeoutMs: 600 }), Code.DeadlineExceeded);
});

function u32sBytes(words: number[]): Uint8Array {
  return u32s(...words);
}

test("raw peer: a record begun and not finished within messageTimeoutMs closes the connection; so does idleness", async () => {
  const server = createServer({ messageTimeoutMs: 300, idleTimeoutMs: 600 }).add(V3, {
    SUM: ({ arg1, arg2 }) => arg1 + arg2,
    COUNT: () => 0,
    BIG: () => "",
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  cleanups.push(() => server.close({ graceMs: 100 }));
  const port = Number(address.split(":").pop());
  const slow = await RawPeer.open(port);
  const whole = record(call(41, PROG, 3, 1, u32s(1, 2)));
  slow.send(whole.subarray(0, 20));
  await slow.closedByServer(); // within 3 s, against 30 s by default
  const idle = await RawPeer.open(port);
  idle.send(whole);
  assert.deepEqual(await idle.reply(), [...accepted(41, 0), 3]);
  await idle.closedByServer();
});

test("drain: a call in flight over TCP still gets its reply, then the connection ends", async () => {
  const server = createServer().add(V3, {
    SUM: ({ arg1, arg2 }) => arg1 + arg2,
    COUNT: (ms) => new Promise((r) => setTimeout(() => r(ms), ms)),
    BIG: () => "",
  });
  const address = await server.listen("tcp://127.0.0.1:0");
  const p = await RawPeer.open(Number(address.split(":").pop()));
  p.send(record(call(51, PROG, 3, 2, u32s(200))));
  await new Promise((r) => setTimeout(r, 50));
  const closing = server.close({ graceMs: 2_000 });
  assert.deepEqual(await p.reply(), [...accepted(51, 0), 200]);
  await p.closedByServer();
  await closing;
});
