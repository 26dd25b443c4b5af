// Calls the demo services of a farcall server through the browser entry and writes each outcome
// into the list: the result as text, or `CodeName: message` for an RpcError. `data-ms` holds how
// long the step took. The title becomes "done" when every step has run, or "error" when the
// page could not start.

const list = document.getElementById("results");

function fatal(err) {
  document.getElementById("fatal").textContent = `${err?.name ?? "Error"}: ${err?.message ?? String(err)}`;
  document.title = "error";
}

const server = new URLSearchParams(location.search).get("server");

let farcall;
try {
  if (!server) throw new Error("no ?server=host:port in the address");
  farcall = await import("/build/src/web/index.js");
} catch (err) {
  fatal(err);
}

if (farcall !== undefined) {
  try {
    await run(farcall);
    document.title = "done";
  } catch (err) {
    fatal(err);
  }
}

async function run({ createClient, defineService, unary, serverStream, bidiStream, RpcError, Code }) {
  const describe = (err) =>
    err instanceof RpcError
      ? `${Code[err.code] ?? err.code}: ${err.rawMessage}`
      : `not an RpcError: ${err?.name}: ${err?.message ?? String(err)}`;

  async function step(id, body) {
    const li = document.createElement("li");
    li.id = id;
    li.textContent = "pending";
    list.append(li);
    const started = performance.now();
    try {
      li.textContent = String(await body());
    } catch (err) {
      li.textContent = describe(err);
    }
    li.dataset.ms = String(Math.round(performance.now() - started));
  }

  const collect = async (stream) => {
    const got = [];
    for await (const item of stream) got.push(item);
    return got.join(",");
  };

  const abortAfter = (ms) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), ms);
    return controller.signal;
  };

  const Arith = defineService("Arith", {
    add: unary(),
    multiply: unary(),
    divide: unary(),
    count: serverStream(),
    // A plain method spec when the entry does not export bidiStream.
    chat: bidiStream ? bidiStream() : { kind: "bidi_stream" },
    sleep: unary(),
  });

  const clients = [];
  const open = (url) => {
    const client = createClient(url);
    clients.push(client);
    return client.service(Arith);
  };

  // farcall's HTTP JSON mapping.
  const http = open(`http://${server}`);
  await step("http-add", () => http.add({ a: 1, b: 2 }));
  await step("http-divide", () => http.divide({ a: 1, b: 0 }));
  await step("http-count", () => collect(http.count({ to: 5, delayMs: 10 })));
  await step("http-deadline", () => http.sleep({ ms: 2000 }, { timeoutMs: 100 }));
  await step("http-abort", () => http.sleep({ ms: 2000 }, { signal: abortAfter(100) }));
  await step("http-after", () => http.multiply({ a: 6, b: 7 }));

  // farcall framing over one WebSocket.
  const ws = open(`ws://${server}/`);
  await step("ws-add", () => ws.add({ a: 2, b: 3 }));
  await step("ws-divide", () => ws.divide({ a: 1, b: 0 }));
  await step("ws-count", () => collect(ws.count({ to: 5, delayMs: 10 })));
  await step("ws-chat", () => collect(ws.chat(["ping", "pong"])));
  await step("ws-break", async () => {
    const got = [];
    for await (const n of ws.count({ to: 1000, delayMs: 5 })) {
      got.push(n);
      if (got.length === 3) break;
    }
    return got.join(",");
  });
  await step("ws-deadline", () => ws.sleep({ ms: 2000 }, { timeoutMs: 100 }));
  await step("ws-abort", () => ws.sleep({ ms: 2000 }, { signal: abortAfter(100) }));
  await step("ws-after", () => ws.multiply({ a: 6, b: 7 }));

  // JSON-RPC 2.0 over HTTP and over WebSocket.
  const jsonrpcHttp = open(`jsonrpc+http://${server}/`);
  await step("jsonrpc-http-add", () => jsonrpcHttp.add({ a: 3, b: 4 }));
  await step("jsonrpc-http-divide", () => jsonrpcHttp.divide({ a: 1, b: 0 }));
  const jsonrpcWs = open(`jsonrpc+ws://${server}/`);
  await step("jsonrpc-ws-add", () => jsonrpcWs.add({ a: 4, b: 5 }));
  await step("jsonrpc-ws-divide", () => jsonrpcWs.divide({ a: 1, b: 0 }));

  await step("closed", async () => {
    await Promise.all(clients.map((client) => client.close()));
    return "yes";
  });
}
