// Fidelity of the Key Vault emulator: the real SecretClient (challenge auth via @azure/keyvault-common,
// tokens from the Entra emulator) reads, writes and lists secrets and sees Key Vault's errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientSecretCredential, ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import type { RestError } from "@azure/core-rest-pipeline";
import { createEntraHandler } from "../../dev/sandbox/entra.js";
import { createKeyVaultHandler } from "../../dev/sandbox/keyvault.js";
import { startHttpsService, type RunningService } from "../../dev/sandbox/https-service.js";
import { Tenant, type AppRegistration } from "../../dev/sandbox/tenant.js";
import { ensureSandboxTls } from "../../dev/sandbox/tls.js";

// Same as testTls() in test/support/sandbox.ts, without importing the whole sandbox (and every other emulator).
const testTls = () => ensureSandboxTls(process.env.SANDBOX_TLS_DIR ?? "");

const VAULT = "https://vault.azure.net";
let tenant: Tenant;
let entra: RunningService;
let kv: RunningService;
let officer: AppRegistration;
const officerSecret = "officer-secret";
const envVars = ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"];
const savedEnv: Record<string, string | undefined> = {};

const officerClient = () =>
  new SecretClient(kv.url, new ClientSecretCredential(tenant.tenantId, officer.clientId, officerSecret, { authorityHost: entra.url, disableInstanceDiscovery: true }), {
    disableChallengeResourceVerification: true,
  });
const miClient = () => new SecretClient(kv.url, new ManagedIdentityCredential(), { disableChallengeResourceVerification: true });
const rawGet = (path: string, token?: string) =>
  fetch(`${kv.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  const tls = testTls();
  tenant = await Tenant.create();
  entra = await startHttpsService(tls, "entra", createEntraHandler(tenant));
  tenant.authorityUrl = entra.url;
  kv = await startHttpsService(tls, "keyvault", createKeyVaultHandler(tenant));
  officer = tenant.registerApp({ displayName: "secrets officer", secrets: [officerSecret] });
  for (const v of envVars) { savedEnv[v] = process.env[v]; delete process.env[v]; }
  process.env.IDENTITY_ENDPOINT = `${entra.url}/msi/token`;
  process.env.IDENTITY_HEADER = tenant.identityHeader;
});

afterAll(async () => {
  for (const v of envVars) { if (savedEnv[v] === undefined) delete process.env[v]; else process.env[v] = savedEnv[v]; }
  await Promise.all([entra?.close(), kv?.close()]);
});

describe("challenge-based authentication", () => {
  it("answers an anonymous request with 401 and the challenge keyvault-common parses", async () => {
    const res = await rawGet("/secrets/anything?api-version=7.5");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer authorization="${entra.url}/${tenant.tenantId}", resource="${VAULT}"`);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("Unauthorized");
  });

  it("refuses tokens with the wrong audience, a foreign signature or past expiry", async () => {
    tenant.setSecret("guarded", "x");
    const wrongAud = (await tenant.issueAccessToken({ clientId: officer.clientId, audience: "https://graph.microsoft.com" })).token;
    const foreign = (await tenant.issueAccessToken({ clientId: officer.clientId, audience: VAULT, key: await Tenant.newSigningKey() })).token;
    const expired = (await tenant.issueAccessToken({ clientId: officer.clientId, audience: VAULT, claims: { exp: Math.floor(Date.now() / 1000) - 3600 } })).token;
    const good = (await tenant.issueAccessToken({ clientId: officer.clientId, audience: VAULT })).token;
    for (const token of [wrongAud, foreign, expired]) {
      const res = await rawGet("/secrets/guarded?api-version=7.5", token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("authorization=");
    }
    expect((await rawGet("/secrets/guarded?api-version=7.5", good)).status).toBe(200);
  });
});

describe("SecretClient", () => {
  it("gets a secret after the challenge round trip, with Key Vault's bundle shape", async () => {
    const seeded = tenant.setSecret("db-password", "p@ss-1", "text/plain");
    const reqsBefore = kv.knobs.requests.length;
    const secret = await officerClient().getSecret("db-password");
    expect(secret.value).toBe("p@ss-1");
    expect(secret.properties.version).toBe(seeded.version);
    expect(secret.properties.id).toBe(`${kv.url}/secrets/db-password/${seeded.version}`);
    expect(secret.properties.vaultUrl).toBe(kv.url);
    expect(secret.properties.contentType).toBe("text/plain");
    expect(secret.properties.enabled).toBe(true);
    expect(secret.properties.recoveryLevel).toBe("Recoverable+Purgeable");
    expect(secret.properties.createdOn?.getTime()).toBe(seeded.created * 1000);
    // First the anonymous probe (401), then the authenticated retry.
    expect(kv.knobs.requests.slice(reqsBefore).map((r) => r.status)).toEqual([401, 200]);
  });

  it("sets a new version that becomes the latest, keeping older versions readable", async () => {
    const client = officerClient();
    const first = await client.setSecret("rotating", "v1");
    const second = await client.setSecret("rotating", "v2", { contentType: "application/x-pem-file", tags: { owner: "bridge" } });
    expect(second.properties.version).not.toBe(first.properties.version);
    const latest = await client.getSecret("rotating");
    expect(latest.value).toBe("v2");
    expect(latest.properties.version).toBe(second.properties.version);
    expect(latest.properties.tags).toEqual({ owner: "bridge" });
    expect((await client.getSecret("rotating", { version: first.properties.version! })).value).toBe("v1");
    expect(tenant.latestSecret("rotating")!.value).toBe("v2");
  });

  it("lists every version across pages (25 per page, nextLink followed)", async () => {
    const versions = Array.from({ length: 30 }, (_, i) => tenant.setSecret("many", `value-${i}`).version);
    const listed: string[] = [];
    for await (const p of officerClient().listPropertiesOfSecretVersions("many")) {
      expect(p.name).toBe("many");
      listed.push(p.version!);
    }
    expect(listed.sort()).toEqual([...versions].sort());
    expect(kv.knobs.count((r) => r.url.startsWith("/secrets/many/versions") && r.status === 200)).toBe(2);
    const names: string[] = [];
    for await (const p of officerClient().listPropertiesOfSecrets()) names.push(p.name);
    expect(names).toEqual(expect.arrayContaining(["db-password", "rotating", "many"]));
  });

  it("fails a missing secret with 404 SecretNotFound", async () => {
    const err = (await officerClient().getSecret("no-such-secret").catch((e: unknown) => e)) as RestError;
    expect(err.name).toBe("RestError");
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe("SecretNotFound");
    expect(err.message).toContain("A secret with (name/id) no-such-secret was not found in this key vault.");
    const v = (await officerClient().getSecret("db-password", { version: "0123456789abcdef0123456789abcdef" }).catch((e: unknown) => e)) as RestError;
    expect(v.statusCode).toBe(404);
  });

  it("refuses a disabled secret with 403 SecretDisabled", async () => {
    await officerClient().setSecret("off", "x", { enabled: false });
    const err = (await officerClient().getSecret("off").catch((e: unknown) => e)) as RestError;
    expect(err.statusCode).toBe(403);
    expect(err.message).toContain("disabled secret");
  });
});

describe("managed identity and RBAC", () => {
  it("reads with the function app's managed identity, and gets 403 ForbiddenByRbac once its role is gone", async () => {
    tenant.setSecret("bridge-app-credential", "app-secret");
    expect((await miClient().getSecret("bridge-app-credential")).value).toBe("app-secret");
    tenant.managedIdentityCanReadVault = false;
    try {
      const err = (await miClient().getSecret("bridge-app-credential").catch((e: unknown) => e)) as RestError;
      expect(err.statusCode).toBe(403);
      expect(err.code).toBe("Forbidden");
      expect(err.message).toContain(`Caller: appid=${tenant.managedIdentity.clientId};oid=${tenant.managedIdentity.principalId}`);
      expect(err.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'");
      expect(err.message).toContain("Assignment: (not found)");
      // The officer still can.
      expect((await officerClient().getSecret("bridge-app-credential")).value).toBe("app-secret");
    } finally {
      tenant.managedIdentityCanReadVault = true;
    }
  });

  it("gives the managed identity read-only access (Key Vault Secrets User)", async () => {
    const err = (await miClient().setSecret("mi-write", "x").catch((e: unknown) => e)) as RestError;
    expect(err.statusCode).toBe(403);
    expect(err.message).toContain("secrets/setSecret/action");
  });

  it("returns the raw Forbidden body with innererror ForbiddenByRbac", async () => {
    const token = (await tenant.issueAccessToken({ clientId: tenant.managedIdentity.clientId, audience: VAULT })).token;
    tenant.managedIdentityCanReadVault = false;
    try {
      const res = await rawGet("/secrets/bridge-app-credential?api-version=7.5", token);
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string; message: string; innererror: { code: string } } };
      expect(body.error.code).toBe("Forbidden");
      expect(body.error.innererror.code).toBe("ForbiddenByRbac");
      expect(body.error.message.split("\r\n")[0]).toBe("Caller is not authorized to perform action on resource.");
    } finally {
      tenant.managedIdentityCanReadVault = true;
    }
  });
});

describe("test knobs", () => {
  it("counts authenticated reads per secret name (not the anonymous challenge probe)", async () => {
    tenant.setSecret("counted", "c");
    const before = tenant.vaultReadCount("counted");
    const client = officerClient();
    await client.getSecret("counted");
    await client.getSecret("counted");
    expect(tenant.vaultReadCount("counted") - before).toBe(2);
    expect(kv.knobs.count((r) => r.url.startsWith("/secrets/counted"))).toBe(3); // probe + 2 reads
  });

  it("denies reads of chosen secrets with 403", async () => {
    tenant.setSecret("locked", "l");
    tenant.vaultForbiddenSecrets.add("locked");
    try {
      const err = (await officerClient().getSecret("locked").catch((e: unknown) => e)) as RestError;
      expect(err.statusCode).toBe(403);
      expect((await officerClient().getSecret("db-password")).value).toBe("p@ss-1");
    } finally {
      tenant.vaultForbiddenSecrets.delete("locked");
    }
  });

  it("validates api-version and names as the service does", async () => {
    const token = (await tenant.issueAccessToken({ clientId: officer.clientId, audience: VAULT })).token;
    expect((await rawGet("/secrets/db-password", token)).status).toBe(400);
    expect((await rawGet("/secrets/bad_name?api-version=7.5", token)).status).toBe(400);
    expect((await rawGet("/secrets/db-password?api-version=2025-07-01", token)).status).toBe(200);
  });
});
