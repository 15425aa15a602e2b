#!/usr/bin/env node
// The `bridge` CLI (package.json "bin"): runs the compiled CLI, dist/cli/bridge.mjs (`npm run build:cli`).
import { existsSync } from "node:fs";

const compiled = new URL("../dist/cli/bridge.mjs", import.meta.url);
if (!existsSync(compiled)) {
  console.error("error: the CLI is not built; run `npm run build:cli` (or `npm run bridge -- <args>`, which builds it first)");
  process.exit(1);
}
await import(compiled.href);
