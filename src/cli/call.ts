import { readFileSync } from "node:fs";
import { stdout } from "node:process";
import { parseArgs } from "node:util";
import type { ClientOptions } from "../client/client.js";
import { toBase64 } from "../codec/base64.js";
import { xdrFromJson, xdrToJson } from "../codec/xdr/json.js";
import type { XdrType } from "../codec/xdr/types.js";
import { createClient } from "../connect.js";
import { Code } from "../core/code.js";
import { RpcError } from "../core/rpc-error.js";
import { defineService, type MethodDescriptor, type ServiceDescriptor, unary } from "../core/service.js";
import { compileX } from "../idl/index.js";
import type { Command } from "./main.js";

export const callCommand: Command = {
  name: "call",
  summary: "call a method on any address farcall can dial, print the reply as JSON",
  help: `usage: farcall call <address> <method> [json] [--idl file.x] [--timeout ms]
                    [--cacert file] [--cert file --key file] [--token t] [--hmac-key id:secret]

Calls one unary method and prints its reply as one line of JSON; on failure prints the error's
code and message and exits 1.

  address   any address a farcall client takes: tcp://host:port, tls://host:port,
            http(s)://host:port, wss://…, jsonrpc+tcp://…, jsonrpc+tls://…, gorpc+tcp://…,
            oncrpc+tcp://host:port, oncrpc+udp://host:port …
  method    Service/method (or Service.method); with --idl, PROGRAM.VERSION.PROCEDURE by the
            names in the .x file, or by numbers (536870913.1.1)
  json      the input (default: none); with --idl, in the JSON mapping of docs/xdr.md

options:
      --idl <file.x>    the .x file that defines the method (ONC RPC, XDR types)
      --timeout <ms>    the call's deadline (default 10000)
      --cacert <file>   trust the CAs in this PEM file for TLS (default the system's)
      --cert <file>     a client certificate (PEM) for mTLS, with --key <file>
      --token <t>       send "authorization: Bearer <t>"
      --hmac-key <id:secret>  sign the call with HMAC-SHA256 under key id (docs/security.md)
  -h, --help            this text
`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        idl: { type: "string" },
        timeout: { type: "string", default: "10000" },
        cacert: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        token: { type: "string" },
        "hmac-key": { type: "string" },
      },
    });
    const [address, name, json] = positionals;
    if (address === undefined || name === undefined || positionals.length > 3) {
      throw new RpcError(Code.InvalidArgument, "call needs <address> <method> [json] (farcall call --help)");
    }
    const timeoutMs = Number(values.timeout);
    if (!(Number.isInteger(timeoutMs) && timeoutMs > 0))
      throw new RpcError(Code.InvalidArgument, "--timeout must be a whole number of ms > 0");
    let input: unknown;
    if (json !== undefined) {
      try {
        input = JSON.parse(json);
      } catch (err) {
        throw new RpcError(Code.InvalidArgument, `the input is not JSON: ${(err as Error).message}`);
      }
    }
    const method = values.idl === undefined ? plainMethod(name) : await idlMethod(values.idl, name);
    const wire = method.wire as { input?: XdrType; output?: XdrType } | undefined;
    const client = createClient(address, clientOptions(values));
    try {
      const arg = wire?.input !== undefined ? xdrFromJson(wire.input, input ?? null) : input;
      const { output: out } = await client.invoke(method, arg, { timeoutMs });
      const shown = wire?.output !== undefined ? xdrToJson(wire.output, out) : out;
      stdout.write(`${JSON.stringify(shown ?? null, jsonReplacer)}\n`);
      return 0;
    } finally {
      await client.close();
    }
  },
};

/** The TLS, token and HMAC options of the command line. */
function clientOptions(values: {
  cacert?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  token?: string | undefined;
  "hmac-key"?: string | undefined;
}): ClientOptions {
  const options: ClientOptions = {};
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new RpcError(Code.InvalidArgument, "--cert and --key go together");
  }
  const read = (file: string) => readFileSync(file, "utf8");
  if (values.cacert !== undefined || values.cert !== undefined) {
    options.tls = {
      ca: values.cacert === undefined ? undefined : read(values.cacert),
      cert: values.cert === undefined ? undefined : read(values.cert),
      key: values.key === undefined ? undefined : read(values.key),
    };
  }
  if (values.token !== undefined) options.token = values.token;
  const hmac = values["hmac-key"];
  if (hmac !== undefined) {
    const at = hmac.indexOf(":");
    if (at <= 0) throw new RpcError(Code.InvalidArgument, "--hmac-key takes id:secret");
    options.hmac = { keyId: hmac.slice(0, at), secret: hmac.slice(at + 1) };
  }
  return options;
}

/** bigint as a decimal string, bytes as `{ "$bytes": base64 }` (farcall's JSON convention). */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return String(value);
  if (value instanceof Uint8Array) return { $bytes: toBase64(value) };
  return value;
}

function plainMethod(name: string): MethodDescriptor {
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)[/.]([A-Za-z_][A-Za-z0-9_]*)$/.exec(name);
  if (m === null) throw new RpcError(Code.InvalidArgument, `method ${JSON.stringify(name)}: expected Service/method`);
  const service = defineService(m[1] as string, { [m[2] as string]: unary() });
  return service.methods.get(m[2] as string) as MethodDescriptor;
}

/** The method `PROGRAM.VERSION.PROCEDURE` (names or numbers) of a .x file, compiled and loaded now. */
async function idlMethod(file: string, name: string): Promise<MethodDescriptor> {
  const { code } = compileX(readFileSync(file, "utf8"), {
    fileName: file,
    language: "js",
    importFrom: new URL("../index.js", import.meta.url).href,
  });
  const module = (await import(`data:text/javascript,${encodeURIComponent(code)}`)) as Record<string, unknown>;
  const services = Object.values(module).filter(
    (v): v is ServiceDescriptor =>
      typeof v === "object" && v !== null && (v as ServiceDescriptor).methods instanceof Map,
  );
  const parts = name.split(".");
  if (parts.length !== 3)
    throw new RpcError(Code.InvalidArgument, `method ${JSON.stringify(name)}: expected PROGRAM.VERSION.PROCEDURE`);
  const [prog, vers, proc] = parts as [string, string, string];
  const num = (s: string) => (/^(0x[0-9a-f]+|[0-9]+)$/i.test(s) ? Number(s) : undefined);
  for (const service of services) {
    for (const m of service.methods.values()) {
      const [p, v] = service.name.split(".");
      const progOk = num(prog) === undefined ? p === prog : m.program === num(prog);
      const versOk = num(vers) === undefined ? v === vers : m.version === num(vers);
      const procOk = num(proc) === undefined ? m.name === proc : m.id === num(proc);
      if (progOk && versOk && procOk) return m;
    }
  }
  const all = services.flatMap((s) => [...s.methods.keys()].map((k) => `${s.name}.${k}`));
  const known = all.length > 8 ? `${all.slice(0, 8).join(", ")} and ${all.length - 8} more` : all.join(", ");
  throw new RpcError(Code.InvalidArgument, `${file} has no procedure ${name} (it has ${known || "none"})`);
}
