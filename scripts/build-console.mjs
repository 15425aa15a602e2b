// Bundles the admin console (console/src/main.ts + its CSS and HTML) with esbuild into console-dist/, which
// functions/console.http.ts serves under /api/console/. No CDN: @azure/msal-browser is bundled in.
//   node scripts/build-console.mjs [outDir]
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const CONSOLE_DIST = join(root, "console-dist");

/** Builds the console into `outDir` (default console-dist/); returns the directory. */
export async function buildConsole(outDir = CONSOLE_DIST) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, "console/src/main.ts")],
    outfile: join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: false,
    legalComments: "eof",
    logLevel: "warning",
  });
  copyFileSync(join(root, "console/index.html"), join(outDir, "index.html"));
  copyFileSync(join(root, "console/app.css"), join(outDir, "app.css"));
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildConsole(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`console built into ${out}`);
}
