// The protocol seam, shown working from outside: a toy protocol (one line of text per call) plugs
// into farcall with one object and one registration, through the `farcall/protocol` entry alone,
// touching nothing else. It then shares a port with the built-in protocols, can be the only
// protocol of a listener, and runs over an in-memory connection pair.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Arith, arithImpl } from "../examples/demo/services.js";
import {
  type CallTransport,
  Code,
  codeFromString,
  codeToString,
  createClient,
  createServer,
  RpcError,
} from "../src/index.js";
import {
  type AttachableStream,
  builtinProtocols,
  type ChannelSession,
  memoryPair,
  type Protocol,
  UnaryCall,
} from "../src/protocol/index.js";
import { rejectsWith } from "./fixtures.js";
import { trackCleanups } from "./helpers.js";

const cleanups = trackCleanups();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const prefix = encoder.encode("call ");
/** Longest line either side keeps: a toy still bounds what a peer can make it hold. */
const maxLineBytes = 64 * 1024;

/** Cuts a byte stream into lines; false once a line grows past the bound. */
function lines(onLine: (line: string) => void): (chunk: Uint8Array) => boolean {
  let partial = "";
  return (chunk) => {
    const parts = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = parts.pop() as string;
    for (const line of parts) onLine(line);
    return partial.length <= maxLineBytes;
  };
}

/** The client side: `call <id> <path> <json>` out, `ok <id> <json>` or `err <id> <code> <text>` in. */
class LineSession implements ChannelSession {
  closed = false;
  established = false;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: RpcError) => void }>();

  constructor(
    private readonly stream: AttachableStream,
    onClose: (err: RpcError) => void,
  ) {
    const feed = lines((line) => {
      const m = /^(ok|err) (\d+) (\S+)(?: (.*))?$/.exec(line);
      const p = m === null ? undefined : this.pending.get(Number(m[2]));
      if (m === null || p === undefined) return;
      this.pending.delete(Number(m[2]));
      this.established = true;
      if (m[1] === "ok") p.resolve(JSON.parse(m[3] as string));
      else p.reject(new RpcError(codeFromString(m[3] as string), m[4] ?? ""));
    });
    stream.attach({
      onData: (chunk) => {
        if (!feed(chunk)) stream.destroy();
      },
      onClose: () => {
        this.closed = true;
        const err = new RpcError(Code.Unavailable, "connection closed");
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        onClose(err);
      },
    });
  }

  get usable(): boolean {
    return !this.closed;
  }

  async call(method: { path: string }, input: unknown) {
    const id = this.nextId++;
    const output = await new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.stream.write([encoder.encode(`call ${id} ${method.path} ${JSON.stringify(input ?? null)}\n`)]);
    });
    return { output, metadata: Object.create(null) };
  }

  ping(): Promise<number> {
    return Promise.reject(new RpcError(Code.Unimplemented, "the line protocol has no ping"));
  }

  shutdown(): void {
    this.stream.end();
  }
}

/** The whole toy protocol: recogniser, server side, and the `line+tcp://` client. */
function lineProtocol(): Protocol {
  return {
    name: "line",
    sniff(bytes) {
      const n = Math.min(bytes.length, prefix.length);
      for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return "no";
      return n === prefix.length ? "yes" : "more";
    },
    serve({ stream, first, handshakeDone }, ctx) {
      handshakeDone();
      const reply = (text: string) => stream.write([encoder.encode(`${text}\n`)]);
      const fail = (id: string, err: unknown) => {
        const e = ctx.dispatcher.toWire(err, { path: "?" } as never);
        reply(`err ${id} ${codeToString(e.code)} ${e.rawMessage}`);
      };
      const feed = lines((line) => {
        const m = /^call (\d+) (\S+) (.*)$/.exec(line);
        if (m === null) return reply("err 0 invalid_argument malformed line");
        const [, id, path, json] = m as unknown as [string, string, string, string];
        const method = ctx.dispatcher.resolve(path);
        if (method === undefined) return fail(id, new RpcError(Code.Unimplemented, `unknown method ${path}`));
        const call = new UnaryCall(method, Object.create(null), stream.peer, undefined);
        try {
          Promise.resolve(call.run(ctx.dispatcher, JSON.parse(json))).then(
            (out) => reply(`ok ${id} ${JSON.stringify(out ?? null)}`),
            (err: unknown) => fail(id, err),
          );
        } catch (err) {
          fail(id, err);
        }
      });
      const untrack = ctx.track({ goAway: () => stream.end(), forceClose: () => stream.destroy() });
      const handler = {
        onData: (chunk: Uint8Array) => {
          if (!feed(chunk)) stream.destroy();
        },
        onClose: () => untrack(),
      };
      stream.attach(handler);
      handler.onData(first);
    },
    schemes: {
      "line+tcp": (ctx): CallTransport => {
        const open = ctx.dialStream(`tcp://${ctx.rest}`);
        return ctx.channel((hooks) => open().then((s) => new LineSession(s, hooks.onClose)));
      },
    },
  };
}

async function serve(listen?: { protocols: string[] }) {
  const protocols = [...builtinProtocols(), lineProtocol()];
  const server = createServer({ protocols }).add(
    Arith,
    arithImpl(() => {}),
  );
  const address = await server.listen("tcp://127.0.0.1:0", listen);
  cleanups.push(() => server.close({ graceMs: 500 }));
  const client = (scheme: string) => {
    const c = createClient(`${scheme}://${new URL(address).host}`, { protocols });
    cleanups.push(() => c.close());
    return c.service(Arith);
  };
  return { server, client };
}

describe("a toy protocol through the seam", () => {
  test("shares a port with farcall framing and JSON-RPC", async () => {
    const { client } = await serve();
    assert.equal(await client("line+tcp").add({ a: 2, b: 3 }), 5);
    assert.equal(await client("tcp").add({ a: 4, b: 5 }), 9);
    assert.equal(await client("jsonrpc+tcp").multiply({ a: 6, b: 7 }), 42);
    const err = await rejectsWith(client("line+tcp").divide({ a: 1, b: 0 }), Code.InvalidArgument);
    assert.match(err.rawMessage, /divide by zero/);
  });

  test("a listener told to speak only it refuses the others", async () => {
    const { client } = await serve({ protocols: ["line"] });
    assert.equal(await client("line+tcp").multiply({ a: 3, b: 3 }), 9);
    const err = await rejectsWith(client("tcp").add({ a: 1, b: 1 }), Code.Unavailable);
    assert.match(err.rawMessage, /preface/);
  });

  test("listen() refuses a protocol name the server does not have", async () => {
    const server = createServer();
    await assert.rejects(server.listen("tcp://127.0.0.1:0", { protocols: ["line"] }), /unknown protocol "line"/);
    await server.close();
  });

  test("runs over an in-memory connection pair, sockets not needed", async () => {
    const protocols = [lineProtocol()];
    const server = createServer({ protocols }).add(
      Arith,
      arithImpl(() => {}),
    );
    cleanups.push(() => server.close({ graceMs: 500 }));
    const [a, b] = memoryPair();
    server.serveStream(a);
    let closed: RpcError | undefined;
    const session = new LineSession(b, (err) => {
      closed = err;
    });
    assert.deepEqual((await session.call({ path: "Arith/add" }, { a: 20, b: 22 })).output, 42);
    await rejectsWith(session.call({ path: "Arith/nope" }, {}), Code.Unimplemented);
    session.shutdown();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(closed?.code, Code.Unavailable);
  });
});

describe("client address schemes", () => {
  test("a scheme no protocol owns is refused by createClient, digits and all", () => {
    for (const address of ["h2c://127.0.0.1:1", "line+tcp://127.0.0.1:1", "x-1.2://h:1"]) {
      assert.throws(
        () => createClient(address),
        (err: unknown) =>
          err instanceof RpcError && err.code === Code.InvalidArgument && /unknown address scheme/.test(err.rawMessage),
        address,
      );
    }
  });
});
