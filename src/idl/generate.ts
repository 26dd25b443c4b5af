// Checks a parsed `.x` file and writes its TypeScript module: the types, the XDR descriptors
// (`xdr_<name>`, as rpcgen names its C filters), the constants, and one farcall service per
// program version (docs/idl.md).
import { idlError, type Token } from "./lexer.js";
import type { Decl, Definition, EnumBody, StructBody, TypeSpec, UnionBody, Value } from "./parser.js";

export interface GenerateOptions {
  /** The file name in error messages and in the module's header. */
  readonly fileName: string;
  /** Where the generated code imports farcall from. Default `farcall`. */
  readonly importFrom?: string | undefined;
  /** `js`: the same module without its types, to import at run time (`farcall call --idl`). Default `ts`. */
  readonly language?: "ts" | "js" | undefined;
}

/**
 * The module without its TypeScript: the generator's lines have few shapes (type aliases and
 * interfaces on lines of their own, `: XdrType` annotations, `unary<…>(` and `as const`), so this
 * is a fixed set of edits, not a parse.
 */
function stripTypes(ts: string): string {
  const out: string[] = [];
  let inInterface = false;
  for (const line of ts.split("\n")) {
    if (inInterface) {
      inInterface = line !== "}";
      continue;
    }
    if (line.startsWith("export interface ")) {
      inInterface = !line.endsWith("}");
      continue;
    }
    if (line.startsWith("export type ")) continue;
    out.push(
      line
        .replace(/^(import \{ .*)\btype XdrType, |, type XdrType\b/, "$1")
        .replace(/^( {2}\w+: unary)<.*>\(\{$/, "$1({")
        .replaceAll("(): XdrType =>", "() =>")
        .replace(/^(export const \w+): XdrType = /, "$1 = ")
        .replace(/ as const;$/, ";"),
    );
  }
  return out.join("\n");
}

const tsReserved = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "implements interface let package private protected public static yield await any boolean number string symbol " +
    "bigint object never unknown undefined Uint8Array Array Record Exclude XdrType xdr defineService unary"
  ).split(" "),
);

type Named =
  | { k: "const"; value: bigint }
  | { k: "enum-member"; value: bigint; owner: string | undefined }
  | { k: "type"; def: Definition; order: number };

class Generator {
  private readonly names = new Map<string, Named>();
  private readonly lines: string[] = [];
  /** Index of the definition being written: named types at or after it are referenced lazily. */
  private current = 0;
  private usesLazy = false;

  constructor(
    private readonly defs: readonly Definition[],
    private readonly file: string,
  ) {}

  private fail(at: Token, what: string): never {
    throw idlError(this.file, at.line, at.column, what);
  }

  private declare(name: string, at: Token, named: Named): void {
    if (this.names.has(name)) this.fail(at, `${name} is already defined`);
    if (tsReserved.has(name)) this.fail(at, `${name} cannot be a name in the generated TypeScript`);
    this.names.set(name, named);
  }

  private readonly enums = new Map<EnumBody, Map<string, bigint>>();

  /** An enum's members and values; the first call declares them as constants. */
  private enumMembers(body: EnumBody, owner: string | undefined): Map<string, bigint> {
    const known = this.enums.get(body);
    if (known !== undefined) return known;
    const out = new Map<string, bigint>();
    this.enums.set(body, out);
    let next = 0n;
    for (const m of body.members) {
      const v = m.value === undefined ? next : this.value(m.value, -(2n ** 31n), 2n ** 31n - 1n);
      this.declare(m.name, m.at, { k: "enum-member", value: v, owner });
      out.set(m.name, v);
      next = v + 1n;
    }
    return out;
  }

  /** The number a value stands for, checked to lie in [min, max]. */
  private value(v: Value, min: bigint, max: bigint): bigint {
    let n: bigint;
    if ("num" in v) n = v.num;
    else if (v.ident === "TRUE" || v.ident === "FALSE") n = v.ident === "TRUE" ? 1n : 0n;
    else {
      const named = this.names.get(v.ident);
      if (named === undefined || named.k === "type") {
        this.fail(v.at, named === undefined ? `${v.ident} is not a constant` : `${v.ident} is a type, not a constant`);
      }
      n = named.value;
    }
    if (n < min || n > max) this.fail(v.at, `${n} is out of range (${min} to ${max})`);
    return n;
  }

  private count(v: Value | undefined): number | undefined {
    return v === undefined ? undefined : Number(this.value(v, 0n, 0xffff_ffffn));
  }

  // ---- types -----------------------------------------------------------------------------------

  private lookupType(name: string, at: Token): Definition {
    const named = this.names.get(name);
    if (named?.k !== "type")
      this.fail(at, named === undefined ? `type ${name} is not defined` : `${name} is not a type`);
    return named.def;
  }

  /** The descriptor expression of a type specifier. */
  private specDesc(t: TypeSpec): string {
    switch (t.k) {
      case "prim":
        return t.name === "string" ? "xdr.string()" : `xdr.${t.name}`;
      case "named": {
        const named = this.names.get(t.name);
        this.lookupType(t.name, t.at);
        if (named?.k === "type" && named.order < this.current) return `xdr_${t.name}`;
        this.usesLazy = true;
        return `xdr.lazy((): XdrType => xdr_${t.name})`;
      }
      case "enum":
        return `xdr.enum(undefined, ${this.enumObject(this.enumMembers(t.body, undefined))})`;
      case "struct":
        return this.structDesc(undefined, t.body);
      case "union":
        return this.unionDesc(undefined, t.body);
    }
  }

  private specTs(t: TypeSpec): string {
    switch (t.k) {
      case "prim":
        return {
          int: "number",
          uint: "number",
          float: "number",
          double: "number",
          quadruple: "never",
          hyper: "bigint",
          uhyper: "bigint",
          bool: "boolean",
          string: "string",
        }[t.name];
      case "named":
        this.lookupType(t.name, t.at);
        return t.name;
      case "enum":
        return [...this.enumMembersOf(t.body).values()].map(String).join(" | ");
      case "struct":
        return this.structTs(t.body);
      case "union":
        return this.unionTs(t.body);
    }
  }

  private enumMembersOf(body: EnumBody): Map<string, bigint> {
    return this.enumMembers(body, undefined);
  }

  private enumObject(members: Map<string, bigint>): string {
    return `{ ${[...members].map(([k, v]) => `${k}: ${v}`).join(", ")} }`;
  }

  private declDesc(d: Decl): string {
    if (d.void) return "xdr.void";
    const size = this.count(d.size);
    if (d.type === "opaque") return d.shape === "fixed" ? `xdr.opaque(${size})` : `xdr.varOpaque(${size ?? ""})`;
    if (d.type === "string") return `xdr.string(${size ?? ""})`;
    const inner = this.specDesc(d.type);
    switch (d.shape) {
      case "plain":
        return inner;
      case "optional":
        return `xdr.optional(${inner})`;
      case "fixed":
        return `xdr.array(${inner}, ${size})`;
      case "var":
        return `xdr.varArray(${inner}${size === undefined ? "" : `, ${size}`})`;
    }
  }

  private declTs(d: Decl): string {
    if (d.void) return "void";
    if (d.type === "opaque") return "Uint8Array";
    if (d.type === "string") return "string";
    const inner = this.specTs(d.type);
    const wrapped = /^[A-Za-z0-9_]+$/.test(inner) ? inner : `(${inner})`;
    switch (d.shape) {
      case "plain":
        return inner;
      case "optional":
        return `${wrapped} | null`;
      case "fixed":
      case "var":
        return `${wrapped}[]`;
    }
  }

  private structDesc(name: string | undefined, body: StructBody): string {
    const fields = body.fields.map((f) => {
      if (f.void) this.fail(f.at, "expected a field, not void, in a struct");
      return `["${f.name}", ${this.declDesc(f)}]`;
    });
    this.uniqueFields(body.fields);
    return `xdr.struct(${name === undefined ? "undefined" : `"${name}"`}, [${fields.join(", ")}])`;
  }

  private uniqueFields(fields: readonly Decl[]): void {
    const seen = new Set<string>();
    for (const f of fields) {
      if (f.void) continue;
      if (seen.has(f.name)) this.fail(f.at, `field ${f.name} is declared twice`);
      if (f.name === "__proto__") this.fail(f.at, "__proto__ cannot be a field name");
      seen.add(f.name);
    }
  }

  private structTs(body: StructBody): string {
    return `{ ${body.fields.map((f) => (f.void ? "" : `${f.name}: ${this.declTs(f)};`)).join(" ")} }`;
  }

  /** The discriminant's kind, and for an enum its members. */
  private discriminantOf(d: Decl): {
    kind: "int" | "uint" | "bool" | "enum";
    members?: Map<string, bigint>;
    ts: string;
  } {
    if (d.void || d.shape !== "plain" || typeof d.type === "string")
      this.fail(d.at, "expected an int, unsigned int, enum or bool discriminant");
    let t: TypeSpec = d.type;
    let tsName = "";
    // Follow typedefs to the type they name.
    for (let hops = 0; t.k === "named" && hops < 32; hops++) {
      const def = this.lookupType(t.name, t.at);
      tsName ||= t.name;
      if (def.k === "enum") return { kind: "enum", members: this.enumMembersOf(def.body), ts: tsName };
      if (def.k === "typedef" && !def.decl.void && def.decl.shape === "plain" && typeof def.decl.type !== "string")
        t = def.decl.type;
      else break;
    }
    if (t.k === "prim" && (t.name === "int" || t.name === "uint" || t.name === "bool"))
      return { kind: t.name, ts: this.specTs(t) };
    if (t.k === "enum") return { kind: "enum", members: this.enumMembersOf(t.body), ts: this.specTs(t) };
    this.fail(d.at, "expected an int, unsigned int, enum or bool discriminant");
  }

  private caseValues(u: UnionBody, disc: ReturnType<Generator["discriminantOf"]>): bigint[][] {
    const range: [bigint, bigint] =
      disc.kind === "uint" ? [0n, 0xffff_ffffn] : disc.kind === "bool" ? [0n, 1n] : [-(2n ** 31n), 2n ** 31n - 1n];
    const seen = new Set<bigint>();
    return u.arms.map((arm) =>
      arm.cases.map((c) => {
        const v = this.value(c, range[0], range[1]);
        if (disc.members !== undefined && ![...disc.members.values()].includes(v))
          this.fail(c.at, `${v} is not a value of the discriminant's enum`);
        if (seen.has(v)) this.fail(c.at, `case ${v} appears twice`);
        seen.add(v);
        return v;
      }),
    );
  }

  private unionDesc(name: string | undefined, u: UnionBody): string {
    const disc = this.discriminantOf(u.discriminant);
    const dname = (u.discriminant as { name: string }).name;
    const cases = this.caseValues(u, disc);
    this.uniqueFields([u.discriminant, ...u.arms.map((a) => a.decl), ...(u.default ? [u.default] : [])]);
    const arm = (d: Decl) => (d.void ? `type: xdr.void` : `name: "${d.name}", type: ${this.declDesc(d)}`);
    const arms = u.arms.map((a, i) => `{ cases: [${(cases[i] as bigint[]).join(", ")}], ${arm(a.decl)} }`);
    const def = u.default === undefined ? "" : `, { ${arm(u.default)} }`;
    return `xdr.union(${name === undefined ? "undefined" : `"${name}"`}, ["${dname}", ${this.declDesc(u.discriminant)}], [${arms.join(", ")}]${def})`;
  }

  private unionTs(u: UnionBody): string {
    const disc = this.discriminantOf(u.discriminant);
    const dname = (u.discriminant as { name: string }).name;
    const cases = this.caseValues(u, disc);
    const lit = (v: bigint) => {
      if (disc.kind === "bool") return v === 1n ? "true" : "false";
      return String(v);
    };
    const armTs = (d: Decl, discTs: string) =>
      `{ ${dname}: ${discTs}${d.void ? "" : `; ${d.name}: ${this.declTs(d)}`} }`;
    const parts = u.arms.map((a, i) => armTs(a.decl, (cases[i] as bigint[]).map(lit).join(" | ")));
    if (u.default !== undefined) {
      const covered = cases.flat();
      let rest: string;
      if (disc.kind === "bool")
        rest = ["false", "true"].filter((b) => !covered.includes(b === "true" ? 1n : 0n)).join(" | ") || "never";
      else if (disc.kind === "enum") rest = `Exclude<${disc.ts}, ${covered.map(String).join(" | ")}>`;
      else rest = "number";
      parts.push(armTs(u.default, rest));
    }
    return parts.join(" | ");
  }

  // ---- definitions -----------------------------------------------------------------------------

  generate(importFrom: string): string {
    this.defs.forEach((def, order) => {
      if (def.k === "const") {
        this.declare(def.name, def.at, { k: "const", value: this.value(def.value, -(2n ** 63n), 2n ** 64n - 1n) });
      } else if (def.k === "typedef") this.declare(def.decl.name, def.decl.at, { k: "type", def, order });
      else if (def.k !== "program") {
        this.declare(def.name, def.at, { k: "type", def, order });
        if (def.k === "enum") this.enumMembers(def.body, def.name);
      }
      // Constants and enum values are known in file order, so a size may use only those before it.
    });
    const out = this.lines;
    let usesService = false;
    this.defs.forEach((def, order) => {
      this.current = order;
      switch (def.k) {
        case "const": {
          const v = (this.names.get(def.name) as { value: bigint }).value;
          out.push(`export const ${def.name} = ${v >= -(2n ** 53n) && v <= 2n ** 53n ? String(v) : `${v}n`};`);
          break;
        }
        case "enum": {
          const members = this.enumMembersOf(def.body);
          out.push(`export const ${def.name} = ${this.enumObject(members)} as const;`);
          out.push(`export type ${def.name} = (typeof ${def.name})[keyof typeof ${def.name}];`);
          out.push(`export const xdr_${def.name}: XdrType = xdr.enum("${def.name}", ${def.name});`);
          break;
        }
        case "struct":
          out.push(
            `export interface ${def.name} {`,
            ...def.body.fields.map((f) => (f.void ? "" : `  ${f.name}: ${this.declTs(f)};`)),
            "}",
          );
          out.push(`export const xdr_${def.name}: XdrType = ${this.structDesc(def.name, def.body)};`);
          break;
        case "union":
          out.push(`export type ${def.name} = ${this.unionTs(def.body)};`);
          out.push(`export const xdr_${def.name}: XdrType = ${this.unionDesc(def.name, def.body)};`);
          break;
        case "typedef":
          out.push(`export type ${def.decl.name} = ${this.declTs(def.decl)};`);
          out.push(`export const xdr_${def.decl.name}: XdrType = ${this.declDesc(def.decl)};`);
          break;
        case "program":
          usesService = true;
          this.program(def);
          break;
      }
    });
    const imports = ["type XdrType", "xdr", ...(usesService ? ["defineService", "unary", "xdrWire"] : [])].sort(
      (a, b) => a.replace("type ", "").localeCompare(b.replace("type ", "")),
    );
    const used = out.some((l) => l.includes("XdrType")) || this.usesLazy;
    const head = [
      `// Generated by farcall gen from ${this.file}: edit the .x file, not this one.`,
      `import { ${imports.filter((i) => used || i !== "type XdrType").join(", ")} } from "${importFrom}";`,
      "",
    ];
    return `${[...head, ...out].join("\n")}\n`;
  }

  private program(def: Extract<Definition, { k: "program" }>): void {
    const program = this.value(def.number, 0n, 0xffff_ffffn);
    this.declare(def.name, def.at, { k: "const", value: program });
    this.lines.push(`export const ${def.name} = 0x${program.toString(16)};`);
    const versions = new Set<bigint>();
    for (const v of def.versions) {
      const version = this.value(v.number, 0n, 0xffff_ffffn);
      if (versions.has(version)) this.fail(v.number.at, `version ${version} of ${def.name} is defined twice`);
      versions.add(version);
      this.declare(v.name, v.at, { k: "const", value: version });
      this.lines.push(`export const ${v.name} = ${version};`);
      const service = `${def.name}_${v.name}`;
      this.declare(service, v.at, { k: "const", value: version });
      const procs = new Set<bigint>();
      const names = new Set<string>();
      const methods = v.procedures.map((p) => {
        const id = this.value(p.number, 0n, 0xffff_ffffn);
        if (procs.has(id)) this.fail(p.number.at, `procedure ${id} of ${v.name} is defined twice`);
        if (names.has(p.name)) this.fail(p.at, `procedure ${p.name} of ${v.name} is defined twice`);
        procs.add(id);
        names.add(p.name);
        const result =
          p.result === undefined
            ? { ts: "void", desc: "xdr.void" }
            : { ts: this.specTs(p.result), desc: this.specDesc(p.result) };
        let input: { ts: string; desc: string };
        if (p.args.length === 0) input = { ts: "void", desc: "xdr.void" };
        else if (p.args.length === 1)
          input = { ts: this.specTs(p.args[0] as TypeSpec), desc: this.specDesc(p.args[0] as TypeSpec) };
        else {
          // rpcgen -N passes several arguments as a struct of arg1, arg2, …, in order.
          input = {
            ts: `{ ${p.args.map((a, i) => `arg${i + 1}: ${this.specTs(a)};`).join(" ")} }`,
            desc: `xdr.struct(undefined, [${p.args.map((a, i) => `["arg${i + 1}", ${this.specDesc(a)}]`).join(", ")}])`,
          };
        }
        return (
          `  ${p.name}: unary<${input.ts}, ${result.ts}>({\n` +
          `    program: ${def.name},\n    version: ${v.name},\n    id: ${id},\n` +
          `    wire: xdrWire(${input.desc}, ${result.desc}),\n  }),`
        );
      });
      this.lines.push(`export const ${service} = defineService("${def.name}.${v.name}", {`, ...methods, "});");
    }
  }
}

/** The TypeScript module of a parsed `.x` file. @throws RpcError `invalid_argument` naming file, line and column. */
export function generateTs(defs: readonly Definition[], options: GenerateOptions): string {
  const ts = new Generator(defs, options.fileName).generate(options.importFrom ?? "farcall");
  return options.language === "js" ? stripTypes(ts) : ts;
}
