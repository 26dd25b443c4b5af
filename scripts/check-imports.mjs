#!/usr/bin/env node
// Fails on import cycles, on imports that point up the layer order of STYLE.md §1, and on
// `node:` imports (or direct use of Node's Buffer and process) outside transport/ and cli/. Test
// files (*.test.ts) may import anything.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(process.argv[2] ?? "src");
/** Which layers each layer may import. */
const allowed = {
  core: [],
  codec: ["core"],
  protocol: ["codec", "core"],
  transport: ["protocol", "codec", "core"],
  client: ["transport", "protocol", "codec", "core"],
  server: ["transport", "protocol", "codec", "core"],
  web: ["client", "protocol", "codec", "core"],
  discovery: ["client", "server", "transport", "protocol", "codec", "core"],
  resilience: ["client", "server", "transport", "protocol", "codec", "core"],
  idl: ["core"],
  cli: ["idl", "discovery", "resilience", "client", "server", "transport", "protocol", "codec", "core", "."],
  ".": ["idl", "discovery", "resilience", "client", "server", "transport", "protocol", "codec", "core"],
};
const nodeAllowed = new Set(["transport", "cli"]);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}
const layerOf = (file) => {
  const rel = relative(root, file).split("/");
  return rel.length === 1 ? "." : rel[0];
};

const problems = [];
const graph = new Map();
for (const file of walk(root)) {
  if (file.endsWith(".test.ts")) continue;
  const text = readFileSync(file, "utf8");
  const deps = [];
  // Static imports, and dynamic `import("…")` (loaded on first use, so kept out of the cycle graph).
  const statics = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)];
  const dynamics = [...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)].map((m) => Object.assign(m, { dynamic: true }));
  for (const m of [...statics, ...dynamics]) {
    const spec = m[1];
    const typeOnly = m.dynamic === true || /^\s*(?:import|export)\s+type\s/.test(m[0]);
    const layer = layerOf(file);
    if (spec.startsWith("node:")) {
      if (!nodeAllowed.has(layer))
        problems.push(`${relative(root, file)}: imports ${spec}; node: belongs in transport/ or cli/`);
      continue;
    }
    if (!spec.startsWith(".")) continue;
    const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
    const targetLayer = layerOf(target);
    if (targetLayer !== layer && !(allowed[layer] ?? []).includes(targetLayer)) {
      problems.push(`${relative(root, file)}: ${layer}/ may not import ${targetLayer}/ (${spec})`);
    }
    if (!typeOnly) deps.push(target);
  }
  graph.set(file, deps);
  // Node's globals count as node: too; a layer that may meet a browser finds them on globalThis.
  if (!nodeAllowed.has(layerOf(file))) {
    for (const [i, line] of text.split("\n").entries()) {
      if (/^\s*(\/\/|\*|\/\*)/.test(line)) continue;
      const use = line.match(/(?<![.\w])(Buffer|process)\.\w/);
      if (use)
        problems.push(`${relative(root, file)}:${i + 1}: uses Node's ${use[1]}; node: belongs in transport/ or cli/`);
    }
  }
}

// Cycles among runtime imports (type-only imports vanish at run time).
const state = new Map();
const stack = [];
function visit(node) {
  state.set(node, 1);
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (state.get(next) === 1) {
      const cycle = stack
        .slice(stack.indexOf(next))
        .concat(next)
        .map((f) => relative(root, f));
      problems.push(`import cycle: ${cycle.join(" -> ")}`);
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(node, 2);
}
for (const node of graph.keys()) if (!state.has(node)) visit(node);

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`imports ok: ${graph.size} files, no cycles, no upward or node: imports out of place`);
