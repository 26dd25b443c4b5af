// Run inside a network and mount namespace with Debian's rpcbind started (test/interop-rpcbind.test.ts):
// a farcall server registers with rpcbind, rpcinfo lists it, rpcgen's C client finds it through
// rpcbind, a farcall client without a port finds it, and after the server's drain rpcinfo no
// longer lists it; then rpcgen's C server registers and a farcall client finds that one.
// Prints one JSON object of what it saw. Usage: node rpcbind-scenario.mjs <dir of the C programs>
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { oncTimeImpl } from "../../dist/examples/demo/services.js";
import { TIMEPROG_PRINTIMEVERS } from "../../dist/examples/demo/time-prog.js";
import { builtinProtocols, createClient, createServer } from "../../dist/src/index.js";

const bin = process.argv[2];
const run = async (file, ...args) => {
  try {
    return (await promisify(execFile)(file, args, { timeout: 15_000 })).stdout;
  } catch (err) {
    return `exit ${err.code}: ${err.stdout}${err.stderr}`;
  }
};
const listed = async () => (await run("rpcinfo", "-p", "127.0.0.1")).split("\n").filter((l) => /536870913/.test(l));
const call = async (address) => {
  const client = createClient(address);
  try {
    return await client.service(TIMEPROG_PRINTIMEVERS).PRINTIME("farcall", { timeoutMs: 5_000 });
  } catch (err) {
    return `error: ${err.message}`;
  } finally {
    await client.close();
  }
};

const seen = {};
const server = createServer({ protocols: builtinProtocols({ oncrpc: { register: true } }) }).add(
  TIMEPROG_PRINTIMEVERS,
  oncTimeImpl,
);
const address = await server.listen("tcp://127.0.0.1:0", { udp: true });
seen.port = Number(address.split(":").pop());
seen.registered = await listed();
seen.rpcinfo = await run("rpcinfo", "-p", "127.0.0.1");
const cli = new URL("../../dist/src/cli/main.js", import.meta.url).pathname;
seen.farcallRpcinfo = await run(process.execPath, cli, "rpcinfo", "-p", "127.0.0.1");
seen.cTcp = await run(join(bin, "time_client"), "127.0.0.1", "tcp", "C over tcp");
seen.cUdp = await run(join(bin, "time_client"), "127.0.0.1", "udp", "C over udp");
seen.farcallTcp = await call("oncrpc+tcp://127.0.0.1");
seen.farcallUdp = await call("oncrpc+udp://127.0.0.1");
await server.close();
seen.afterDrain = await listed();

const c = spawn(join(bin, "time_server"), [], { stdio: ["ignore", "pipe", "pipe"] });
await new Promise((resolve) => c.stdout.once("data", resolve));
seen.cRegistered = await listed();
seen.farcallToC = await call("oncrpc+udp://127.0.0.1");
c.kill("SIGTERM");
await new Promise((resolve) => c.once("exit", resolve));
seen.afterC = await listed();
console.log(JSON.stringify(seen));
