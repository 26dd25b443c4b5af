#!/usr/bin/env node
// The `farcall` command. Each command is one module exporting `run(args)`; nothing imports cli/.
import { argv, exit, stderr, stdout } from "node:process";
import { RpcError } from "../core/rpc-error.js";
import { callCommand } from "./call.js";
import { genCommand } from "./gen.js";
import { portmapCommand } from "./portmap.js";
import { registryCommand } from "./registry.js";
import { rpcinfoCommand } from "./rpcinfo.js";

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  run(args: string[]): Promise<number>;
}

const commands: readonly Command[] = [callCommand, genCommand, portmapCommand, registryCommand, rpcinfoCommand];

const usage = `usage: farcall <command> [options]

commands:
${commands.map((c) => `  ${c.name.padEnd(10)}${c.summary}`).join("\n")}

Run "farcall <command> --help" for a command's options.
`;

async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    stdout.write(usage);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    stderr.write(`farcall: unknown command ${JSON.stringify(name)}\n\n${usage}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    stdout.write(command.help);
    return 0;
  }
  return command.run(rest);
}

main(argv.slice(2)).then(
  (code) => {
    exit(code);
  },
  (err: unknown) => {
    const e = RpcError.from(err);
    stderr.write(
      `farcall: ${err instanceof RpcError || e.code !== 2 ? e.message : String((err as Error)?.message ?? err)}\n`,
    );
    exit(1);
  },
);
