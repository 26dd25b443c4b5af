import process, { stdout } from "node:process";
import { parseArgs } from "node:util";
import { createPortmapper } from "../discovery/portmapper.js";
import type { Command } from "./main.js";

/** Where rpcbind listens, and where libtirpc's servers and clients look for it. */
const defaults = ["tcp://127.0.0.1:111", "tcp://[::1]:111", "unix:///run/rpcbind.sock"];

export const portmapCommand: Command = {
  name: "portmap",
  summary: "run a port mapper (rpcbind's program 100000, versions 2-4) where none runs",
  help: `usage: farcall portmap [--listen address]...

Serves program 100000 versions 2, 3 and 4 (NULL, SET, UNSET, GETPORT/GETADDR, DUMP, GETTIME) so
that rpcinfo, rpcgen's programs and farcall's ONC RPC use it as they would rpcbind. SET and UNSET
are taken only from this machine; CALLIT, BCAST and INDIRECT are not served. Runs until SIGINT or
SIGTERM. Each tcp:// address is served on UDP too.

options:
      --listen <address>  tcp://host:port or unix:///path; may be given several times
                          (default: ${defaults.join(", ")})
  -h, --help              this text
`,
  async run(args) {
    const { values } = parseArgs({ args, options: { listen: { type: "string", multiple: true } } });
    const pm = await createPortmapper({ listen: values.listen ?? defaults });
    for (const a of pm.addresses) stdout.write(`farcall portmap listening on ${a}\n`);
    await new Promise<void>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
    });
    await pm.close();
    return 0;
  },
};
