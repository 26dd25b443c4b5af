// XDR type descriptors (RFC 4506, docs/xdr.md): plain frozen objects that the codec walks. The
// `.x` compiler emits calls to the builders below; a user may write them by hand.

/** `int`, `unsigned int`, `hyper`, `unsigned hyper`, `float`, `double`, `quadruple`, `bool`, `void`. */
export interface XdrPrimitive {
  readonly kind: "int" | "uint" | "hyper" | "uhyper" | "float" | "double" | "quadruple" | "bool" | "void";
}
export interface XdrEnum {
  readonly kind: "enum";
  readonly name?: string | undefined;
  /** Name → value. */
  readonly values: Readonly<Record<string, number>>;
}
/** `opaque x[fixed]` or `opaque x<max>`. */
export interface XdrOpaque {
  readonly kind: "opaque";
  readonly fixed?: number | undefined;
  readonly max?: number | undefined;
}
export interface XdrString {
  readonly kind: "string";
  /** Most UTF-8 bytes. */
  readonly max?: number | undefined;
}
/** `T x[fixed]` or `T x<max>`. */
export interface XdrArray {
  readonly kind: "array";
  readonly of: XdrType;
  readonly fixed?: number | undefined;
  readonly max?: number | undefined;
}
export interface XdrStruct {
  readonly kind: "struct";
  readonly name?: string | undefined;
  readonly fields: readonly (readonly [string, XdrType])[];
}
/** One arm of a union: the discriminant values that select it, its field's name (none when void), its type. */
export interface XdrArm {
  readonly cases: readonly number[];
  readonly name?: string | undefined;
  readonly type: XdrType;
}
export interface XdrUnion {
  readonly kind: "union";
  readonly name?: string | undefined;
  readonly discriminant: { readonly name: string; readonly type: XdrType };
  readonly arms: readonly XdrArm[];
  /** The arm for every other discriminant value; without it those values are refused. */
  readonly default?: { readonly name?: string | undefined; readonly type: XdrType } | undefined;
}
/** Optional data, `T *x`: `null` or a T. */
export interface XdrOptional {
  readonly kind: "optional";
  readonly of: XdrType;
}
/** A type defined later or recursively (`struct node { node *next; }`). */
export interface XdrLazy {
  readonly kind: "lazy";
  readonly get: () => XdrType;
}

export type XdrType =
  | XdrPrimitive
  | XdrEnum
  | XdrOpaque
  | XdrString
  | XdrArray
  | XdrStruct
  | XdrUnion
  | XdrOptional
  | XdrLazy;

const u32Max = 0xffff_ffff;
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

function count(what: string, n: number | undefined): number | undefined {
  if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n <= u32Max)) {
    throw new TypeError(`xdr: ${what} must be an integer from 0 to 4294967295, got ${String(n)}`);
  }
  return n;
}

function fieldName(name: string, where: string): string {
  if (!identifier.test(name) || name === "__proto__")
    throw new TypeError(`xdr: invalid field name ${JSON.stringify(name)} in ${where}`);
  return name;
}

function isDiscriminant(t: XdrType): boolean {
  const k = (t.kind === "lazy" ? t.get() : t).kind;
  return k === "int" || k === "uint" || k === "enum" || k === "bool";
}

const prim = (kind: XdrPrimitive["kind"]): XdrPrimitive => Object.freeze({ kind });

/** Builders of XDR type descriptors; each checks its arguments and returns a frozen descriptor. */
export const xdr = Object.freeze({
  int: prim("int"),
  uint: prim("uint"),
  hyper: prim("hyper"),
  uhyper: prim("uhyper"),
  float: prim("float"),
  double: prim("double"),
  quadruple: prim("quadruple"),
  bool: prim("bool"),
  void: prim("void"),
  enum(name: string | undefined, values: Readonly<Record<string, number>>): XdrEnum {
    for (const [key, v] of Object.entries(values)) {
      fieldName(key, `enum ${name ?? ""}`);
      if (!(Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff)) {
        throw new TypeError(`xdr: enum ${name ?? ""} value ${key} = ${String(v)} is not a 32-bit integer`);
      }
    }
    return Object.freeze({ kind: "enum", name, values: Object.freeze({ ...values }) });
  },
  opaque(fixed: number): XdrOpaque {
    return Object.freeze({ kind: "opaque", fixed: count("opaque length", fixed) });
  },
  varOpaque(max?: number): XdrOpaque {
    return Object.freeze(
      max === undefined ? { kind: "opaque" } : { kind: "opaque", max: count("opaque maximum", max) },
    );
  },
  string(max?: number): XdrString {
    return Object.freeze(
      max === undefined ? { kind: "string" } : { kind: "string", max: count("string maximum", max) },
    );
  },
  array(of: XdrType, fixed: number): XdrArray {
    return Object.freeze({ kind: "array", of, fixed: count("array length", fixed) });
  },
  varArray(of: XdrType, max?: number): XdrArray {
    return Object.freeze(
      max === undefined ? { kind: "array", of } : { kind: "array", of, max: count("array maximum", max) },
    );
  },
  struct(name: string | undefined, fields: readonly (readonly [string, XdrType])[]): XdrStruct {
    const names = new Set<string>();
    for (const [f] of fields) {
      fieldName(f, `struct ${name ?? ""}`);
      if (names.has(f)) throw new TypeError(`xdr: struct ${name ?? ""} has two fields named ${f}`);
      names.add(f);
    }
    return Object.freeze({
      kind: "struct",
      name,
      fields: Object.freeze(fields.map((f) => Object.freeze([f[0], f[1]] as const))),
    });
  },
  union(
    name: string | undefined,
    discriminant: readonly [string, XdrType],
    arms: readonly XdrArm[],
    defaultArm?: { readonly name?: string | undefined; readonly type: XdrType },
  ): XdrUnion {
    const [dname, dtype] = discriminant;
    fieldName(dname, `union ${name ?? ""}`);
    if (!isDiscriminant(dtype))
      throw new TypeError(`xdr: union ${name ?? ""} discriminant must be int, unsigned int, enum or bool`);
    const seen = new Set<number>();
    for (const arm of [...arms, ...(defaultArm ? [defaultArm] : [])]) {
      if (arm.name !== undefined) fieldName(arm.name, `union ${name ?? ""}`);
      if (arm.name === dname) throw new TypeError(`xdr: union ${name ?? ""} arm ${dname} has the discriminant's name`);
    }
    for (const arm of arms) {
      for (const c of arm.cases) {
        if (!Number.isInteger(c)) throw new TypeError(`xdr: union ${name ?? ""} case ${String(c)} is not an integer`);
        if (seen.has(c)) throw new TypeError(`xdr: union ${name ?? ""} has case ${c} twice`);
        seen.add(c);
      }
    }
    const frozenArms = Object.freeze(
      arms.map((a) => Object.freeze({ cases: Object.freeze([...a.cases]), name: a.name, type: a.type })),
    );
    return Object.freeze({
      kind: "union",
      name,
      discriminant: Object.freeze({ name: dname, type: dtype }),
      arms: frozenArms,
      default: defaultArm === undefined ? undefined : Object.freeze({ name: defaultArm.name, type: defaultArm.type }),
    });
  },
  optional(of: XdrType): XdrOptional {
    return Object.freeze({ kind: "optional", of });
  },
  lazy(get: () => XdrType): XdrLazy {
    let resolved: XdrType | undefined;
    return Object.freeze({
      kind: "lazy",
      get: () => {
        resolved ??= get();
        return resolved;
      },
    });
  },
});

/** Follows `lazy` descriptors to the type they stand for. */
export function resolveType(t: XdrType): Exclude<XdrType, XdrLazy> {
  let at: XdrType = t;
  for (let hops = 0; at.kind === "lazy"; hops++) {
    if (hops > 64) throw new TypeError("xdr: a lazy type resolves to itself");
    at = at.get();
  }
  return at;
}

const armTables = new WeakMap<XdrUnion, Map<number, XdrArm>>();

/** The arm a discriminant value selects (the default arm when none declares it), or undefined. */
export function armOf(
  u: XdrUnion,
  value: number,
): { readonly name?: string | undefined; readonly type: XdrType } | undefined {
  let table = armTables.get(u);
  if (table === undefined) {
    table = new Map();
    for (const arm of u.arms) for (const c of arm.cases) table.set(c, arm);
    armTables.set(u, table);
  }
  return table.get(value) ?? u.default;
}

const enumSets = new WeakMap<XdrEnum, Map<number, string>>();

/** Value → name of an enum's declared values. */
export function enumNames(e: XdrEnum): ReadonlyMap<number, string> {
  let names = enumSets.get(e);
  if (names === undefined) {
    names = new Map();
    for (const [k, v] of Object.entries(e.values)) if (!names.has(v)) names.set(v, k);
    enumSets.set(e, names);
  }
  return names;
}
