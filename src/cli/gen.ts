import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { stdout } from "node:process";
import { parseArgs } from "node:util";
import { compileX } from "../idl/index.js";
import type { Command } from "./main.js";

export const genCommand: Command = {
  name: "gen",
  summary: "compile .x files (rpcgen's language) to TypeScript",
  help: `usage: farcall gen <file.x>... [--out <dir>] [--import <module>]

Writes one TypeScript module per .x file: its types, XDR descriptors, constants, and a farcall
service for each program version (docs/idl.md).

options:
  -o, --out <dir>        where to write the modules (default: next to each .x file)
      --import <module>  the module the generated code imports farcall from (default: farcall)
  -h, --help             this text
`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { out: { type: "string", short: "o" }, import: { type: "string" } },
    });
    if (positionals.length === 0) throw new Error("gen needs at least one .x file (farcall gen --help)");
    for (const file of positionals) {
      const { fileName, code } = compileX(readFileSync(file, "utf8"), {
        fileName: basename(file),
        ...(values.import === undefined ? {} : { importFrom: values.import }),
      });
      const dir = values.out ?? file.slice(0, file.length - basename(file).length);
      if (values.out !== undefined) mkdirSync(dir, { recursive: true });
      const target = join(dir || ".", fileName);
      writeFileSync(target, code);
      stdout.write(`${file} -> ${target}\n`);
    }
    return 0;
  },
};
