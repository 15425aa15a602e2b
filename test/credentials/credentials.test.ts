// The credentials module against the sandbox over HTTPS: Key Vault through the real SDK with the managed
// identity (App Service endpoint), the app credential built from the vault secret, rotation, 403 and coalescing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { selfSignedCertificate } from "../../dev/sandbox/tls.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";

let env: BridgeEnvironment;
beforeAll(async () => { env = await startBridgeEnvironment(); });
afterAll(async () => { await env?.stop(); });

const tenant = () => env.sandbox.tenant;
const entraTokenPosts = () => env.sandbox.entra.knobs.count((r) => r.method === "POST" && r.url.split("?")[0]!.endsWith("/oauth2/v2.0/token"));

describe("Key Vault secrets", () => {
  it("coalesces concurrent reads of one secret into one vault read, then serves it from cache", async () => {
    const root = (await import("../support/test-bridge.js")).testBridge();
    const name = env.sandbox.identities.clientStateSecretName;
    const before = tenant().vaultReadCount(name);
    const values = await Promise.all(Array.from({ length: 50 }, () => root.secrets.getSecret(name)));
    expect(new Set(values.map((v) => v.value)).size).toBe(1);
    expect(values[0]!.value).toBe(tenant().latestSecret(name)!.value);
    expect(tenant().vaultReadCount(name) - before).toBe(1);
    await root.secrets.getSecret(name);
    expect(tenant().vaultReadCount(name) - before).toBe(1);
  });

  it("re-reads after the TTL and after invalidate()", async () => {
    const { SecretStore } = await import("../../shared/credentials/secret-store.js");
    const { SecretClient } = await import("@azure/keyvault-secrets");
    const root = (await import("../support/test-bridge.js")).testBridge();
    let now = 1_000_000;
    const store = new SecretStore({
      client: new SecretClient(env.sandbox.keyVault.url, root.platformCredential, { disableChallengeResourceVerification: true }),
      vaultUrl: env.sandbox.keyVault.url,
      ttlMs: 60_000,
      now: () => now,
    });
    const name = env.sandbox.identities.secretCaller.secretName;
    const before = tenant().vaultReadCount(name);
    await store.getSecret(name);
    now += 59_000;
    await store.getSecret(name);
    expect(tenant().vaultReadCount(name) - before).toBe(1);
    now += 2_000;
    tenant().setSecret(name, "rotated-value");
    expect((await store.getSecret(name)).value).toBe("rotated-value");
    expect(tenant().vaultReadCount(name) - before).toBe(2);
    store.invalidate(name);
    await store.getSecret(name);
    expect(tenant().vaultReadCount(name) - before).toBe(3);
  });

  it("explains a 403: which identity lacks which role on which vault", async () => {
    const root = (await import("../support/test-bridge.js")).testBridge();
    tenant().vaultForbiddenSecrets.add("forbidden-secret");
    tenant().setSecret("forbidden-secret", "x");
    const error = await root.secrets.getSecret("forbidden-secret").catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "AppError", code: "key_vault_forbidden" });
    const message = (error as Error).message;
    expect(message).toContain("Key Vault Secrets User");
    expect(message).toContain(env.sandbox.keyVault.url);
    expect(message).toContain("managed identity");
    expect(message).not.toContain("x\"");
  });

  it("names a missing secret", async () => {
    const root = (await import("../support/test-bridge.js")).testBridge();
    await expect(root.secrets.getSecret("no-such-secret")).rejects.toMatchObject({ code: "key_vault_secret_not_found" });
  });
});

describe("the app credential", () => {
  // One bridge for these tests: rotation is seen by a credential that holds the old secret from the first.
  let root: import("../../shared/bridge.js").Bridge;
  beforeAll(async () => { root = (await import("../support/test-bridge.js")).testBridge(); });

  it("gets tokens for Graph and each org with the secret from the vault", async () => {
    const token = await root.appCredential.getToken(`${env.sandbox.graph.url}/.default`);
    const claims = JSON.parse(Buffer.from(token.token.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ aud: env.sandbox.graph.url, appid: env.sandbox.identities.bridgeApp.clientId, tid: tenant().tenantId });
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });

  it("survives rotation: a rejected secret is re-read from the vault and the token request retried", async () => {
    const { bridgeApp, bridgeCredentialSecretName } = env.sandbox.identities;
    const rotated = randomBytes(24).toString("base64url");
    // The admin rotates: a new secret on the app, the vault updated, the old secret removed.
    bridgeApp.secrets.splice(0, bridgeApp.secrets.length, rotated);
    tenant().setSecret(bridgeCredentialSecretName!, rotated);
    const posts = entraTokenPosts();
    const token = await root.appCredential.getToken(`${env.sandbox.dataverse[0]!.url}/.default`);
    expect(token.token.split(".")).toHaveLength(3);
    // One refused request with the cached old secret, one accepted with the new one.
    expect(entraTokenPosts() - posts).toBe(2);
  });

  it("uses a PEM certificate + key from the vault as a certificate credential", async () => {
    const { AppCredential } = await import("../../shared/credentials/app-credential.js");
    const { certPem: cert, keyPem: key } = selfSignedCertificate("bridge");
    const app = tenant().registerApp({ displayName: "cert app", certificates: [cert] });
    tenant().setSecret("cert-app-credential", `${cert}\n${key}`, "application/x-pem-file");
    const root = (await import("../support/test-bridge.js")).testBridge();
    const credential = new AppCredential({ tenantId: tenant().tenantId, clientId: app.clientId, authorityHost: env.sandbox.entra.url, disableInstanceDiscovery: true, secretName: "cert-app-credential" }, root.secrets);
    const token = await credential.getToken(`${env.sandbox.graph.url}/.default`);
    const claims = JSON.parse(Buffer.from(token.token.split(".")[1]!, "base64url").toString());
    expect(claims.appid).toBe(app.clientId);
    expect(await credential.kind()).toBe("certificate");
    expect(await root.appCredential.kind(), "the sandbox bridge's own vault secret").toBe("secret");
  });
});
