// Issue #15 item 5: a caller of an on-premises org gets a token from that org's AD FS for ITS OWN
// AD FS application (client id = dataverseAppId, secret from the vault), never the bridge's, and the token works
// against the on-premises Dataverse as the caller's application user. Online callers are unaffected.
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/config.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { basic, postForm } from "../tokens/support.js";

let env: BridgeEnvironment;
let handler: typeof import("../../functions/token.http.js").token;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 6 }, onPremisesOrgs: 1 });
  ({ token: handler } = await import("../../functions/token.http.js"));
});
afterAll(async () => env?.stop());

const onPrem = () => env.sandbox.onPremises[0]!;
const plant = () => env.sandbox.onPremisesIdentities!.plantCaller;
const adfsTokenPosts = () => env.sandbox.adfs!.knobs.count((r) => r.method === "POST" && r.url.split("?")[0]!.endsWith("/token"));

async function whoAmI(org: string, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${org}/api/data/v9.1/WhoAmI`, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
  return { status: res.status, body: await res.json() };
}

describe("token service for an on-premises org", () => {
  it("issues the caller's own AD FS token, which acts as its application user in the on-premises org", async () => {
    const res = await postForm(handler, { grant_type: "client_credentials", resource: onPrem().url }, { authorization: basic(plant().id, plant().secret) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const claims = decodeJwt(res.body.access_token);
    expect(String(claims.appid).toLowerCase()).toBe(plant().adfsClient.clientId.toLowerCase());
    expect(claims.appid).not.toBe(env.sandbox.onPremisesIdentities!.adfsClient.clientId); // not the bridge's AD FS application
    expect(claims.iss).toBe(env.sandbox.adfs!.emulator.accessTokenIssuer);

    const who = await whoAmI(onPrem().url, res.body.access_token);
    expect(who.status).toBe(200);
    const appUser = onPrem().org.findByApplicationId(plant().adfsClient.clientId)!;
    expect(who.body.UserId).toBe(appUser.systemuserid);
    expect(onPrem().org.roleNamesOf(appUser.systemuserid)).toEqual(["Plant Operator"]);
  });

  it("caches the caller's AD FS token per (identity, org): concurrent requests make one AD FS request", async () => {
    const before = adfsTokenPosts();
    const answers = await Promise.all(Array.from({ length: 20 }, () =>
      postForm(handler, { grant_type: "client_credentials", scope: `${onPrem().url}/.default` }, { authorization: basic(plant().id, plant().secret) })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(adfsTokenPosts() - before).toBe(0); // the first test's token is still fresh
  });

  it("explains an AD FS refusal of the caller's credential without issuing anything", async () => {
    env.sandbox.tenant.setSecret("caller-plant-adfs-credential", "not-the-secret");
    const caller = { ...plant().tokenCaller, id: "plant2", secretName: "caller-plant-secret" };
    process.env.TOKEN_CALLERS = JSON.stringify([...JSON.parse(process.env.TOKEN_CALLERS!), caller]);
    const { CallerTokens } = await import("../../shared/tokens/caller-tokens.js");
    const { secrets } = (await import("../support/test-bridge.js")).testBridge();
    const config = loadConfig();
    const tokens = new CallerTokens({
      settings: { tenantId: config.tenantId, authorityHost: config.authorityHost, disableInstanceDiscovery: true, bridgeAppId: config.appClientId, adfsAuthority: () => env.sandbox.adfs!.emulator.issuer },
      platform: { getToken: async () => null },
      secrets,
    });
    secrets.invalidate("caller-plant-adfs-credential");
    const parsed = config.tokenCallers.find((c) => c.id === "plant2")!;
    await expect(tokens.acquire(parsed, onPrem().url)).rejects.toThrow(/MSIS9622|client credential/);
  });

  it("refuses at start a caller that names an on-premises org with a federated credential", () => {
    const callers = JSON.parse(env.sandbox.env.TOKEN_CALLERS!) as Array<Record<string, unknown>>;
    const federated = callers.map((c) => (c.id === "plant" ? { ...c, credential: "federated" } : c));
    expect(() => loadConfig({ ...process.env, TOKEN_CALLERS: JSON.stringify(federated) })).toThrow(/on-premises org .* needs "credential": \{"secretName"/);
  });
});
