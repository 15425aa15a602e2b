// A stand-in for the Azure CLI used by the deploy-script test: records each call (argv, one JSON
// line in $FAKE_AZ_LOG), keeps a copy of any `--parameters @file`, and prints plausible output.
import { appendFileSync, copyFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";

const args = process.argv.slice(2);
const log = process.env.FAKE_AZ_LOG;
appendFileSync(log, `${JSON.stringify(args)}\n`);
const params = args[args.indexOf("--parameters") + 1];
if (args.includes("--parameters") && params.startsWith("@")) {
  const copies = readdirSync(dirname(log)).filter((f) => f.startsWith("parameters-")).length;
  copyFileSync(params.slice(1), join(dirname(log), `parameters-${copies}.json`));
}

const command = args.filter((a) => !a.startsWith("-")).slice(0, 3).join(" ");
const outputs = {
  FUNCTION_APP_NAME: { type: "String", value: "func-bridge-abc" },
  FUNCTION_APP_URL: { type: "String", value: "https://func-bridge-abc.azurewebsites.net" },
  KEY_VAULT_NAME: { type: "String", value: "kv-bridge-abc" },
  KEY_VAULT_URL: { type: "String", value: "https://kv-bridge-abc.vault.azure.net" },
};
if (command.startsWith("account show")) console.log("11111111-2222-3333-4444-555555555555");
else if (command.startsWith("ad signed-in-user show")) {
  if (process.env.FAKE_AZ_NO_USER) { console.error("ERROR: not a user login"); process.exit(1); }
  console.log("99999999-8888-7777-6666-555555555555");
} else if (command.startsWith("group exists")) console.log(process.env.FAKE_AZ_GROUP_EXISTS ?? "false");
else if (command.startsWith("group create")) { /* --output none */ }
else if (command.startsWith("deployment group create") || command.startsWith("deployment group show")) console.log(JSON.stringify(outputs));
else if (command.startsWith("deployment group what-if")) console.log("Resource changes: 12 to create.");
else if (command.startsWith("functionapp config appsettings")) console.log(process.env.FAKE_AZ_SYNC_DRY_RUN ?? "");
else if (command.startsWith("rest")) {
  // FAKE_AZ_DEPLOYMENT_STATES="a,b;c": the deployment states each status poll answers, in turn (then the last).
  const { readFileSync } = await import("node:fs");
  const polls = readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith('["rest"')).length;
  const answers = (process.env.FAKE_AZ_DEPLOYMENT_STATES ?? "").split(";");
  console.log((answers[Math.min(polls, answers.length) - 1] ?? "").split(",").filter(Boolean).join("\n"));
}
else if (command.startsWith("functionapp deployment source")) {
  // FAKE_AZ_ZIP_FAILS=n: the first n uploads fail (role assignments not yet propagated);
  // FAKE_AZ_ZIP_HANGS=n: the first n never answer (the CLI's Flex polling loop).
  const { readFileSync } = await import("node:fs");
  const attempt = readFileSync(log, "utf8").split("\n").filter((l) => l.includes("config-zip")).length;
  if (attempt <= Number(process.env.FAKE_AZ_ZIP_HANGS ?? 0)) await new Promise(() => setInterval(() => undefined, 1000));
  if (attempt <= Number(process.env.FAKE_AZ_ZIP_CONFLICTS ?? 0)) {
    console.error("ERROR: Deployment failed: (409) Conflict: There is a deployment currently in progress. Please try again when it completes.");
    process.exit(1);
  }
  if (attempt <= Number(process.env.FAKE_AZ_ZIP_FAILS ?? 0)) {
    console.error("ERROR: Failed to deploy: (403) This request is not authorized to perform this operation using this permission.");
    process.exit(1);
  }
}
else { console.error(`fake az: unexpected command: ${args.join(" ")}`); process.exit(3); }
