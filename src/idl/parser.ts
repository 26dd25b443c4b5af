// The `.x` grammar (RFC 4506 §6.3 and RFC 5531 §12.2, with rpcgen's extensions: procedures with
// several arguments, `string` as a procedure's argument or result, C's `unsigned`, `long`,
// `short` and `char`, enum values that may be left out) into a syntax tree.
import { idlError, type Token, tokenize } from "./lexer.js";

/** A number, or a name of a constant or enum value, as written. */
export type Value = { readonly num: bigint; readonly at: Token } | { readonly ident: string; readonly at: Token };

export type Primitive = "int" | "uint" | "hyper" | "uhyper" | "float" | "double" | "quadruple" | "bool" | "string";

export type TypeSpec =
  | { readonly k: "prim"; readonly name: Primitive }
  | { readonly k: "named"; readonly name: string; readonly at: Token }
  | { readonly k: "enum"; readonly body: EnumBody }
  | { readonly k: "struct"; readonly body: StructBody }
  | { readonly k: "union"; readonly body: UnionBody };

/** A declaration; `void` in unions and procedures. */
export type Decl =
  | { readonly void: true; readonly at: Token }
  | {
      readonly void?: false;
      readonly name: string;
      readonly at: Token;
      /** `opaque` and `string` are declarations, not types, in XDR. */
      readonly type: TypeSpec | "opaque" | "string";
      readonly shape: "plain" | "fixed" | "var" | "optional";
      readonly size?: Value | undefined;
    };

export interface EnumBody {
  readonly members: readonly { readonly name: string; readonly value: Value | undefined; readonly at: Token }[];
}
export interface StructBody {
  readonly fields: readonly Decl[];
}
export interface UnionBody {
  readonly discriminant: Decl;
  readonly arms: readonly { readonly cases: readonly Value[]; readonly decl: Decl }[];
  readonly default?: Decl | undefined;
}
export interface Procedure {
  readonly name: string;
  readonly at: Token;
  /** `undefined`: void. */
  readonly result: TypeSpec | undefined;
  /** Empty: void. */
  readonly args: readonly TypeSpec[];
  readonly number: Value;
}
export interface Version {
  readonly name: string;
  readonly at: Token;
  readonly procedures: readonly Procedure[];
  readonly number: Value;
}

export type Definition =
  | { readonly k: "const"; readonly name: string; readonly at: Token; readonly value: Value }
  | { readonly k: "typedef"; readonly decl: Decl & { void?: false } }
  | { readonly k: "enum"; readonly name: string; readonly at: Token; readonly body: EnumBody }
  | { readonly k: "struct"; readonly name: string; readonly at: Token; readonly body: StructBody }
  | { readonly k: "union"; readonly name: string; readonly at: Token; readonly body: UnionBody }
  | {
      readonly k: "program";
      readonly name: string;
      readonly at: Token;
      readonly versions: readonly Version[];
      readonly number: Value;
    };

const keywords = new Set([
  "bool",
  "case",
  "const",
  "default",
  "double",
  "quadruple",
  "enum",
  "float",
  "hyper",
  "int",
  "opaque",
  "string",
  "struct",
  "switch",
  "typedef",
  "union",
  "unsigned",
  "void",
  "program",
  "version",
  "long",
  "short",
  "char",
]);

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly file: string,
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.i++;
    return t;
  }
  private fail(t: Token, what: string): never {
    throw idlError(this.file, t.line, t.column, `${what}, got ${t.kind === "eof" ? "end of file" : `'${t.text}'`}`);
  }
  private is(text: string): boolean {
    const t = this.peek();
    return (t.kind === "punct" || t.kind === "ident") && t.text === text;
  }
  private accept(text: string): boolean {
    if (!this.is(text)) return false;
    this.i++;
    return true;
  }
  private expect(text: string, context: string): Token {
    if (!this.is(text)) this.fail(this.peek(), `expected '${text}' ${context}`);
    return this.next();
  }
  private ident(context: string): Token {
    const t = this.peek();
    if (t.kind !== "ident" || keywords.has(t.text)) this.fail(t, `expected ${context}`);
    return this.next();
  }
  private value(context: string): Value {
    const t = this.peek();
    if (t.kind === "number") return { num: this.next().value as bigint, at: t };
    if (t.kind === "ident" && !keywords.has(t.text)) return { ident: this.next().text, at: t };
    this.fail(t, `expected ${context}`);
  }

  definitions(): Definition[] {
    const out: Definition[] = [];
    while (this.peek().kind !== "eof") out.push(this.definition());
    return out;
  }

  private definition(): Definition {
    const t = this.peek();
    if (this.accept("const")) {
      const name = this.ident("a constant name after 'const'");
      this.expect("=", `after constant name ${name.text}`);
      const value = this.value(`a number or constant for ${name.text}`);
      this.expect(";", `after constant ${name.text}`);
      return { k: "const", name: name.text, at: name, value };
    }
    if (this.accept("typedef")) {
      const decl = this.declaration("after 'typedef'");
      if (decl.void) this.fail(decl.at, "expected a type after 'typedef'");
      this.expect(";", `after typedef ${decl.name}`);
      return { k: "typedef", decl };
    }
    if (this.is("enum") || this.is("struct") || this.is("union")) {
      const kw = this.next().text as "enum" | "struct" | "union";
      const name = this.ident(`a name after '${kw}'`);
      const body =
        kw === "enum"
          ? this.enumBody(name.text)
          : kw === "struct"
            ? this.structBody(name.text)
            : this.unionBody(name.text);
      this.expect(";", `after ${kw} ${name.text}`);
      return { k: kw, name: name.text, at: name, body } as Definition;
    }
    if (this.accept("program")) return this.program();
    this.fail(t, "expected a definition (const, typedef, enum, struct, union or program)");
  }

  private program(): Definition {
    const name = this.ident("a program name after 'program'");
    this.expect("{", `after program ${name.text}`);
    const versions: Version[] = [];
    do {
      this.expect("version", `in program ${name.text}`);
      const vname = this.ident("a version name after 'version'");
      this.expect("{", `after version ${vname.text}`);
      const procedures: Procedure[] = [];
      do procedures.push(this.procedure());
      while (!this.is("}"));
      this.expect("}", `to close version ${vname.text}`);
      this.expect("=", `after version ${vname.text}'s body`);
      const number = this.value(`a version number for ${vname.text}`);
      this.expect(";", "after version number");
      versions.push({ name: vname.text, at: vname, procedures, number });
    } while (!this.is("}"));
    this.expect("}", `to close program ${name.text}`);
    this.expect("=", `after program ${name.text}'s body`);
    const number = this.value(`a program number for ${name.text}`);
    this.expect(";", "after program number");
    return { k: "program", name: name.text, at: name, versions, number };
  }

  private procedure(): Procedure {
    const result = this.accept("void") ? undefined : this.typeSpec("a result type or 'void'", true);
    const name = this.ident("a procedure name");
    this.expect("(", `after procedure name ${name.text}`);
    const args: TypeSpec[] = [];
    if (this.is("void") && this.peek(1).text === ")") this.next();
    else {
      do args.push(this.typeSpec(`an argument type of ${name.text}`, true));
      while (this.accept(","));
    }
    this.expect(")", `after the arguments of ${name.text}`);
    this.expect("=", `after procedure ${name.text}(…)`);
    const number = this.value(`a procedure number for ${name.text}`);
    this.expect(";", "after procedure number");
    return { name: name.text, at: name, result, args, number };
  }

  private enumBody(owner: string): EnumBody {
    this.expect("{", `to open enum ${owner}`);
    const members: { name: string; value: Value | undefined; at: Token }[] = [];
    do {
      const name = this.ident(`an enum value name in ${owner}`);
      const value = this.accept("=") ? this.value(`a value for ${name.text}`) : undefined;
      members.push({ name: name.text, value, at: name });
    } while (this.accept(",") && !this.is("}"));
    this.expect("}", `to close enum ${owner}`);
    return { members };
  }

  private structBody(owner: string): StructBody {
    this.expect("{", `to open struct ${owner}`);
    const fields: Decl[] = [];
    do {
      const d = this.declaration(`in struct ${owner}`);
      this.expect(";", `after field ${d.void ? "void" : d.name} of ${owner}`);
      fields.push(d);
    } while (!this.is("}"));
    this.expect("}", `to close struct ${owner}`);
    return { fields };
  }

  private unionBody(owner: string): UnionBody {
    this.expect("switch", `to open union ${owner}`);
    this.expect("(", "after 'switch'");
    const discriminant = this.declaration(`as union ${owner}'s discriminant`);
    this.expect(")", `after union ${owner}'s discriminant`);
    this.expect("{", `to open union ${owner}'s cases`);
    const arms: { cases: Value[]; decl: Decl }[] = [];
    let def: Decl | undefined;
    while (!this.is("}")) {
      if (this.accept("default")) {
        if (def !== undefined) this.fail(this.tokens[this.i - 1] as Token, `expected one 'default' in union ${owner}`);
        this.expect(":", "after 'default'");
        def = this.declaration(`for union ${owner}'s default arm`);
        this.expect(";", `after union ${owner}'s default arm`);
        continue;
      }
      const cases: Value[] = [];
      if (!this.is("case")) this.fail(this.peek(), `expected 'case', 'default' or '}' in union ${owner}`);
      while (this.accept("case")) {
        cases.push(this.value("a case value"));
        this.expect(":", "after case value");
      }
      const decl = this.declaration(`for a case of union ${owner}`);
      this.expect(";", `after an arm of union ${owner}`);
      arms.push({ cases, decl });
    }
    this.expect("}", `to close union ${owner}`);
    if (arms.length === 0) this.fail(this.peek(-1), `expected at least one case in union ${owner}`);
    return { discriminant, arms, default: def };
  }

  /** A type specifier; `string` is one only as a procedure's argument or result (rpcgen). */
  private typeSpec(context: string, inProcedure = false): TypeSpec {
    const t = this.peek();
    if (this.accept("unsigned")) {
      if (this.accept("hyper")) return { k: "prim", name: "uhyper" };
      this.accept("int") || this.accept("long") || this.accept("short") || this.accept("char");
      return { k: "prim", name: "uint" };
    }
    for (const [word, name] of [
      ["int", "int"],
      ["long", "int"],
      ["short", "int"],
      ["char", "int"],
      ["hyper", "hyper"],
      ["float", "float"],
      ["double", "double"],
      ["quadruple", "quadruple"],
      ["bool", "bool"],
    ] as const) {
      if (this.accept(word)) return { k: "prim", name };
    }
    if (inProcedure && this.accept("string")) return { k: "prim", name: "string" };
    if (this.is("enum") || this.is("struct") || this.is("union")) {
      const kw = this.next().text;
      if (this.peek().kind === "ident" && !keywords.has(this.peek().text)) {
        const name = this.next();
        return { k: "named", name: name.text, at: name };
      }
      if (kw === "enum") return { k: "enum", body: this.enumBody("(anonymous)") };
      if (kw === "struct") return { k: "struct", body: this.structBody("(anonymous)") };
      return { k: "union", body: this.unionBody("(anonymous)") };
    }
    if (t.kind === "ident" && !keywords.has(t.text)) {
      this.next();
      return { k: "named", name: t.text, at: t };
    }
    this.fail(t, `expected ${context}`);
  }

  private declaration(context: string): Decl {
    const t = this.peek();
    if (this.accept("void")) return { void: true, at: t };
    if (this.is("opaque") || this.is("string")) {
      const kw = this.next().text as "opaque" | "string";
      const name = this.ident(`a name after '${kw}'`);
      if (this.accept("[")) {
        if (kw === "string")
          this.fail(
            this.tokens[this.i - 1] as Token,
            "expected '<' after a string's name (strings have no fixed length)",
          );
        const size = this.value("a length");
        this.expect("]", "after the length");
        return { name: name.text, at: name, type: kw, shape: "fixed", size };
      }
      this.expect("<", `after ${kw} ${name.text}`);
      const size = this.is(">") ? undefined : this.value("a maximum length");
      this.expect(">", "after the maximum length");
      return { name: name.text, at: name, type: kw, shape: "var", size };
    }
    const type = this.typeSpec(`a type ${context}`);
    if (this.accept("*")) {
      const name = this.ident("a name after '*'");
      return { name: name.text, at: name, type, shape: "optional" };
    }
    const name = this.ident(`a name after the type ${context}`);
    if (this.accept("[")) {
      const size = this.value("an array length");
      this.expect("]", "after the array length");
      return { name: name.text, at: name, type, shape: "fixed", size };
    }
    if (this.accept("<")) {
      const size = this.is(">") ? undefined : this.value("an array maximum");
      this.expect(">", "after the array maximum");
      return { name: name.text, at: name, type, shape: "var", size };
    }
    return { name: name.text, at: name, type, shape: "plain" };
  }
}

/** Parses `.x` text. @throws RpcError `invalid_argument`: `file:line:column: expected …, got …`. */
export function parseX(text: string, file: string): Definition[] {
  return new Parser(tokenize(text, file), file).definitions();
}
