// The code base's shape, checked with the TypeScript compiler API (node_modules/typescript):
//   - fails on an import cycle anywhere in the repository's source folders (relative imports, type-only included),
//     except the cycles listed in KNOWN_CYCLES (each with the reason it is still there);
//   - fails on a read of process.env in shared/ or functions/ outside the configuration (shared/config/) and the
//     composition root (shared/bridge.ts): settings are read, validated and documented in one place;
//   - fails on a fixed sleep in a test (a promise resolved by setTimeout, or node:timers/promises) outside
//     test/support: a test waits for the state it asserts (test/support/wait-for.ts) or uses fake timers;
//   - fails on a function in shared/ whose body spans more than 60 lines;
//   - fails on a bare import specifier (in any of the project's source folders) whose package is not declared in
//     package.json dependencies/devDependencies (node: and built-in modules excepted) — it would work here only by
//     accident of hoisting and break on a clean install or in the deployment zip;
//   - prints, without failing, the number of module-level mutable state bindings in shared/ (top-level let/var,
//     top-level `const x = new Map|Set|WeakMap|Array` built empty).
// Usage: node scripts/check-shape.mjs [root]   (root defaults to the current directory)
import fs from "node:fs";
import path from "node:path";
import { builtinModules, createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export const MAX_FUNCTION_LINES = 60;
/** Cycles allowed for now, by a file in them: the console's page registry ↔ pages (being split on another branch). */
const KNOWN_CYCLES = ["console/src/pages.ts"];
const ENV_READERS = /^(shared\/config\/|shared\/bridge\.ts$)/;
const SOURCE_DIRS = ["shared", "functions", "dev", "cli", "client", "console", "bench", "scripts", "test", "bin"];
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** Source files under dir; a folder holding its own package.json (a test fixture project) is not ours. */
function walk(dir, top = true) {
  if (!fs.existsSync(dir)) return [];
  if (!top && fs.existsSync(path.join(dir, "package.json"))) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out.push(...walk(p, false));
    } else if (SOURCE_FILE.test(entry.name) && !/\.d\.[cm]?ts$/.test(entry.name)) out.push(p);
  }
  return out;
}

function parse(ts, file) {
  const kind = /\.[cm]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  return ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true, kind);
}

/** Every module specifier a file names: import/export from, import x = require, import("x"), typeof import("x"), require("x"). */
function specifiers(ts, sf) {
  const out = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isExternalModuleReference(node) && ts.isStringLiteral(node.expression)) {
      out.push(node.expression.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteralLike(node.arguments[0])) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require")) out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** "@scope/name/sub" → "@scope/name", "name/sub" → "name"; undefined for relative, absolute, node: and built-ins. */
export function packageOf(spec) {
  if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:") || /^[a-z]+:/.test(spec)) return undefined;
  const parts = spec.split("/");
  const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

function resolveRelative(from, spec) {
  const exact = path.resolve(path.dirname(from), spec);
  const target = exact.replace(/\.[cm]?js$/, "");
  return [`${target}.ts`, `${target}.mts`, path.join(target, "index.ts"), exact].find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
}

/** `process.env` reads (and writes) in a file, as line numbers. */
function envReads(ts, sf) {
  const lines = [];
  const visit = (node) => {
    if (ts.isPropertyAccessExpression(node) && node.name.text === "env" && ts.isIdentifier(node.expression) && node.expression.text === "process") {
      lines.push(sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return lines;
}

/** Fixed sleeps: `new Promise((r) => setTimeout(r, …))` (or a callback calling r), and node:timers/promises imports. */
function fixedSleeps(ts, sf, specs) {
  const lines = [];
  const lineOf = (node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const callsIdentifier = (node, name) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === name) return true;
    return ts.forEachChild(node, (child) => callsIdentifier(child, name) || undefined) ?? false;
  };
  // A setTimeout inside the executor whose callback is `resolve` itself or calls it.
  const resolvesBy = (fn, resolve) => {
    const visit = (node) => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "setTimeout") {
        const [callback] = node.arguments;
        if (callback && ((ts.isIdentifier(callback) && callback.text === resolve) || callsIdentifier(callback, resolve))) return true;
      }
      return ts.forEachChild(node, (child) => visit(child) || undefined) ?? false;
    };
    return visit(fn.body);
  };
  const visit = (node) => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "Promise") {
      const [executor] = node.arguments ?? [];
      const resolve = executor && (ts.isArrowFunction(executor) || ts.isFunctionExpression(executor)) ? executor.parameters[0]?.name.getText(sf) : undefined;
      if (resolve && resolvesBy(executor, resolve)) lines.push(lineOf(node));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (specs.some((s) => s === "node:timers/promises" || s === "timers/promises")) lines.push(1);
  return lines;
}

/** Top-level bindings that hold state for the life of the process. An empty container is state; one built from a literal list is a lookup table. */
function moduleState(ts, sf, rel) {
  const found = [];
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st)) continue;
    const isConst = (st.declarationList.flags & ts.NodeFlags.Const) !== 0;
    for (const d of st.declarationList.declarations) {
      const line = sf.getLineAndCharacterOfPosition(d.getStart(sf)).line + 1;
      const init = d.initializer;
      const container = init && ts.isNewExpression(init) && /^(Map|Set|WeakMap|Array)$/.test(init.expression.getText(sf))
        && !(init.arguments?.length && ts.isArrayLiteralExpression(init.arguments[0]));
      if (!isConst || container) found.push(`${rel}:${line} ${d.name.getText(sf)}`);
    }
  }
  return found;
}

function functionName(ts, node, sf) {
  if (node.name) return node.name.getText(sf);
  const p = node.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))) return p.name.getText(sf);
  return "(anonymous)";
}

function longFunctions(ts, sf, rel) {
  const found = [];
  const lineOf = (pos) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (node) => {
    const isFunction = ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isArrowFunction(node) || ts.isFunctionExpression(node)
      || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node);
    if (isFunction && node.body) {
      const lines = lineOf(node.body.getEnd()) - lineOf(node.body.getStart(sf)) + 1;
      if (lines > MAX_FUNCTION_LINES) found.push(`${rel}:${lineOf(node.getStart(sf))} ${functionName(ts, node, sf)} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Strongly connected components of more than one file (Tarjan), each as sorted relative paths. */
function cyclesOf(edges, rel) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const strong = (v) => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1) cycles.push(component.map(rel).sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) strong(v);
  return cycles;
}

/** Checks the project at root; returns the findings (cycles, longFunctions, undeclared fail; moduleState only counts). */
export function checkShape(root) {
  const ts = createRequire(import.meta.url)("typescript");
  const rel = (p) => path.relative(root, p).split(path.sep).join("/");
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), pkg.name]);
  const result = { cycles: [], knownCycles: [], longFunctions: [], undeclared: [], moduleState: [], envReads: [], fixedSleeps: [] };
  const edges = new Map();
  for (const dir of SOURCE_DIRS) {
    for (const file of walk(path.join(root, dir))) {
      const sf = parse(ts, file);
      const specs = specifiers(ts, sf);
      for (const spec of specs) {
        const name = packageOf(spec);
        if (name && !declared.has(name)) result.undeclared.push(`${rel(file)} imports ${spec} (package ${name} is not in package.json)`);
      }
      edges.set(file, new Set(specs.filter((s) => s.startsWith(".")).map((s) => resolveRelative(file, s)).filter(Boolean)));
      if ((dir === "shared" || dir === "functions") && !ENV_READERS.test(rel(file))) {
        result.envReads.push(...envReads(ts, sf).map((line) => `${rel(file)}:${line}`));
      }
      if (dir === "test" && !rel(file).startsWith("test/support/")) {
        result.fixedSleeps.push(...fixedSleeps(ts, sf, specs).map((line) => `${rel(file)}:${line}`));
      }
      if (dir === "shared" && /\.[cm]?ts$/.test(file)) {
        result.moduleState.push(...moduleState(ts, sf, rel(file)));
        result.longFunctions.push(...longFunctions(ts, sf, rel(file)));
      }
    }
  }
  for (const cycle of cyclesOf(edges, rel)) (cycle.some((f) => KNOWN_CYCLES.includes(f)) ? result.knownCycles : result.cycles).push(cycle);
  return result;
}

function main() {
  const root = path.resolve(process.argv[2] ?? ".");
  const r = checkShape(root);
  for (const c of r.cycles) console.log(`import cycle: ${c.join(" -> ")}`);
  for (const f of r.longFunctions) console.log(`function over ${MAX_FUNCTION_LINES} lines: ${f}`);
  for (const u of r.undeclared) console.log(`undeclared package: ${u}`);
  for (const e of r.envReads) console.log(`process.env outside the configuration: ${e}`);
  for (const s of r.fixedSleeps) console.log(`fixed sleep in a test (use waitFor or fake timers): ${s}`);
  for (const c of r.knownCycles) console.log(`known import cycle (allowed for now): ${c.join(" -> ")}`);
  console.log(`${r.cycles.length} import cycle(s), ${r.longFunctions.length} function(s) over ${MAX_FUNCTION_LINES} lines in shared/, `
    + `${r.undeclared.length} undeclared import(s), ${r.envReads.length} environment read(s) outside the configuration, `
    + `${r.fixedSleeps.length} fixed sleep(s) in tests; ${r.knownCycles.length} known cycle(s) allowed; `
    + `${r.moduleState.length} module-level mutable state binding(s) in shared/ (not yet enforced)`);
  return r.cycles.length + r.longFunctions.length + r.undeclared.length + r.envReads.length + r.fixedSleeps.length === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
