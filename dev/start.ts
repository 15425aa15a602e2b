// `npm start`: the functions on http://127.0.0.1:7071/api/… without Core Tools.
// No tenant configured → a local sandbox (Azurite + emulated Entra ID, Graph, Dataverse, Key Vault).
// Tenant configured (environment or local.settings.json) → the same functions against those services.
// SANDBOX_ONPREMISES_ORGS=1 adds an on-premises org behind an emulated AD FS, side by side with the online one;
// SANDBOX_APP_CREDENTIAL=federated runs the bridge with no app secret (a federated credential trusting the managed identity).
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ensureSandboxTls } from "./sandbox/tls.js";
import { startAzurite, type RunningAzurite } from "./sandbox/azurite.js";
import type { Sandbox } from "./sandbox/sandbox.js";
import { SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules } from "./sandbox/seed-access.js";
import { startLocalHost } from "./local-host/host.js";
import { restartWithCa } from "./restart-with-ca.js";
import { buildConsole } from "../scripts/build-console.mjs";

const PORT = Number(process.env.BRIDGE_PORT ?? 7071);

function localSettings(): Record<string, string> {
  const file = resolve("local.settings.json");
  if (!existsSync(file)) return {};
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { Values?: Record<string, string> };
  return parsed.Values ?? {};
}


async function main(): Promise<void> {
  for (const [name, value] of Object.entries(localSettings())) process.env[name] ??= value;
  const sandboxMode = !process.env.AZURE_TENANT_ID;
  let sandbox: Sandbox | undefined;
  let storageEmulator: RunningAzurite | undefined;

  if (sandboxMode) {
    const tls = ensureSandboxTls(resolve(".sandbox/tls"));
    if (process.env.NODE_EXTRA_CA_CERTS !== tls.caPath) {
      restartWithCa(tls.caPath);
      return;
    }
    const { startSandbox } = await import("./sandbox/sandbox.js");
    const onPremisesOrgs = Number(process.env.SANDBOX_ONPREMISES_ORGS ?? 0);
    if (!Number.isInteger(onPremisesOrgs) || onPremisesOrgs < 0 || onPremisesOrgs > 5) throw new Error("SANDBOX_ONPREMISES_ORGS must be a whole number from 0 to 5");
    // The sandbox Entra registers <origin>/api/console/ as the bridge app's SPA redirect URI.
    // SANDBOX_APP_CREDENTIAL=federated: the bridge's app has no secret, only a federated credential trusting the managed identity.
    const bridgeCredential = process.env.SANDBOX_APP_CREDENTIAL === "federated" ? "federated" : "secret";
    [sandbox, storageEmulator] = await Promise.all([startSandbox({ tls, onPremisesOrgs, publicBaseUrl: `http://127.0.0.1:${PORT}`, seed: { bridgeCredential } }), startAzurite()]);
    Object.assign(process.env, sandbox.env, {
      AzureWebJobsStorage: storageEmulator.connectionString,
      // The sandbox Graph posts change notifications to the local host (loopback http is allowed for it).
      NOTIFICATION_URL: `http://127.0.0.1:${PORT}/api/notifications`,
      // The seeded rule groups give their members a unit, roles and an owner team (docs/access.md).
      ACCESS_RULES: process.env.ACCESS_RULES ?? JSON.stringify(sandboxAccessRules()),
    });
  } else if (/UseDevelopmentStorage=true/i.test(process.env.AzureWebJobsStorage ?? "")) {
    storageEmulator = await startAzurite({ ports: { blob: 10000, queue: 10001, table: 10002 } });
  }
  process.env.SYNC_SCHEDULE ??= "0 */15 * * * *";

  const { loadConfig, ConfigError } = await import("../shared/config/config.js");
  try {
    loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      await Promise.all([sandbox?.stop(), storageEmulator?.stop()]);
      process.exit(1);
    }
    throw error;
  }

  await buildConsole();
  const host = await startLocalHost({ port: PORT, storageConnectionString: process.env.AzureWebJobsStorage === "UseDevelopmentStorage=true" ? storageEmulator?.connectionString : process.env.AzureWebJobsStorage });
  const stop = async () => {
    await host.close();
    await Promise.all([sandbox?.stop(), storageEmulator?.stop()]);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());

  if (sandbox) {
    // Create the Graph subscription now rather than at the next half hour.
    await host.runTimer("graphSubscriptions").catch((error: unknown) => console.error(`subscription setup failed: ${(error as Error).message}`));
    await printSandboxGuide(sandbox, host.url);
  }
  else {
    console.log(`\nIdentity Bridge serving ${host.url}/api against the configured tenant.`);
    console.log(`  Admin console: ${host.url}/api/console/ (the app registration needs it as a single-page-application redirect URI)`);
    console.log(`  CLI: npx bridge --url ${host.url} --scope '<API_AUDIENCE>/.default' status   (signs in with the Azure CLI)\n`);
  }
}

async function printSandboxGuide(sandbox: Sandbox, url: string): Promise<void> {
  const admin = await sandbox.adminToken({ lifetimeSeconds: 8 * 3600 });
  const caller = sandbox.identities.secretCaller;
  const org = sandbox.dataverse[0]!.url;
  const apps = Object.fromEntries(Object.entries(sandbox.identities.callerApps).map(([id, app]) => [id, app.clientId]));
  const firstOrg = sandbox.dataverse[0]!.org;
  const callerLines = Object.entries(apps).map(([id, appId]) => {
    const user = firstOrg.findByApplicationId(appId);
    return `  ${id.padEnd(10)} app ${appId} → systemuser ${user?.systemuserid ?? "(none in org1)"}  roles ${JSON.stringify(user ? firstOrg.roleNamesOf(user.systemuserid) : [])}`;
  }).join("\n");
  console.log(`
Identity Bridge sandbox is up: ${url}/api  (emulated tenant ${sandbox.tenant.tenantId})
  Entra ID   ${sandbox.entra.url}
  Graph      ${sandbox.graph.url}
  Dataverse  ${sandbox.dataverse.map((d) => d.url).join(", ")}${sandbox.adfs ? `
  On-prem    ${sandbox.onPremises.map((d) => `${d.url} (Web API 9.1)`).join(", ")}
  AD FS      ${sandbox.adfs.url}/adfs` : ""}
  Key Vault  ${sandbox.keyVault.url}

Try it:
  curl ${url}/api/health
  export ADMIN_TOKEN='${admin}'   # sandbox admin token, valid 8 h
  curl -X POST ${url}/api/sync -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' -d '{"dryRun":true}'
  curl ${url}/api/sync/status -H "Authorization: Bearer $ADMIN_TOKEN"
  # the admin console: open it and sign in as "${sandbox.identities.consoleUsers.admin.displayName}" (${sandbox.identities.consoleUsers.admin.userPrincipalName}, Bridge.Admin)
  ${url}/api/console/
  # the CLI:
  npx bridge --url ${url} --token "$ADMIN_TOKEN" status
  # a Dataverse token for the S2S caller "${caller.id}" (sandbox credentials); it is the caller's OWN token:
  TOKEN=$(curl -s -X POST ${url}/api/token -u '${caller.clientId}:${caller.secret}' -d 'grant_type=client_credentials&scope=${org}/.default' | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  node -pe 'JSON.parse(Buffer.from(process.argv[1].split(".")[1], "base64url")).appid' "$TOKEN"   # ${apps.reporting} (${caller.id}'s app), not ${sandbox.identities.bridgeApp.clientId} (the bridge)
  curl -s --cacert ${sandbox.tls.caPath} ${org}/api/data/v9.2/WhoAmI -H "Authorization: Bearer $TOKEN"   # UserId = ${caller.id}'s application user, not the bridge's
  # each caller, its application user and roles per org, and any misconfiguration with its fix:
  curl -s ${url}/api/callers -H "Authorization: Bearer $ADMIN_TOKEN"
Callers and their own Dataverse identities (app → application user, roles):
${callerLines}
${accessGuide(sandbox)}
Stop with Ctrl+C.
`);
}

/** The seeded access (dev/sandbox/seed-access.ts): rule groups and what each org has to give. */
function accessGuide(sandbox: Sandbox): string {
  const dir = sandbox.tenant.directory;
  const groups = Object.values(SANDBOX_GROUPS).map((g) => `${g.displayName} (${g.id}, ${dir.membersOf(g.id).length} members)`).join(", ");
  const { units, roles, teams } = SANDBOX_ACCESS;
  return `Access: each org has units ${Object.values(units).join(", ")} under its root, roles ${Object.values(roles).join(", ")}, owner teams ${Object.values(teams).join(", ")}.
  Entra groups: ${groups}. ACCESS_RULES (unless set): sandboxAccessRules() in dev/sandbox/seed-access.ts; GET /api/access shows them resolved.`;
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${(error as Error).message}`);
  process.exit(1);
});
