#!/usr/bin/env node
// `npm run package`: bundles every functions/*.ts into one ESM file with esbuild and writes the
// deployment zip (host.json, package.json, index.mjs). Dependencies are bundled, so the zip needs
// no node_modules: small to upload and quick to cold-start.
//
//   node scripts/package.mjs [--out <dir>] [--sourcemap]
//   -> <dir>/package/ (staged files; azd's `dist`), <dir>/identity-bridge.zip, <dir>/package-meta.json
import { build } from "esbuild";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeZip } from "./zip.mjs";
import { buildConsole } from "./build-console.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outDir = resolve(root, valueOf("--out") ?? "dist");
const withSourcemap = args.includes("--sourcemap");
const stageDir = join(outDir, "package");
const zipPath = join(outDir, "identity-bridge.zip");
const BUNDLE = "index.mjs";

function valueOf(flag) {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Function modules: functions/*.ts, not tests or declarations. Each registers itself on import. */
function functionFiles() {
  const dir = join(root, "functions");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !/\.(test|spec)\.ts$/.test(f))
    .sort();
  if (files.length === 0) throw new Error("no functions/*.ts to package");
  // An index/setup module (app.setup) must run before any registration.
  const first = (f) => (/^(index|setup)\.ts$/.test(f) ? 0 : 1);
  return files.sort((a, b) => first(a) - first(b)).map((f) => `functions/${f}`);
}

const entries = functionFiles();
rmSync(stageDir, { recursive: true, force: true });
mkdirSync(stageDir, { recursive: true });

// The entry imports every function module; esbuild's code splitting needs a file (not stdin) as entry.
const entryFile = join(outDir, "functions-entry.mjs");
writeFileSync(entryFile, entries.map((f) => `import ${JSON.stringify(join(root, f))};`).join("\n"));
const result = await build({
  entryPoints: [{ in: entryFile, out: "index" }],
  outdir: stageDir,
  // What the app imports on first use (the Azure Monitor distro, OTLP exporters) goes into chunks of its own,
  // loaded only when used: the worker compiles the whole of index.mjs at start, so its size is cold start.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  // jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot follow; its ESM build bundles.
  alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
  // Given by the Functions host at run time; not on npm.
  external: ["@azure/functions-core"],
  // Bundled CommonJS dependencies call require() for Node built-ins (and @azure/functions-core).
  banner: { js: 'import { createRequire as __bridgeCreateRequire } from "node:module"; const require = __bridgeCreateRequire(import.meta.url);' },
  minify: true,
  keepNames: true, // readable stack traces and error names
  legalComments: "eof",
  sourcemap: withSourcemap ? "linked" : false,
  metafile: true,
  logLevel: "warning",
});
rmSync(entryFile);

const appPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const runtimePackage = {
  name: appPackage.name,
  version: appPackage.version,
  private: true,
  type: "module",
  main: BUNDLE,
  engines: appPackage.engines,
};
writeFileSync(join(stageDir, "package.json"), `${JSON.stringify(runtimePackage, null, 2)}\n`);
writeFileSync(join(stageDir, "host.json"), readFileSync(join(root, "host.json")));

// The admin console's static files, served by functions/console.http.ts from console-dist/ beside the bundle.
await buildConsole(join(stageDir, "console-dist"));
const inDir = (dir) => (existsSync(join(stageDir, dir)) ? readdirSync(join(stageDir, dir)).map((f) => `${dir}/${f}`) : []);
const files = [...readdirSync(stageDir).filter((f) => f !== "console-dist" && f !== "chunks"), ...inDir("chunks"), ...inDir("console-dist")].sort();
const { bytes } = writeZip(zipPath, files.map((name) => ({ name, data: readFileSync(join(stageDir, name)) })));

// What went into the bundle, for the package test (no test, dev or sandbox code).
const inputs = Object.keys(result.metafile.inputs).sort();
writeFileSync(join(outDir, "package-meta.json"), `${JSON.stringify({ entries, files, inputs }, null, 2)}\n`);

const bundleBytes = statSync(join(stageDir, BUNDLE)).size;
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
const chunkBytes = inDir("chunks").reduce((sum, f) => sum + statSync(join(stageDir, f)).size, 0);
console.log(`bundled ${entries.length} function module(s) from ${inputs.length} source files: ${BUNDLE} ${mb(bundleBytes)}, loaded on first use: chunks/ ${mb(chunkBytes)}`);
const shown = relative(process.cwd(), zipPath);
console.log(`${shown.startsWith("..") ? zipPath : shown}: ${mb(bytes)} (${bytes} bytes; ${files.join(", ")})`);
