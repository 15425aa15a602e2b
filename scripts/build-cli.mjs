#!/usr/bin/env node
// Compiles the `bridge` CLI (cli/bin.ts) with esbuild into one ESM file, dist/cli/bridge.mjs, with every dependency
// bundled, and writes dist/cli/package.json beside it: `npm pack dist/cli` gives a CLI package that installs and
// runs with no dependencies (and no dev dependencies such as tsx).
//   node scripts/build-cli.mjs [outDir] [--quiet]
import { build } from "esbuild";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI_DIST = join(root, "dist", "cli");

/** Builds the CLI into `outDir`; returns the path of the executable. */
export async function buildCli(outDir = CLI_DIST) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, "bridge.mjs");
  await build({
    entryPoints: [join(root, "cli/bin.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    // Bundled CommonJS dependencies call require() for Node built-ins.
    banner: { js: '#!/usr/bin/env node\nimport { createRequire as __bridgeCreateRequire } from "node:module"; const require = __bridgeCreateRequire(import.meta.url);' },
    minify: true,
    keepNames: true,
    legalComments: "eof",
    logLevel: "warning",
  });
  chmodSync(outfile, 0o755);
  const app = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const cliPackage = {
    name: "identity-bridge-cli",
    version: app.version,
    description: "`bridge`: administer the Identity Bridge for Dynamics 365 from a terminal",
    type: "module",
    bin: { bridge: "bridge.mjs" },
    files: ["bridge.mjs"],
    engines: app.engines,
    license: "UNLICENSED",
  };
  writeFileSync(join(outDir, "package.json"), `${JSON.stringify(cliPackage, null, 2)}\n`);
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const out = await buildCli(args.find((a) => !a.startsWith("--")) ? resolve(args.find((a) => !a.startsWith("--"))) : undefined);
  if (!args.includes("--quiet")) console.log(`CLI built: ${out}`);
}
