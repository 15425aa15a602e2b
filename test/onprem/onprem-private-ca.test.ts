// AD FS and an on-premises org behind a company's internal CA: the sandbox serves them with a certificate from a
// SEPARATE CA that NODE_EXTRA_CA_CERTS does not name. Without ONPREM_CA_BUNDLE_SECRET_NAME the bridge cannot reach
// them and says why; with the CA's PEM in the Key Vault emulator it syncs the on-premises org and issues its
// callers' AD FS tokens, while the bundle stays trusted for the on-premises hosts only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startHttpsService, sendJson, type RunningService } from "../../dev/sandbox/https-service.js";
import { ensureSandboxTls, type SandboxTls } from "../../dev/sandbox/tls.js";
import { ConfigError, loadConfig } from "../../shared/config/config.js";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { testBridge } from "../support/test-bridge.js";
import { basic, postForm } from "../tokens/support.js";

const BUNDLE = "onprem-ca-bundle";
let env: BridgeEnvironment;
let internalPki: SandboxTls;
let pkiDir: string;
/** Another host on the internal CA that is NOT an on-premises org or AD FS of the configuration. */
let stranger: RunningService;

beforeAll(async () => {
  pkiDir = mkdtempSync(join(tmpdir(), "bridge-internal-pki-"));
  internalPki = ensureSandboxTls(pkiDir, "Contoso Internal Root CA");
  env = await startBridgeEnvironment({ seed: { users: 8 }, onPremisesOrgs: 1, onPremisesTls: internalPki, env: { SYNC_DISABLE_THRESHOLD: "50" } });
  stranger = await startHttpsService(internalPki, "stranger", async (_req, res) => sendJson(res, 200, { ok: true }));
});
afterAll(async () => {
  await Promise.all([env?.stop(), stranger?.close()]);
  rmSync(pkiDir, { recursive: true, force: true });
});

const onPrem = () => env.sandbox.onPremises[0]!;
const plant = () => env.sandbox.onPremisesIdentities!.plantCaller;

async function syncOnPrem(root = testBridge()) {
  const run = await root.syncRuns.start({ trigger: "test", org: onPrem().url, mode: "full" });
  return root.syncRuns.execute({ org: run.org, runId: run.runId });
}

describe("on-premises hosts behind a private CA", () => {
  it("are served by a CA this process does not trust (not in NODE_EXTRA_CA_CERTS)", async () => {
    expect(internalPki.caPem).not.toBe(env.sandbox.tls.caPem);
    const error = await fetch(`${onPrem().url}/api/data/v9.1/WhoAmI`).catch((e: unknown) => e);
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("without the bundle: the AD FS sign-in fails naming the untrusted certificate and the setting that fixes it", async () => {
    delete process.env.ONPREM_CA_BUNDLE_SECRET_NAME;
    const root = testBridge();
    const error = await root.dataverse.get(onPrem().url).getSystemUser("00000000-0000-0000-0000-000000000001", ["systemuserid"]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "adfs_token_failed", adfsError: "certificate_untrusted" });
    expect((error as Error).message).toContain(`${env.sandbox.adfs!.url} presented a certificate from a CA that is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`);
    expect((error as Error).message).toContain("ONPREM_CA_BUNDLE_SECRET_NAME");
    // The run stops at its first read of the org (the credential's error, never a Dataverse one) and writes nothing.
    await expect(syncOnPrem(root)).rejects.toThrow(/not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*ONPREM_CA_BUNDLE_SECRET_NAME/);
    expect(onPrem().org.stats.writes).toBe(0);
  });

  it("with the CA's PEM in Key Vault: syncs the on-premises org and issues a caller's AD FS token", async () => {
    env.sandbox.tenant.setSecret(BUNDLE, internalPki.caPem, "application/x-pem-file");
    process.env.ONPREM_CA_BUNDLE_SECRET_NAME = BUNDLE;
    const root = testBridge();
    const report = await syncOnPrem(root);
    expect(report, JSON.stringify(report.errors)).toMatchObject({ state: "succeeded", counts: { failed: 0 } });
    expect(report.counts.created).toBeGreaterThan(0);
    expect([...onPrem().org.users.values()].filter((r) => r.domainname?.startsWith("CONTOSO\\"))).not.toHaveLength(0);

    const { tokenHandler } = await import("../../functions/token.http.js");
    const res = await postForm(tokenHandler(() => root), { grant_type: "client_credentials", resource: onPrem().url }, { authorization: basic(plant().id, plant().secret) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it("trusts the bundle for the configured on-premises origins only", async () => {
    const { createOnPremisesCa } = await import("../../shared/credentials/onprem-ca.js");
    const root = testBridge();
    const ca = createOnPremisesCa(root.config, root.secrets);
    expect((await ca.fetch(`${env.sandbox.adfs!.url}/adfs/.well-known/openid-configuration`, { method: "GET", headers: {}, body: undefined, redirect: "manual" })).status).toBe(200);
    // Same internal CA, another host: not an on-premises org or AD FS of the configuration, so not trusted.
    const refused = await ca.fetch(`${stranger.url}/`, { method: "GET", headers: {}, body: undefined, redirect: "manual" }).catch((e: unknown) => e);
    expect((refused as Error & { cause?: { code?: string } }).cause?.code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("/api/ready checks the bundle; a bundle without a certificate, or with a private key, is refused by name", async () => {
    const admin = await env.sandbox.adminToken();
    const readyCheck = async () => {
      vi.resetModules(); // a fresh process bridge (and readiness cache) from the environment as it is now
      const { ready } = await import("../../functions/ready.http.js");
      const res = await callHandler(ready, "/api/ready", { headers: { authorization: `Bearer ${admin}` } });
      return res.body.checks.find((c: { name: string }) => c.name === "onprem-ca-bundle");
    };
    expect(await readyCheck()).toMatchObject({ ok: true, detail: "1 CA certificate(s) trusted for the on-premises hosts" });
    const root = testBridge();
    const { createOnPremisesCa } = await import("../../shared/credentials/onprem-ca.js");
    for (const [value, message] of [["not a certificate", /holds no PEM certificate/], [`${internalPki.caPem}\n${internalPki.keyPem}`, /holds a private key/]] as const) {
      env.sandbox.tenant.setSecret(BUNDLE, value);
      root.secrets.invalidate(BUNDLE);
      await expect(createOnPremisesCa(root.config, root.secrets).check()).rejects.toMatchObject({ code: "onprem_ca_bundle_invalid", message: expect.stringMatching(message) });
    }
    env.sandbox.tenant.setSecret(BUNDLE, internalPki.caPem);
  });

  it("is refused at start without an on-premises org to apply to", () => {
    const online = JSON.stringify([{ url: env.sandbox.dataverse[0]!.url, kind: "online" }]);
    const error = (() => {
      try { loadConfig({ ...process.env, DATAVERSE_ORGS: online, ONPREM_CA_BUNDLE_SECRET_NAME: BUNDLE }); } catch (e) { return e; }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join("\n")).toMatch(/ONPREM_CA_BUNDLE_SECRET_NAME: is set but DATAVERSE_ORGS has no onpremises org/);
    expect(() => loadConfig({ ...process.env, ONPREM_CA_BUNDLE_SECRET_NAME: "not a name!" })).toThrow(/ONPREM_CA_BUNDLE_SECRET_NAME: must be a Key Vault secret name/);
  });
});
