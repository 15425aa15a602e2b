#!/usr/bin/env node
// The `bridge` CLI (package.json "bin"): runs cli/main.ts through tsx.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../cli/main.ts");
process.exitCode = await runCli(process.argv.slice(2), {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  interactive: Boolean(process.stderr.isTTY),
  env: process.env,
});
