// GET /api/callers names each misconfiguration with its fix; POST /api/callers/{id}/provision creates exactly
// what is missing (application user, named roles), changes nothing the second time, touches no other role.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCallerIdentity } from "../../dev/sandbox/seed.js";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { basic, postForm } from "../tokens/support.js";

let env: BridgeEnvironment;
let routes: typeof import("../../functions/callers.http.js");
let tokenHandler: typeof import("../../functions/token.http.js").token;
let admin: string;
let org1: string;
let freshApp: string;
let wrongSubjectApp: string;
let otherRoleId: string;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1, env: { CALLER_PROVISIONING: "on" } });
  const { tenant, dataverse, identities } = env.sandbox;
  org1 = dataverse[0]!.url;
  const org = dataverse[0]!.org;
  // A new caller: its app trusts the bridge, but no application user exists yet.
  const fresh = tenant.registerApp({ displayName: "Fresh caller" });
  tenant.trustManagedIdentity(fresh);
  freshApp = fresh.clientId;
  org.addRole("Fresh Reader");
  org.addRole("Fresh Writer");
  otherRoleId = org.addRole("Unrelated Role").roleid;
  tenant.setSecret("caller-fresh-secret", "fresh-secret-value");
  // A caller whose app has no federated credential at all, and one whose credential names another subject.
  const noFic = tenant.registerApp({ displayName: "No federation" });
  seedCallerIdentity(tenant, [org], { displayName: "No federation", roles: [], app: noFic, federated: false });
  const wrong = tenant.registerApp({ displayName: "Wrong subject" });
  wrong.federatedCredentials.push({ name: "x", issuer: tenant.issuer, subject: tenant.managedIdentity.principalId.toUpperCase(), audiences: ["api://AzureADTokenExchange"] });
  wrongSubjectApp = wrong.clientId;
  const callers = [
    ...identities.tokenCallers,
    { id: "fresh", name: "Fresh caller", auth: "secret", secretName: "caller-fresh-secret", dataverseAppId: freshApp, roles: ["Fresh Reader", "Fresh Writer"], resources: [org1] },
    { id: "nofed", name: "No federation", auth: "secret", secretName: "caller-fresh-secret", dataverseAppId: noFic.clientId, resources: [org1] },
    { id: "wrongsub", name: "Wrong subject", auth: "secret", secretName: "caller-fresh-secret", dataverseAppId: wrongSubjectApp, resources: [org1] },
  ];
  process.env.TOKEN_CALLERS = JSON.stringify(callers);
  routes = await import("../../functions/callers.http.js");
  ({ token: tokenHandler } = await import("../../functions/token.http.js"));
  admin = await env.sandbox.adminToken();
});
afterAll(async () => env?.stop());

const listCallers = async () => {
  const res = await callHandler(routes.listCallers, "/api/callers", { headers: { authorization: `Bearer ${admin}` } });
  expect(res.status).toBe(200);
  return res.body.callers as Array<any>;
};
const provision = (id: string, body: object = {}) =>
  callHandler(routes.provisionCallerRoute, `/api/callers/${id}/provision`, { method: "POST", params: { id }, body, headers: { authorization: `Bearer ${admin}` } });
const dvOrg = () => env.sandbox.dataverse[0]!.org;

describe("GET /api/callers", () => {
  it("needs an admin token", async () => {
    const res = await callHandler(routes.listCallers, "/api/callers");
    expect(res.status).toBe(401);
  });

  it("shows a healthy caller with its application user, roles and last issuance", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    expect((await postForm(tokenHandler, { grant_type: "client_credentials", scope: `${org1}/.default` }, { authorization: basic(clientId, secret) })).status).toBe(200);
    const reporting = (await listCallers()).find((c) => c.id === "reporting");
    expect(reporting).toMatchObject({ healthy: true, dataverseAppId: env.sandbox.identities.callerApps.reporting!.clientId, credential: "federated", lastIssuance: { org: org1 } });
    expect(reporting.orgs[0]).toMatchObject({ org: org1, identity: "ok", applicationUser: { present: true, enabled: true, roles: ["Reporting Reader"] }, problems: [] });
  });

  it("names a missing application user and a missing federated credential, each with its fix", async () => {
    const callers = await listCallers();
    const fresh = callers.find((c) => c.id === "fresh");
    expect(fresh.healthy).toBe(false);
    expect(fresh.orgs[0].applicationUser).toEqual({ present: false });
    const noUser = fresh.orgs[0].problems.find((p: any) => p.cause === "no_application_user");
    expect(noUser.detail).toMatch(/not a member of the organization/);
    expect(noUser.fix).toMatch(/POST \/api\/callers\/fresh\/provision.*Application users > New app user/);

    const nofed = callers.find((c) => c.id === "nofed");
    expect(nofed.orgs[0].identity).toBe("failed");
    const fic = nofed.orgs[0].problems.find((p: any) => p.cause === "federated_credential_missing");
    expect(fic.detail).toMatch(/AADSTS70021/);
    expect(fic.fix).toContain(`az ad app federated-credential create --id ${nofed.dataverseAppId}`);
    expect(fic.fix).toContain(`"subject":"${env.sandbox.tenant.managedIdentity.principalId}"`);

    const wrongsub = callers.find((c) => c.id === "wrongsub");
    const subject = wrongsub.orgs[0].problems.find((p: any) => p.cause === "federated_credential_wrong_subject");
    expect(subject.detail).toMatch(/AADSTS700213.*case-sensitively/);
  });
});

describe("POST /api/callers/{id}/provision", () => {
  it("a dry run plans without writing", async () => {
    const res = await provision("fresh", { dryRun: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, changed: false });
    expect(res.body.actions.map((a: any) => [a.action, a.role, a.done])).toEqual([
      ["create_application_user", undefined, false], ["assign_role", "Fresh Reader", false], ["assign_role", "Fresh Writer", false],
    ]);
    expect(dvOrg().findByApplicationId(freshApp)).toBeUndefined();
  });

  it("creates the application user and the named roles; twice in a row changes nothing; never touches other roles", async () => {
    const first = await provision("fresh");
    expect(first.status).toBe(200);
    expect(first.body.changed).toBe(true);
    expect(first.body.actions.map((a: any) => a.action)).toEqual(["create_application_user", "assign_role", "assign_role"]);
    const user = dvOrg().findByApplicationId(freshApp)!;
    expect(user).toMatchObject({ _businessunitid_value: dvOrg().businessUnitId, isdisabled: false });
    expect(dvOrg().roleNamesOf(user.systemuserid)).toEqual(["Fresh Reader", "Fresh Writer"]);

    // An admin adds another role by hand: provisioning must leave it alone.
    dvOrg().access.userRoles.add(user.systemuserid, otherRoleId);
    const writes = dvOrg().stats.writes;
    const second = await provision("fresh");
    expect(second.body).toMatchObject({ changed: false, actions: [], problems: [] });
    expect(dvOrg().stats.writes).toBe(writes);
    expect(dvOrg().roleNamesOf(user.systemuserid)).toEqual(["Fresh Reader", "Fresh Writer", "Unrelated Role"]);

    const status = (await listCallers()).find((c) => c.id === "fresh");
    expect(status).toMatchObject({ healthy: true });
  });

  it("an unknown caller is 404; a bad body is 400", async () => {
    expect((await provision("nobody")).status).toBe(404);
    const bad = await provision("fresh", { dryRun: "yes" });
    expect(bad.status).toBe(400);
  });

  it("is refused while CALLER_PROVISIONING is off", async () => {
    const { provisionCaller } = await import("../../shared/callers/callers.js");
    const { testBridge } = await import("../support/test-bridge.js");
    await expect(provisionCaller("fresh", { dryRun: true, by: "t" }, { ...testBridge().callers, provisioningEnabled: false }))
      .rejects.toMatchObject({ status: 409, code: "caller_provisioning_off" });
  });
});
