// The demo server alone: `npm run server -- --host 127.0.0.1 --port 4000` (or `--listen unix:///tmp/farcall.sock`).
// It serves Arith and Time until stopped (Ctrl-C / SIGTERM), then drains gracefully. Every address
// answers farcall, JSON-RPC 2.0, Go net/rpc JSON, HTTP JSON, WebSocket and ONC RPC clients (docs/protocols.md;
// ONC RPC also over UDP on the same port number, `--no-udp` to leave it out; `--portmap` registers
// the Time program with the host's rpcbind and takes it back on drain);
// `--cors '*'` (or an origin) lets browser pages on other origins call it over HTTP.
import { parseArgs } from "node:util";
import { builtinProtocols, createServer } from "../../src/index.js";
import { Arith, arithImpl, oncTimeImpl, Time, timeImpl } from "./services.js";
import { TIMEPROG_PRINTIMEVERS } from "./time-prog.js";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "4000" },
    listen: { type: "string", multiple: true },
    cors: { type: "string", multiple: true },
    "no-udp": { type: "boolean", default: false },
    portmap: { type: "boolean", default: false },
  },
});
const addresses = values.listen ?? [`tcp://${values.host}:${values.port}`];

const cors = values.cors;
const server = createServer({
  onError: (err, method) => console.error(`handler ${method.path} failed:`, err),
  protocols: builtinProtocols({
    http: { corsOrigins: cors === undefined ? undefined : cors.includes("*") ? "*" : cors },
    oncrpc: { register: values.portmap },
  }),
})
  .add(
    Arith,
    arithImpl((line) => console.log(`log: ${line}`)),
  )
  .add(Time, timeImpl)
  .add(TIMEPROG_PRINTIMEVERS, oncTimeImpl);
for (const address of addresses) {
  const udp = address.startsWith("tcp://") && !values["no-udp"];
  const bound = await server.listen(address, { udp });
  console.log(`farcall demo server listening on ${bound}`);
  if (udp) console.log(`farcall demo server listening on udp://${bound.slice("tcp://".length)} (ONC RPC)`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`${signal}: draining`);
    void server.close({ graceMs: 5_000 }).then(() => console.log("closed"));
  });
}
