// The demo server alone: `npm run server -- --host 127.0.0.1 --port 4000` (or `--listen unix:///tmp/farcall.sock`).
// It serves Arith and Time until stopped (Ctrl-C / SIGTERM), then drains gracefully. Every address
// answers farcall, JSON-RPC 2.0, Go net/rpc JSON, HTTP JSON, WebSocket and ONC RPC clients (docs/protocols.md;
// ONC RPC also over UDP on the same port number, `--no-udp` to leave it out; `--portmap` registers
// the Time program with the host's rpcbind and takes it back on drain);
// `--cors '*'` (or an origin) lets browser pages on other origins call it over HTTP.
// `--tls-cert FILE --tls-key FILE` serves every protocol over TLS too (plaintext as well unless
// `--no-plaintext`); `--tls-client-ca FILE` requires client certificates signed by that CA (mTLS).
// `--registry tcp://HOST:PORT [--service-version X.Y.Z]` announces its services in a farcall
// registry (docs/cluster.md), so clients call them by name: `registry://HOST:PORT/Arith`; each
// reply then says which replica served it (response metadata `served-by`: its address).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { announce, builtinProtocols, createServer, type Interceptor } from "../../src/index.js";
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
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "tls-client-ca": { type: "string" },
    "no-plaintext": { type: "boolean", default: false },
    registry: { type: "string" },
    "service-version": { type: "string" },
  },
});
const certFile = values["tls-cert"];
const keyFile = values["tls-key"];
if ((certFile === undefined) !== (keyFile === undefined)) throw new Error("--tls-cert and --tls-key go together");
const clientCa = values["tls-client-ca"];
const tls =
  certFile === undefined || keyFile === undefined
    ? undefined
    : {
        cert: readFileSync(certFile, "utf8"),
        key: readFileSync(keyFile, "utf8"),
        ca: clientCa === undefined ? undefined : readFileSync(clientCa, "utf8"),
        clientCertificates: clientCa === undefined ? ("none" as const) : ("require" as const),
        plaintext: !values["no-plaintext"],
      };
if (tls === undefined && (clientCa !== undefined || values["no-plaintext"])) {
  throw new Error("--tls-client-ca and --no-plaintext need --tls-cert and --tls-key");
}
const addresses = values.listen ?? [`tcp://${values.host}:${values.port}`];

const cors = values.cors;
/** With --registry, each reply names the replica that served it. */
const servedBy: Interceptor = (next) => async (req) => {
  const res = await next(req);
  return { ...res, metadata: { ...res.metadata, "served-by": server.addresses[0] ?? "" } };
};
const server = createServer({
  interceptors: values.registry === undefined ? [] : [servedBy],
  onError: (err, method) => console.error(`handler ${method.path} failed:`, err),
  onConnectionError: (err, peer) => console.error(`connection from ${peer.address} refused: ${err.message}`),
  tls,
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
  console.log(
    `farcall demo server listening on ${bound}${tls === undefined ? "" : tls.plaintext ? " (TLS and plaintext)" : " (TLS only)"}`,
  );
  if (udp) console.log(`farcall demo server listening on udp://${bound.slice("tcp://".length)} (ONC RPC)`);
}

if (values.registry !== undefined) {
  announce(server, values.registry, { version: values["service-version"] });
  console.log(`announcing ${server.addresses[0]} in the registry at ${values.registry}`);
} else if (values["service-version"] !== undefined) throw new Error("--service-version needs --registry");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`${signal}: draining`);
    void server.close({ graceMs: 5_000 }).then(() => console.log("closed"));
  });
}
