// "No secret at all": with APP_CREDENTIAL_SECRET_NAME unset and no app secret anywhere (not on the app
// registration, not in the vault), the bridge signs in as APP_CLIENT_ID with its managed identity's token as the
// client assertion, through the same federated credential callers use. Against the sandbox in configured mode:
// it syncs, issues caller tokens and reports the credential on /api/ready; the emulated Entra refuses the
// assertion (AADSTS70021 / AADSTS700213) until a federated identity credential trusts the managed identity.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/config.js";
import { createAppCredential } from "../../shared/credentials/app-credential.js";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { testBridge } from "../support/test-bridge.js";
import { expectConverged } from "../sync/sync-helpers.js";

let env: BridgeEnvironment;
beforeAll(async () => { env = await startBridgeEnvironment({ seed: { users: 8, bridgeCredential: "federated" } }); });
afterAll(async () => { await env?.stop(); });

const tenant = () => env.sandbox.tenant;
const bridgeApp = () => env.sandbox.identities.bridgeApp;
/** Managed-identity token requests for the token-exchange audience (each one a client assertion). */
const assertionRequests = () => env.sandbox.entra.knobs.count((r) => r.url.startsWith("/msi/token?") && new URL(r.url, "https://x").searchParams.get("resource") === "api://AzureADTokenExchange");

describe("the bridge without a secret", () => {
  it("is configured with no app secret anywhere: federated sign-in chosen because a managed identity is present", () => {
    expect(process.env.APP_CREDENTIAL_SECRET_NAME).toBeUndefined();
    expect(bridgeApp().secrets).toEqual([]);
    expect(bridgeApp().certificates).toEqual([]);
    expect([...tenant().vault.keys()]).not.toContain("bridge-app-credential");
    const config = loadConfig();
    expect(config.appCredentialSecretName).toBeUndefined();
    expect(config.appSignIn).toBe("federated");
    expect(loadConfig({ ...process.env, IDENTITY_ENDPOINT: undefined, MSI_ENDPOINT: undefined }).appSignIn, "a workstation: the Azure CLI login").toBe("azure-cli");
    expect(loadConfig({ ...process.env, APP_CREDENTIAL_SECRET_NAME: "bridge-app-credential" }).appSignIn).toBe("vault-secret");
  });

  it("gets Graph and Dataverse tokens as APP_CLIENT_ID with the managed identity's token as the client assertion", async () => {
    const root = testBridge();
    expect(await root.appCredential.kind()).toBe("federated");
    const before = assertionRequests();
    for (const resource of [env.sandbox.graph.url, env.sandbox.dataverse[0]!.url]) {
      const token = await root.appCredential.getToken(`${resource}/.default`);
      // The app has neither secret nor certificate: Entra issued this only against a trusted federated assertion.
      expect(decodeJwt(token.token)).toMatchObject({ aud: resource, appid: bridgeApp().clientId });
    }
    expect(assertionRequests() - before, "the managed identity was asked for an assertion").toBeGreaterThanOrEqual(1);
  });

  it("syncs the directory into Dataverse", async () => {
    const root = testBridge();
    const org = env.sandbox.dataverse[0]!.org;
    const run = await root.syncRuns.start({ trigger: "test", org: org.url, mode: "full" });
    const report = await root.syncRuns.execute({ org: run.org, runId: run.runId });
    expect(report.state, JSON.stringify(report.errors)).toBe("succeeded");
    expect(report.counts.created).toBeGreaterThan(0);
    expectConverged(env.sandbox, org);
  });

  it("issues a caller its own Dataverse token", async () => {
    const { tokenHandler } = await import("../../functions/token.http.js");
    const root = testBridge();
    const caller = env.sandbox.identities.secretCaller;
    const org = env.sandbox.dataverse[0]!.url;
    const res = await callHandler(tokenHandler(() => root), "http://127.0.0.1:7071/api/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: caller.clientId, client_secret: caller.secret, scope: `${org}/.default` }).toString(),
    });
    expect(res.status, res.text).toBe(200);
    expect(decodeJwt(res.body.access_token)).toMatchObject({ aud: org, appid: env.sandbox.identities.callerApps[caller.id]!.clientId });
  });

  it("/api/ready reports the federated credential (no secret name) and reads another configured secret", async () => {
    const { ready } = await import("../../functions/ready.http.js");
    const res = await callHandler(ready, "/api/ready", { headers: { authorization: `Bearer ${await env.sandbox.adminToken()}` } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.appCredential).toEqual({ clientId: bridgeApp().clientId, kind: "federated" });
    const vault = res.body.checks.find((c: { name: string }) => c.name === "keyvault");
    expect(vault).toMatchObject({ ok: true, detail: expect.stringContaining(env.sandbox.identities.clientStateSecretName) });
  });

  it("is refused as Entra refuses it until a federated credential trusts the managed identity", async () => {
    const trusted = [...bridgeApp().federatedCredentials];
    const graphScope = `${env.sandbox.graph.url}/.default`;
    try {
      bridgeApp().federatedCredentials.splice(0);
      await expect(testBridge().appCredential.getToken(graphScope)).rejects.toThrow(/AADSTS70021/);
      const readiness = await testBridge().readiness.get();
      expect(readiness.ready).toBe(false);
      const token = readiness.checks.find((c) => c.name === `dataverse-token:${env.sandbox.dataverse[0]!.url}`);
      expect(token).toMatchObject({ ok: false, cause: "dataverse_token_failed", detail: expect.stringContaining("AADSTS70021") });

      // Right issuer and audience, another subject (say, a different identity's object id).
      bridgeApp().federatedCredentials.push({ ...trusted[0]!, subject: tenant().managedIdentity.clientId });
      await expect(testBridge().appCredential.getToken(graphScope)).rejects.toThrow(/AADSTS700213/);
    } finally {
      bridgeApp().federatedCredentials.splice(0, bridgeApp().federatedCredentials.length, ...trusted);
    }
    expect(decodeJwt((await testBridge().appCredential.getToken(graphScope)).token).appid).toBe(bridgeApp().clientId);
  });

  it("on a workstation (no managed identity) signs in with the Azure CLI login: `az account get-access-token`", async () => {
    // A stand-in `az` on PATH that records its arguments and prints what the real one prints.
    const dir = mkdtempSync(join(tmpdir(), "fake-az-"));
    const person = tenant().addSignInUser({ userPrincipalName: "dev@contoso.com", displayName: "Developer", appRoles: {} });
    const { token, expiresOn } = await tenant().issueUserAccessToken({ clientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", audience: env.sandbox.graph.url, user: person, scp: "User.Read.All" });
    writeFileSync(join(dir, "az"), `#!/usr/bin/env node
require("node:fs").writeFileSync(${JSON.stringify(join(dir, "args.json"))}, JSON.stringify(process.argv.slice(2)));
console.log(JSON.stringify({ accessToken: ${JSON.stringify(token)}, expires_on: ${expiresOn}, tokenType: "Bearer", tenant: ${JSON.stringify(tenant().tenantId)} }));
`);
    chmodSync(join(dir, "az"), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${dir}${delimiter}${path}`;
    try {
      const config = loadConfig({ ...process.env, IDENTITY_ENDPOINT: undefined, MSI_ENDPOINT: undefined });
      const root = testBridge();
      const credential = createAppCredential(config, root.secrets, root.platformCredential);
      expect(await credential.kind()).toBe("azure-cli");
      expect((await credential.getToken(`${env.sandbox.graph.url}/.default`)).token).toBe(token);
      const args = JSON.parse(readFileSync(join(dir, "args.json"), "utf8")) as string[];
      expect(args).toEqual(["account", "get-access-token", "--output", "json", "--resource", env.sandbox.graph.url, "--tenant", tenant().tenantId]);
    } finally {
      process.env.PATH = path;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
