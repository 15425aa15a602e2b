// Bundles the admin console (console/src/main.ts + its CSS and HTML) with esbuild into console-dist/, which
// functions/console.http.ts serves under /api/console/. No CDN: @azure/msal-browser is bundled in.
//   node scripts/build-console.mjs [outDir]
import { build } from "esbuild";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const CONSOLE_DIST = join(root, "console-dist");

/**
 * Builds the console into `outDir` (default console-dist/); returns the directory. Each file is written beside its
 * place and renamed into it, so a server reading the directory (another test process building at the same time,
 * a running `npm start`) never sees a half-written bundle.
 */
export async function buildConsole(outDir = CONSOLE_DIST) {
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    write: false,
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
  const files = [
    ...result.outputFiles.map((f) => [f.path, f.contents]),
    [join(outDir, "index.html"), readFileSync(join(root, "console/index.html"))],
    [join(outDir, "app.css"), readFileSync(join(root, "console/app.css"))],
  ];
  for (const [path, contents] of files) {
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, contents);
    renameSync(temporary, path);
  }
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildConsole(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`console built into ${out}`);
}
