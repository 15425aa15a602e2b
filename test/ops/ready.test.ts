// GET /api/ready against the sandbox: every check passes with its timing; a missing Key Vault secret and a
// stopped Dataverse org each fail with a named cause (503 problem+json); the answer is cached for 30 s.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";

type Handler = Parameters<typeof callHandler>[0];
let env: BridgeEnvironment;
let ready: Handler;
let admin: string;

/** A fresh module instance: an empty 30 s cache (the clock is not faked: the emulators sign and check tokens with it). */
async function skipCache(): Promise<void> {
  vi.resetModules();
  ({ ready } = await import("../../functions/ready.http.js"));
}

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 3 } });
  ({ ready } = await import("../../functions/ready.http.js"));
  admin = await env.sandbox.adminToken();
});
afterAll(async () => { await env?.stop().catch(() => undefined); });

const call = (token: string | null = admin) => callHandler(ready, "/api/ready", { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe("GET /api/ready", () => {
  it("needs an admin token", async () => {
    expect((await call(null)).status).toBe(401);
  });

  it("200 with every check ok and timed, one pair per org", async () => {
    const res = await call();
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe("ready");
    const names = res.body.checks.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(["configuration", "storage:table", "storage:queue", "keyvault", "graph", "graph-subscription"]));
    for (const org of env.sandbox.dataverse.map((d) => d.org.url)) {
      expect(names).toContain(`dataverse-token:${org}`);
      expect(names).toContain(`dataverse-whoami:${org}`);
    }
    expect(res.body.appCredential, "which credential signs the bridge in, by name only").toEqual({
      clientId: env.sandbox.identities.bridgeApp.clientId, kind: "secret", secretName: env.sandbox.identities.bridgeCredentialSecretName,
    });
    for (const check of res.body.checks) {
      expect(check.ok, JSON.stringify(check)).toBe(true);
      expect(check.durationMs).toBeGreaterThanOrEqual(0);
      expect(check.cause).toBeUndefined();
    }
  });

  it("a missing Key Vault secret fails the keyvault check with its cause, and the answer is cached", async () => {
    const name = env.sandbox.identities.bridgeCredentialSecretName!;
    const saved = env.sandbox.tenant.vault.get(name)!;
    env.sandbox.tenant.vault.delete(name);
    try {
      const cachedAnswer = await call();
      expect(cachedAnswer.status, "within 30 s the cached answer stands").toBe(200);
      await skipCache();
      const res = await call();
      expect(res.status).toBe(503);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 503, ready: false, type: expect.stringContaining("not_ready") });
      const vault = res.body.checks.find((c: { name: string }) => c.name === "keyvault");
      expect(vault).toMatchObject({ ok: false, cause: "key_vault_secret_not_found" });
      expect(res.body.detail).toContain("keyvault (key_vault_secret_not_found)");
      expect(res.text).not.toContain(saved[0]!.value);
    } finally {
      env.sandbox.tenant.vault.set(name, saved);
      await skipCache();
    }
  });

  it("a stopped Dataverse org fails its WhoAmI as unreachable; the other checks stay ok", async () => {
    const [first] = env.sandbox.dataverse;
    await first!.close();
    const res = await call();
    expect(res.status).toBe(503);
    const whoami = res.body.checks.find((c: { name: string }) => c.name === `dataverse-whoami:${first!.org.url}`);
    expect(whoami).toMatchObject({ ok: false, cause: "dataverse_unreachable" });
    expect(res.body.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name), res.text).toEqual([`dataverse-whoami:${first!.org.url}`]);
  });
});
