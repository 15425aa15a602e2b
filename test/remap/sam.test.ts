// SYNC_IDENTITY=sam: domainnames are DOMAIN\samAccountName (on-premises / IFD), temporary accounts too.
import { afterAll, beforeAll, expect, it } from "vitest";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { netBiosName, type DirectoryUser } from "../../dev/sandbox/directory.js";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { remapBulkHandler, remapUserHandler } from "../../functions/remap.http.js";
import { isDataverseError } from "../../shared/dataverse/errors.js";
import { testBridge } from "../support/test-bridge.js";

/** This file's bridge, built after beforeAll set the environment up. */
let bridge: import("../../shared/bridge.js").Bridge | undefined;
const root = () => (bridge ??= testBridge());

let env: BridgeEnvironment;
let org: DataverseOrg;
let token: string;
let users: DirectoryUser[];
const samOf = (u: DirectoryUser) => `${netBiosName(u.onPremisesDomainName!)}\\${u.onPremisesSamAccountName}`;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 12, existingShare: 0.5 }, env: { SYNC_IDENTITY: "sam" } });
  org = env.sandbox.dataverse[0]!.org;
  token = await env.sandbox.adminToken();
  users = [...env.sandbox.tenant.directory.users.values()];
  // On-premises records carry DOMAIN\sam.
  for (const u of users) {
    const rec = org.findByObjectId(u.id);
    if (rec) org.setFields(rec.systemuserid, { domainname: samOf(u) });
  }
});

afterAll(async () => {
  await env?.stop();
});

const remap = (body: object) => callHandler(remapUserHandler, "/api/users/remap", { method: "POST", headers: { authorization: `Bearer ${token}` }, body });

it("remaps a changed sAMAccountName through a DOMAIN\\sam temporary account", async () => {
  const user = users[0]!;
  const rec = org.findByObjectId(user.id)!;
  const from = samOf(user);
  expect(from).toBe(`CONTOSO\\${user.onPremisesSamAccountName}`);
  env.sandbox.tenant.directory.updateUser(user.id, { onPremisesSamAccountName: "aking" });

  const direct = await root().dataverse.get(org.url).updateSystemUser(rec.systemuserid, { domainname: "CONTOSO\\aking" }).then(() => null, (e: unknown) => e);
  expect(isDataverseError(direct) && direct.statusCode).toBe(400);

  const res = await remap({ user: from, newDomainName: "CONTOSO\\aking" });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ systemUserId: rec.systemuserid, from, to: "CONTOSO\\aking", changed: true });
  expect(res.body.steps[0].domainName).toMatch(/^CONTOSO\\/);
  expect(res.body.steps[0].domainName.toLowerCase()).not.toBe(from.toLowerCase());
  const after = org.get(rec.systemuserid)!;
  expect(after.domainname).toBe("CONTOSO\\aking");
  expect(after.azureactivedirectoryobjectid).toBe(user.id);

  const again = await remap({ user: from, newDomainName: "CONTOSO\\aking" });
  expect(again.status).toBe(200);
  expect(again.body.changed).toBe(false);
});

it("answers 422 for an unknown account, 400 for a UPN, and plans a NetBIOS domain rename", async () => {
  const rec = org.findByObjectId(users[1]!.id)!;
  expect((await remap({ user: rec.systemuserid, newDomainName: "CONTOSO\\nobody" })).status).toBe(422);
  // Same account name in another domain is not the same account.
  expect((await remap({ user: rec.systemuserid, newDomainName: `FABRIKAM\\${users[1]!.onPremisesSamAccountName}` })).status).toBe(422);
  expect((await remap({ user: rec.systemuserid, newDomainName: users[1]!.userPrincipalName })).status).toBe(400);

  env.sandbox.tenant.directory.updateUser(users[2]!.id, { onPremisesDomainName: "fabrikam.local" });
  const plan = await callHandler(remapBulkHandler, "/api/users/remap/bulk", {
    method: "POST", headers: { authorization: `Bearer ${token}` }, body: { rule: { fromPrefix: "CONTOSO\\", toPrefix: "FABRIKAM\\" }, dryRun: true },
  });
  expect(plan.status).toBe(200);
  const byUser = new Map((plan.body.plan as Array<{ user: string; action: string; to: string; conflicts: Array<{ code: string }> }>).map((p) => [p.user, p]));
  expect(byUser.get(samOf({ ...users[2]!, onPremisesDomainName: "contoso.local" }))).toMatchObject({ action: "remap", to: samOf(users[2]!), conflicts: [] });
  expect(byUser.get(samOf(users[3]!))).toMatchObject({ action: "skip", conflicts: [{ code: "not_in_directory" }] });
});
