// Every compared system, in table order. raw-net comes first: it is the yardstick. Each is loaded
// only when asked for, so that a server child holds only its own system's code (its peak RSS is
// part of the results).

import type { BenchSystem } from "../system.js";

const loaders: Record<string, () => Promise<BenchSystem>> = {
  "raw-net": async () => (await import("./raw-net.js")).rawNet,
  "raw-msgpackr": async () => (await import("./raw-net.js")).rawMsgpackr,
  "farcall-msgpack": async () => (await import("./farcall.js")).farcallMsgpack,
  "farcall-json": async () => (await import("./farcall.js")).farcallJson,
  "farcall-zod": async () => (await import("./farcall.js")).farcallZod,
  "grpc-js": async () => (await import("./grpc-js.js")).grpcJs,
  jayson: async () => (await import("./jayson.js")).jaysonTcp,
  "farcall-jsonrpc": async () => (await import("./farcall-jsonrpc.js")).farcallJsonRpc,
  "oncrpc-c": async () => (await import("./oncrpc.js")).oncrpcC,
  "oncrpc-farcall": async () => (await import("./oncrpc.js")).oncrpcFarcall,
  "raw-tls": async () => (await import("./raw-net.js")).rawTls,
  "farcall-tls": async () => (await import("./farcall.js")).farcallTls,
  "grpc-js-tls": async () => (await import("./grpc-js.js")).grpcJsTls,
  "farcall-hmac": async () => (await import("./farcall.js")).farcallHmac,
  "farcall-cluster": async () => (await import("./farcall.js")).farcallCluster,
};

export const systemNames: readonly string[] = Object.keys(loaders);

/** Systems whose client can receive a server stream (jayson has no streaming). */
export const streamingSystems: readonly string[] = ["raw-net", "farcall-msgpack", "grpc-js"];

export function loadSystem(name: string): Promise<BenchSystem> {
  const load = loaders[name];
  if (load === undefined) throw new Error(`unknown system ${name}; known: ${systemNames.join(", ")}`);
  return load();
}
