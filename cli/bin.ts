// The `bridge` executable's entry point; scripts/build-cli.mjs compiles it (with every dependency) into dist/cli/bridge.mjs.
import { runCli } from "./main.js";

process.exitCode = await runCli(process.argv.slice(2), {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  interactive: Boolean(process.stderr.isTTY),
  env: process.env,
});
