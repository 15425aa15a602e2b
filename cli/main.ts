// `bridge`: the admin API from a terminal. Human-readable output, or --json for scripts; exit codes in ./exit-codes.ts.
// Commands: status, sync, runs list|show|approve, user [sync], remap [bulk [status]], callers [provision], ready,
// subscription, access.
import { Command } from "commander";
import { BRIDGE_VERSION } from "../shared/version.js";
import { addAdminCommands } from "./commands/admin.js";
import { addRemapCommands } from "./commands/remap.js";
import { addSyncCommands } from "./commands/sync.js";
import { cliContext, type CliIo } from "./context.js";
import { describeFailure, EXIT, EXIT_CODES_HELP } from "./exit-codes.js";
import { httpUrl } from "./options.js";

export type { CliIo } from "./context.js";

function program(io: CliIo): Command {
  const root = new Command("bridge")
    .description("Administer the Identity Bridge for Dynamics 365")
    .version(BRIDGE_VERSION, "-V, --version", "print the CLI's version")
    .option("--url <url>", "the bridge's origin (env BRIDGE_URL)", httpUrl, httpUrl(io.env.BRIDGE_URL ?? "http://127.0.0.1:7071"))
    .option("--token <token>", "an admin access token (env BRIDGE_TOKEN; else Entra sign-in)")
    .option("--scope <scope>", "<API_AUDIENCE>/.default, for Entra sign-in (env BRIDGE_SCOPE)", io.env.BRIDGE_SCOPE)
    .option("--tenant <id>", "Entra tenant for sign-in (env AZURE_TENANT_ID)", io.env.AZURE_TENANT_ID)
    .option("--client-id <id>", "public client id for --device-code")
    .option("--device-code", "sign in with the device-code flow instead of the Azure CLI")
    .option("--json", "print JSON (all fields, ids included)")
    .addHelpText("after", EXIT_CODES_HELP)
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const ctx = cliContext(root, io);
  addSyncCommands(root, ctx);
  addRemapCommands(root, ctx);
  addAdminCommands(root, ctx);
  // Subcommands throw on usage errors too (exit 2) rather than exiting the process.
  for (const command of allCommands(root)) command.exitOverride().configureOutput(root.configureOutput());
  return root;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Runs the CLI; resolves to the exit code (EXIT in ./exit-codes.ts). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let root: Command;
  try {
    root = program(io);
  } catch (error) {
    io.err(`error: BRIDGE_URL ${(error as Error).message}`);
    return EXIT.usage;
  }
  try {
    await root.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help") return EXIT.ok;
    if (typeof code === "string" && code.startsWith("commander.")) return EXIT.usage;
    const failure = describeFailure(error);
    io.err(failure.message);
    return failure.code;
  }
}
