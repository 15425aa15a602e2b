// Issue #10: each S2S caller receives ITS OWN Dataverse token (appid = its dataverseAppId), which works against
// the sandbox Dataverse as that caller's application user; the bridge's own token is never issued.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { ACCESS_TOKEN_TYPE, basic, clientAssertion, entraTokenPosts, postForm, TOKEN_EXCHANGE } from "./support.js";

let env: BridgeEnvironment;
let handler: typeof import("../../functions/token.http.js").token;
let org1: string;
let org2: string;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 2 });
  org1 = env.sandbox.dataverse[0]!.url;
  org2 = env.sandbox.dataverse[1]!.url;
  ({ token: handler } = await import("../../functions/token.http.js"));
});
afterAll(async () => env?.stop());

const ids = () => env.sandbox.identities;
const orgOf = (url: string) => env.sandbox.dataverse.find((d) => d.url === url)!.org;

async function whoAmI(org: string, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${org}/api/data/v9.2/WhoAmI`, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
  return { status: res.status, body: await res.json() };
}

async function reportingToken(org: string): Promise<string> {
  const { clientId, secret } = ids().secretCaller;
  const res = await postForm(handler, { grant_type: "client_credentials", scope: `${org}/.default` }, { authorization: basic(clientId, secret) });
  expect(res.status).toBe(200);
  return res.body.access_token;
}

async function workerToken(org: string, extra: Record<string, string> = {}, lifetimeSeconds?: number) {
  const subject = (await env.sandbox.tenant.issueAccessToken({ clientId: ids().entraCaller.app.clientId, audience: ids().apiAudience, lifetimeSeconds })).token;
  return postForm(handler, { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, resource: org, ...extra });
}

describe("each caller acts as its own application user", () => {
  it("two callers get tokens for their own apps, and Dataverse sees each as its own application user", async () => {
    const reporting = await reportingToken(org1);
    const worker = await workerToken(org1);
    expect(worker.status).toBe(200);
    const reportingApp = ids().callerApps.reporting!.clientId;
    const workerApp = ids().callerApps.worker!.clientId;
    expect(reportingApp).not.toBe(workerApp);
    expect(decodeJwt(reporting).appid).toBe(reportingApp);
    expect(decodeJwt(worker.body.access_token).appid).toBe(workerApp);

    const org = orgOf(org1);
    const reportingUser = org.findByApplicationId(reportingApp)!;
    const workerUser = org.findByApplicationId(workerApp)!;
    const bridgeUser = org.findByApplicationId(ids().bridgeApp.clientId)!;
    const before = org.calls.length;
    const asReporting = await whoAmI(org1, reporting);
    const asWorker = await whoAmI(org1, worker.body.access_token);
    expect(asReporting).toMatchObject({ status: 200, body: { UserId: reportingUser.systemuserid } });
    expect(asWorker).toMatchObject({ status: 200, body: { UserId: workerUser.systemuserid } });
    const made = org.calls.slice(before).map((c) => c.systemuserid);
    expect(made).toEqual([reportingUser.systemuserid, workerUser.systemuserid]);
    expect(made).not.toContain(bridgeUser.systemuserid);
    expect(org.roleNamesOf(reportingUser.systemuserid)).toEqual(["Reporting Reader"]);
  });

  it("a caller whose credential is its app's secret in Key Vault (private_key_jwt client) gets its own token too", async () => {
    const { id, privateKeyPem } = ids().jwtCaller;
    const assertion = await clientAssertion(privateKeyPem, id);
    const res = await postForm(handler, { grant_type: "client_credentials", client_id: id, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion, scope: `${org1}/.default` });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).appid).toBe(ids().callerApps.erp!.clientId);
    const who = await whoAmI(org1, res.body.access_token);
    expect(who.body.UserId).toBe(orgOf(org1).findByApplicationId(ids().callerApps.erp!.clientId)!.systemuserid);
  });

  it("a token for an app without an application user is refused by Dataverse as Dataverse does (403, not a member)", async () => {
    const org = orgOf(org2);
    const reportingApp = ids().callerApps.reporting!.clientId;
    const user = org.findByApplicationId(reportingApp)!;
    const token = await reportingToken(org2);
    org.remove(user.systemuserid);
    try {
      const who = await whoAmI(org2, token);
      expect(who.status).toBe(403);
      expect(who.body.error).toMatchObject({ code: "0x80072560", message: "The user is not a member of the organization." });
    } finally {
      org.addSystemUser(user);
    }
  });
});

describe("one Entra request per (identity, org)", () => {
  it("1,000 concurrent cold requests over two identities and two orgs cost four Entra token requests", async () => {
    const { CallerTokens } = await import("../../shared/tokens/caller-tokens.js");
    const root = (await import("../support/test-bridge.js")).testBridge();
    const config = root.config;
    const tokens = new CallerTokens({
      settings: { tenantId: config.tenantId, authorityHost: config.authorityHost, disableInstanceDiscovery: true, bridgeAppId: config.appClientId },
      platform: root.platformCredential,
      secrets: root.secrets,
    });
    const callers = ["reporting", "worker"].map((id) => config.tokenCallers.find((c) => c.id === id)!);
    const start = entraTokenPosts(env);
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => {
      const caller = callers[i % 2]!;
      const org = i % 4 < 2 ? org1 : org2;
      return tokens.get(caller, org).then((t) => ({ caller, org, appid: decodeJwt(t.token).appid, aud: decodeJwt(t.token).aud }));
    }));
    expect(entraTokenPosts(env) - start).toBe(4);
    for (const r of results) {
      expect(r.appid).toBe(r.caller.dataverseAppId);
      expect(r.appid).not.toBe(config.appClientId);
      expect(r.aud).toBe(r.org);
    }
  });
});

describe("token exchange (RFC 8693)", () => {
  it("refuses a subject token with under 5 minutes left as invalid_request", async () => {
    const res = await workerToken(org1, {}, 240);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_request");
    expect(res.body.error_description).toMatch(/5 minutes/);
  });

  it("refuses an already expired subject token even within the usual clock tolerance", async () => {
    const subject = (await env.sandbox.tenant.issueAccessToken({ clientId: ids().entraCaller.app.clientId, audience: ids().apiAudience, claims: { exp: Math.floor(Date.now() / 1000) - 30 } })).token;
    const res = await postForm(handler, { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, resource: org1 });
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: "invalid_request" });
  });

  it("an audience naming an org the caller may not reach is invalid_target, never ignored; an allowed one is the target", async () => {
    const denied = await workerToken(org1, { audience: "https://elsewhere.crm.dynamics.com" });
    expect({ status: denied.status, error: denied.body.error }).toEqual({ status: 400, error: "invalid_target" });
    const garbage = await workerToken(org1, { audience: "not a url" });
    expect(garbage.body.error).toBe("invalid_target");
    const conflicting = await workerToken(org1, { audience: org2 });
    expect(conflicting.body.error).toBe("invalid_target");
    const subject = (await env.sandbox.tenant.issueAccessToken({ clientId: ids().entraCaller.app.clientId, audience: ids().apiAudience })).token;
    const byAudience = await postForm(handler, { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, audience: org2 });
    expect(byAudience.status).toBe(200);
    expect(decodeJwt(byAudience.body.access_token)).toMatchObject({ aud: org2, appid: ids().callerApps.worker!.clientId });
    expect(byAudience.body.issued_token_type).toBe(ACCESS_TOKEN_TYPE);
  });
});
