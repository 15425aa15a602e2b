import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/config.js";
import { APP_SETTING_NAMES, REQUIRED_SETTING_NAMES } from "../../shared/config/schema.js";
import { BRIDGE_VERSION } from "../../shared/version.js";
import { readFileSync } from "node:fs";
import { problemsOf } from "../support/config-problems.js";
import { VALID_SETTINGS } from "../support/settings.js";

const valid = VALID_SETTINGS;


describe("configuration", () => {
  it("reads a minimal valid environment with the contract's defaults", () => {
    const config = loadConfig(valid);
    expect(config.authorityHost).toBe("https://login.microsoftonline.com");
    expect(config.isMicrosoftAuthority).toBe(true);
    expect(config.isRealVaultDomain).toBe(true);
    expect(config.keyVaultUrl).toBe("https://kv-bridge.vault.azure.net");
    expect(config.graphBaseUrl).toBe("https://graph.microsoft.com");
    expect(config.dataverseUrls).toEqual(["https://contoso.crm.dynamics.com", "https://fabrikam.crm4.dynamics.com"]);
    expect(config.sync).toMatchObject({ schedule: "0 */15 * * * *", identity: "upn", disableThreshold: { count: 500 }, dryRun: false, scopeGroupIds: [] });
    expect(config.api.adminRole).toBe("Bridge.Admin");
    expect(config.tokenCallers).toEqual([]);
  });

  it("names every missing required setting in one error", () => {
    const problems = problemsOf({});
    for (const name of [...REQUIRED_SETTING_NAMES, "AzureWebJobsStorage", "DATAVERSE_URLS"]) {
      expect(problems.some((p) => p.startsWith(`${name}:`)), name).toBe(true);
    }
  });

  it("names every wrong setting with a hint, and never echoes a value", () => {
    const secretLooking = "s3cr3t-value-that-must-not-leak";
    const problems = problemsOf({
      ...valid,
      AZURE_TENANT_ID: secretLooking,
      KEY_VAULT_URL: "http://kv.example",
      SYNC_SCHEDULE: "*/5 * * * *",
      SYNC_DISABLE_THRESHOLD: "lots",
      SYNC_IDENTITY: "email",
      SYNC_DRY_RUN: "maybe",
      TOKEN_CALLERS: `[{"id":"x","name":"X","auth":"secret","resources":["https://contoso.crm.dynamics.com"],"secret":"${secretLooking}"}]`,
    });
    expect(problems.map((p) => p.split(":")[0])).toEqual(expect.arrayContaining([
      "AZURE_TENANT_ID", "KEY_VAULT_URL", "SYNC_SCHEDULE", "SYNC_DISABLE_THRESHOLD", "SYNC_IDENTITY", "SYNC_DRY_RUN", "TOKEN_CALLERS",
    ]));
    expect(problems.join("\n")).not.toContain(secretLooking);
    expect(problems.find((p) => p.startsWith("SYNC_SCHEDULE"))).toMatch(/six fields/);
  });

  it("parses thresholds as counts or shares", () => {
    expect(loadConfig({ ...valid, SYNC_DISABLE_THRESHOLD: "5%" }).sync.disableThreshold).toEqual({ percent: 5 });
    expect(loadConfig({ ...valid, SYNC_DISABLE_THRESHOLD: "20" }).sync.disableThreshold).toEqual({ count: 20 });
    expect(problemsOf({ ...valid, SYNC_DISABLE_THRESHOLD: "150%" })[0]).toMatch(/^SYNC_DISABLE_THRESHOLD/);
  });

  it("reads the remap lease in seconds, 120 unless set, from 10 seconds", () => {
    expect(loadConfig(valid).remap.leaseMs).toBe(120_000);
    expect(loadConfig({ ...valid, REMAP_LEASE_SECONDS: "30" }).remap.leaseMs).toBe(30_000);
    for (const bad of ["5", "0", "30s", "-30"]) expect(problemsOf({ ...valid, REMAP_LEASE_SECONDS: bad })[0]).toMatch(/^REMAP_LEASE_SECONDS/);
  });

  it("treats a loopback authority and vault as non-Microsoft hosts", () => {
    const config = loadConfig({ ...valid, AZURE_AUTHORITY_HOST: "https://127.0.0.1:4443", KEY_VAULT_URL: "https://127.0.0.1:4444" });
    expect(config.isMicrosoftAuthority).toBe(false);
    expect(config.isRealVaultDomain).toBe(false);
  });

  it("accepts identity-based storage instead of a connection string", () => {
    const { AzureWebJobsStorage: _, ...rest } = valid;
    const config = loadConfig({ ...rest, AzureWebJobsStorage__accountName: "stbridge", AzureWebJobsStorage__clientId: "c" });
    expect(config.storage).toEqual({ kind: "identity", tableServiceUri: "https://stbridge.table.core.windows.net", queueServiceUri: "https://stbridge.queue.core.windows.net", managedIdentityClientId: "c" });
  });

  it("validates TOKEN_CALLERS entries per auth method", () => {
    const callers = (v: unknown[]) => ({ ...valid, TOKEN_CALLERS: JSON.stringify(v) });
    const dv = "5a5a5a5a-0000-4000-8000-00000000000a";
    const ok = loadConfig(callers([{ id: "erp", name: "ERP", auth: "private_key_jwt", publicKeySecretName: "erp-key", dataverseAppId: dv.toUpperCase(), resources: ["https://Contoso.crm.dynamics.com/"] }]));
    expect(ok.tokenCallers[0]).toMatchObject({ ratePerMinute: 60, disabled: false, resources: ["https://contoso.crm.dynamics.com"], dataverseAppId: dv, credential: "federated", roles: [] });
    expect(problemsOf(callers([{ id: "a", name: "A", auth: "secret", dataverseAppId: dv, resources: ["https://x.crm.dynamics.com"] }]))[0]).toMatch(/secretName/);
    expect(problemsOf(callers([{ id: "a", name: "A", auth: "entra", dataverseAppId: dv, resources: ["https://x.crm.dynamics.com"] }]))[0]).toMatch(/appId/);
    expect(problemsOf(callers([{ id: "a", name: "A", auth: "private_key_jwt", dataverseAppId: dv, resources: ["https://x.crm.dynamics.com"] }]))[0]).toMatch(/exactly one of jwksUri or publicKeySecretName/);
    expect(problemsOf(callers([{ id: "a", name: "A", auth: "secret", secretName: "s", resources: ["https://x.crm.dynamics.com"] }]))[0]).toMatch(/dataverseAppId\] is required/);
    expect(problemsOf(callers([{ id: "a", name: "A", auth: "secret", secretName: "s", dataverseAppId: dv, credential: "secret", resources: ["https://x.crm.dynamics.com"] }]))[0]).toMatch(/credential\] must be "federated" or \{"secretName"/);
    const withSecret = loadConfig(callers([{ id: "a", name: "A", auth: "secret", secretName: "s", dataverseAppId: dv, credential: { secretName: "a-dv" }, roles: ["Reader"], resources: ["https://x.crm.dynamics.com"] }]));
    expect(withSecret.tokenCallers[0]).toMatchObject({ credential: { secretName: "a-dv" }, roles: ["Reader"] });
  });

  it("refuses a caller whose Dataverse identity is the bridge's own app, alongside the other problems", () => {
    const problems = problemsOf({ ...valid, API_AUDIENCE: "", TOKEN_CALLERS: JSON.stringify([
      { id: "sneaky", name: "S", auth: "secret", secretName: "s", dataverseAppId: valid.APP_CLIENT_ID.toUpperCase(), resources: ["https://x.crm.dynamics.com"] },
    ]) });
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^API_AUDIENCE: is missing/),
      expect.stringMatching(/^TOKEN_CALLERS: caller "sneaky": dataverseAppId is APP_CLIENT_ID, the bridge's own app; give the caller its own app registration/),
    ]));
    expect(problemsOf({ ...valid, TOKEN_CALLERS: "{not json" })[0]).toMatch(/TOKEN_CALLERS: is not valid JSON/);
  });

  it("requires the clientState secret when webhooks are on", () => {
    expect(problemsOf({ ...valid, NOTIFICATION_URL: "https://bridge.example/api/notifications" })[0]).toMatch(/^NOTIFICATION_CLIENT_STATE_SECRET_NAME/);
  });

  it("needs no app secret: without APP_CREDENTIAL_SECRET_NAME the app signs in federated (managed identity) or with the Azure CLI", () => {
    const { APP_CREDENTIAL_SECRET_NAME: _unset, ...noSecret } = valid;
    expect(REQUIRED_SETTING_NAMES).not.toContain("APP_CREDENTIAL_SECRET_NAME");
    expect(loadConfig({ ...noSecret, IDENTITY_ENDPOINT: "http://localhost:42356/msi/token" })).toMatchObject({ appCredentialSecretName: undefined, appSignIn: "federated", hasManagedIdentity: true });
    expect(loadConfig(noSecret)).toMatchObject({ appSignIn: "azure-cli", hasManagedIdentity: false });
    expect(loadConfig({ ...valid, IDENTITY_ENDPOINT: "http://localhost:42356/msi/token" }).appSignIn).toBe("vault-secret");
    expect(problemsOf({ ...valid, APP_CREDENTIAL_SECRET_NAME: "bad name" })[0]).toMatch(/^APP_CREDENTIAL_SECRET_NAME: must be a Key Vault secret name/);
  });

  it("lists every contract setting", () => {
    expect([...APP_SETTING_NAMES].sort()).toEqual([
      "ACCESS_REMOVAL_THRESHOLD", "ACCESS_RULES", "SYNC_LICENSE_SKUS",
      "ADMIN_ROLE", "API_AUDIENCE", "APP_CLIENT_ID", "CALLER_PROVISIONING", "APP_CREDENTIAL_SECRET_NAME", "AZURE_AUTHORITY_HOST", "AZURE_CLIENT_ID",
      "AZURE_TENANT_ID", "AzureWebJobsStorage", "DATAVERSE_ORGS", "DATAVERSE_URLS", "GRAPH_BASE_URL", "KEY_VAULT_URL", "NOTIFICATION_CLIENT_STATE_SECRET_NAME",
      "NOTIFICATION_URL", "ONPREM_CA_BUNDLE_SECRET_NAME", "PUBLIC_BASE_URL", "REMAP_LEASE_SECONDS", "REMAP_PLACEHOLDER_USERS", "SYNC_ATTRIBUTE_MAP", "SYNC_DISABLE_THRESHOLD", "SYNC_DRY_RUN", "SYNC_IDENTITY",
      "SYNC_SCHEDULE", "SYNC_SCOPE_GROUP_IDS", "TOKEN_CALLERS", "TRUSTED_PROXY_HOPS",
    ].sort());
  });

  it("keeps the reported version in step with package.json", () => {
    expect(BRIDGE_VERSION).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  });
});

describe("PUBLIC_BASE_URL", () => {
  const baseOf = (env: Record<string, string | undefined>) => loadConfig({ ...valid, ...env }).publicBaseUrl;

  it("is the configured origin, else https://$WEBSITE_HOSTNAME, else the local address (BRIDGE_PORT)", () => {
    expect(baseOf({ PUBLIC_BASE_URL: "https://Bridge.Contoso.com/", WEBSITE_HOSTNAME: "app.azurewebsites.net" })).toBe("https://bridge.contoso.com");
    expect(baseOf({ WEBSITE_HOSTNAME: "app-x1.westeurope-01.azurewebsites.net" })).toBe("https://app-x1.westeurope-01.azurewebsites.net");
    expect(baseOf({})).toBe("http://127.0.0.1:7071");
    expect(baseOf({ BRIDGE_PORT: "7072" })).toBe("http://127.0.0.1:7072");
  });

  it("must be an http(s) origin only", () => {
    for (const bad of ["bridge.contoso.com", "ftp://bridge.contoso.com", "https://bridge.contoso.com/api", "https://u:p@bridge.contoso.com", "https://bridge.contoso.com/?x=1", "https://bridge.contoso.com/#x"]) {
      expect(problemsOf({ ...valid, PUBLIC_BASE_URL: bad })[0], bad).toMatch(/^PUBLIC_BASE_URL/);
    }
    expect(problemsOf({ ...valid, WEBSITE_HOSTNAME: "bad host/x" })[0]).toMatch(/^PUBLIC_BASE_URL/);
  });
});
