/**
 * The `.x` compiler: golden files for testdata/idl/*.x (every construct, and the design notes'
 * time.x verbatim), the generated code under `tsc --strict`, its descriptors at run time, and
 * errors that name file, line and column. `UPDATE_GOLDEN=1` rewrites the golden files.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { compileX } from "../src/idl/index.js";
import { Code, decodeXdr, encodeXdr, RpcError, type XdrType } from "../src/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const idlDir = join(root, "testdata/idl");
const sources = readdirSync(idlDir).filter((f) => f.endsWith(".x"));

test("the testdata .x files are there", () => {
  assert.deepEqual(sources.sort(), ["shapes.x", "time.x"]);
});

for (const file of sources) {
  test(`${file} compiles to its golden file`, () => {
    const { fileName, code } = compileX(readFileSync(join(idlDir, file), "utf8"), { fileName: file });
    assert.equal(fileName, file.replace(/\.x$/, ".ts"));
    const golden = join(idlDir, fileName);
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, code);
    assert.equal(code, readFileSync(golden, "utf8"));
  });
}

test("the generated modules pass tsc --strict, importing only farcall, and their descriptors work", async () => {
  const dir = mkdtempSync(join(tmpdir(), "farcall-idl-"));
  try {
    for (const file of sources) {
      const { fileName, code } = compileX(readFileSync(join(idlDir, file), "utf8"), { fileName: file });
      assert.doesNotMatch(code, /from "(?!farcall")/, "imports only farcall");
      writeFileSync(join(dir, fileName), code);
    }
    // A user's module on top: handlers typed by the generated service, values by its types.
    writeFileSync(
      join(dir, "use.ts"),
      `import { createServer } from "farcall";
import { SHAPES_SHAPES_V2, type list, type shape, color, xdr_shape } from "./shapes.js";
import { TIMEPROG_PRINTIMEVERS } from "./time.js";
export const s: shape = { kind: color.BLUE };
export const l: list = { value: 1, next: { value: 2, next: null } };
export const shapeType = xdr_shape;
const server = createServer();
server.add(TIMEPROG_PRINTIMEVERS, { PRINTIME: (msg: string) => \`Current time is \${msg}\` });
server.add(SHAPES_SHAPES_V2, {
  ECHO: (x) => x,
  SUM: ({ arg1, arg2, arg3 }) => arg1 + arg2 + Number(arg3),
  REVERSE: (x) => x,
  STORE: () => {},
  FETCH: () => ({ present: true, value: 3 }),
  COUNT: (n) => (n === 0 ? { n: 0 } : { n: 1, one: BigInt(n) }),
});
`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: true,
          types: [],
          outDir: "out",
          paths: { farcall: [join(root, "dist/src/index.d.ts")] },
        },
        include: ["*.ts"],
      }),
    );
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    try {
      execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    } catch (err) {
      assert.fail(`tsc --strict failed:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
    }
    // Run the shapes module against this checkout's farcall (the import rewritten to it).
    const js = readFileSync(join(dir, "out/shapes.js"), "utf8").replace(
      '"farcall"',
      JSON.stringify(join(root, "dist/src/index.js")),
    );
    writeFileSync(join(dir, "out/shapes.js"), js);
    const shapes = (await import(join(dir, "out/shapes.js"))) as Record<string, XdrType>;
    const list = { value: 1, next: { value: -2, next: { value: 3, next: null } } };
    const listType = shapes.xdr_list as XdrType;
    assert.equal(
      Buffer.from(encodeXdr(listType, list)).toString("hex"),
      "000000010000000100000001fffffffe000000010000000300000000",
    );
    assert.deepEqual(decodeXdr(listType, encodeXdr(listType, list)), list);
    const shapeType = shapes.xdr_shape as XdrType;
    assert.deepEqual(decodeXdr(shapeType, encodeXdr(shapeType, { kind: 1, centre: { x: 5, y: 6 } })), {
      kind: 1,
      centre: { x: 5, y: 6 },
    });
    assert.equal(Buffer.from(encodeXdr(shapeType, { kind: 2 })).toString("hex"), "00000002");
    const service = (
      shapes as unknown as Record<string, { methods: Map<string, { program: number; version: number; id: number }> }>
    ).SHAPES_SHAPES_V2;
    const sum = service?.methods.get("SUM");
    assert.deepEqual([sum?.program, sum?.version, sum?.id], [0x20000102, 8, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const errors: [string, string][] = [
  [
    "program T { version V { string P(string) = 1 } = 1; } = 1;",
    "t.x:1:46: expected ';' after procedure number, got '}'",
  ],
  ["const A = ;", "t.x:1:11: expected a number or constant for A, got ';'"],
  ["struct s { int a; int a; };", "t.x:1:23: field a is declared twice"],
  ["struct s { foo a; };", "t.x:1:12: type foo is not defined"],
  ["typedef int a[N];", "t.x:1:15: N is not a constant"],
  ["const A = 1;\nconst A = 2;", "t.x:2:7: A is already defined"],
  ["/* open", "t.x:1:1: comment is not closed"],
  ["const A = 09;", "t.x:1:11: 09 is not an octal number"],
  [
    "enum e { X = 1 };\nunion u switch (e d) { case 2: int a; };",
    "t.x:2:29: 2 is not a value of the discriminant's enum",
  ],
  ["union u switch (int d) { case 1: int a; case 1: int b; };", "t.x:1:46: case 1 appears twice"],
  [
    "union u switch (string d<>) { case 1: int a; };",
    "t.x:1:24: expected an int, unsigned int, enum or bool discriminant",
  ],
  [
    "program P { version V { void A(void) = 1; void B(void) = 1; } = 1; } = 1;",
    "t.x:1:58: procedure 1 of V is defined twice",
  ],
  ["typedef int x[0x100000000];", "t.x:1:15: 4294967296 is out of range (0 to 4294967295)"],
  ["struct s { int a }", "t.x:1:18: expected ';' after field a of s, got '}'"],
  ["const new = 1;", "t.x:1:7: new cannot be a name in the generated TypeScript"],
  ["string s<>;", "t.x:1:1: expected a definition (const, typedef, enum, struct, union or program), got 'string'"],
  ["typedef string s[4];", "t.x:1:17: expected '<' after a string's name (strings have no fixed length), got '['"],
  ["const A = 1 @", 't.x:1:13: unexpected character "@"'],
];
for (const [text, message] of errors) {
  test(`compile error: ${message}`, () => {
    assert.throws(
      () => compileX(text, { fileName: "t.x" }),
      (err: unknown) => err instanceof RpcError && err.code === Code.InvalidArgument && err.rawMessage === message,
    );
  });
}

test("comments, % lines and # lines are skipped; numbers keep their base's value", () => {
  const { code } = compileX(
    '# 1 "x.x"\n%#include <a.h>\n// c++\nconst A = 0x1F; /* c */ const B = 017; const C = -12;\n',
    { fileName: "n.x" },
  );
  assert.match(code, /export const A = 31;\nexport const B = 15;\nexport const C = -12;/);
});

test("language js: the same module without its types loads and has the same descriptors", async () => {
  const text = readFileSync(join(idlDir, "shapes.x"), "utf8");
  const { fileName, code } = compileX(text, {
    fileName: "shapes.x",
    language: "js",
    importFrom: new URL("../src/index.js", import.meta.url).href,
  });
  assert.equal(fileName, "shapes.js");
  assert.doesNotMatch(code, /XdrType|interface|export type|as const|unary</);
  const m = (await import(`data:text/javascript,${encodeURIComponent(code)}`)) as Record<string, unknown>;
  const list = m.xdr_list as XdrType;
  const value = { value: 7, next: null };
  assert.deepEqual(decodeXdr(list, encodeXdr(list, value)), value);
  const service = m.SHAPES_SHAPES_V2 as { methods: Map<string, { id: number }> };
  assert.deepEqual(
    [...service.methods.values()].map((x) => x.id),
    [1, 2, 3, 4, 5, 6],
  );
});
