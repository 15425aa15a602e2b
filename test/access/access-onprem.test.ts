// Access on an on-premises org end to end over HTTPS (AD FS, Web API 9.1, Azurite): rules without `orgs` apply to it
// as to online orgs. Its records are anchored to the AD objectGUID while rule groups list Entra object ids, so the
// bridge finds a member's record through their onPremisesImmutableId: a full run gives rule-group members their unit,
// roles and owner team; a membership change reaches the record on the next incremental run (and takes only the
// managed access away); provision on demand applies it at once; GET /api/access resolves the org's rules.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { adObjectGuid, type DirectoryUser } from "../../dev/sandbox/directory.js";
import type { DataverseOrg, SystemUserRecord } from "../../dev/sandbox/dataverse/index.js";
import { SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules } from "../../dev/sandbox/seed-access.js";
import type { RunReport } from "../../shared/sync/run-report.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";

let env: BridgeEnvironment;
const { roles, teams, units } = SANDBOX_ACCESS;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 16 }, onPremisesOrgs: 1, env: { SYNC_DISABLE_THRESHOLD: "50" } });
  // No `orgs`: the rules apply to every org, the on-premises one included.
  process.env.ACCESS_RULES = JSON.stringify(sandboxAccessRules());
  vi.resetModules();
});
afterAll(async () => { await env?.stop(); });

const onPrem = (): DataverseOrg => env.sandbox.onPremises[0]!.org;
const directory = () => env.sandbox.tenant.directory;
const adUsers = () => [...directory().users.values()].filter((u) => u.state === "active" && u.accountEnabled && u.onPremisesSyncEnabled === true && adObjectGuid(u));
const recordOf = (user: DirectoryUser): SystemUserRecord => [...onPrem().users.values()].find((r) => r.activedirectoryguid === adObjectGuid(user))!;
const accessOf = (user: DirectoryUser) => {
  const record = recordOf(user);
  const unit = onPrem().access.units.get(record._businessunitid_value)!.name;
  return { unit, roles: onPrem().roleNamesOf(record.systemuserid), teams: onPrem().teamNamesOf(record.systemuserid).filter((t) => t !== unit) };
};
const membersOf = (group: string) => new Set(directory().membersOf(group));
const entryOf = (report: RunReport, user: DirectoryUser) => report.changes.find((c) => c.access !== undefined && c.objectId?.toLowerCase() === adObjectGuid(user)!.toLowerCase());

async function runSync(mode?: "full" | "incremental"): Promise<RunReport> {
  const runs = (await import("../support/test-bridge.js")).testBridge().syncRuns;
  const run = await runs.start({ org: onPrem().url, trigger: "test", mode });
  await runs.execute({ org: run.org, runId: run.runId });
  return runs.get(run.runId);
}

describe("access on an on-premises org", () => {
  it("a full run gives every AD-synced rule-group member their unit, roles and owner team, on their own entry", async () => {
    const report = await runSync("full");
    expect(report).toMatchObject({ state: "succeeded", counts: { failed: 0 } });
    const sales = membersOf(SANDBOX_GROUPS.sales.id);
    const service = membersOf(SANDBOX_GROUPS.service.id);
    const members = adUsers().filter((u) => sales.has(u.id) || service.has(u.id));
    expect(members.length).toBeGreaterThan(2);
    for (const user of adUsers()) {
      if (sales.has(user.id)) expect(accessOf(user), user.userPrincipalName).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
      else if (service.has(user.id)) expect(accessOf(user), user.userPrincipalName).toEqual({ unit: units.service, roles: [roles.basicUser, roles.customerService].sort(), teams: [teams.service] });
      else expect(accessOf(user), user.userPrincipalName).toEqual({ unit: onPrem().access.units.get(onPrem().businessUnitId)!.name, roles: [], teams: [] });
    }
    expect(report.counts.accessChanged).toBe(members.length);
    // The report names on-premises users by their AD objectGUID; each member has one entry carrying the access.
    const member = members[0]!;
    expect(report.changes.filter((c) => c.objectId?.toLowerCase() === adObjectGuid(member)!.toLowerCase())).toHaveLength(1);
    expect(entryOf(report, member)!.access).toMatchObject({ businessUnit: { new: expect.any(String) } });
  });

  it("membership changes reach the records on the next incremental run, taking away only the managed access", async () => {
    const outsiders = adUsers().filter((u) => !membersOf(SANDBOX_GROUPS.sales.id).has(u.id) && !membersOf(SANDBOX_GROUPS.service.id).has(u.id));
    const joiner = outsiders[0]!;
    const leaver = adUsers().find((u) => membersOf(SANDBOX_GROUPS.sales.id).has(u.id))!;
    onPrem().assignRoles(recordOf(leaver).systemuserid, ["Auditor"]);
    directory().addGroupMember(SANDBOX_GROUPS.service.id, joiner.id);
    directory().removeGroupMember(SANDBOX_GROUPS.sales.id, leaver.id);
    const report = await runSync();
    expect(report).toMatchObject({ state: "succeeded", mode: "incremental", counts: { accessChanged: 2, failed: 0 } });
    expect(accessOf(joiner)).toEqual({ unit: units.service, roles: [roles.basicUser, roles.customerService].sort(), teams: [teams.service] });
    expect(accessOf(leaver)).toEqual({ unit: units.sales, roles: ["Auditor"], teams: [] });
    expect(entryOf(report, joiner)).toMatchObject({ action: "access", outcome: "applied", access: { teamsAdded: [teams.service] } });
    expect(entryOf(report, leaver)).toMatchObject({ action: "access", access: { rolesRemoved: expect.arrayContaining([roles.salesperson, roles.basicUser]), teamsRemoved: [teams.sales] } });
    const again = await runSync();
    expect(again.counts.accessChanged).toBe(0);
  });

  it("provision on demand applies an on-premises user's access at once", async () => {
    const joiner = adUsers().find((u) => !membersOf(SANDBOX_GROUPS.sales.id).has(u.id) && !membersOf(SANDBOX_GROUPS.service.id).has(u.id) && onPrem().roleNamesOf(recordOf(u).systemuserid).length === 0)!;
    directory().addGroupMember(SANDBOX_GROUPS.sales.id, joiner.id);
    const bridge = (await import("../support/test-bridge.js")).testBridge();
    const { syncOneUser } = await import("../../shared/sync/sync-one-user.js");
    const result = await syncOneUser(joiner.id, bridge.oneUser("test"));
    expect(result.orgs.find((o) => o.org === onPrem().url)!.change).toMatchObject({ action: "access", outcome: "applied", access: { teamsAdded: [teams.sales] } });
    expect(accessOf(joiner)).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
  });

  it("GET /api/access resolves the on-premises org's rules with their ids", async () => {
    const bridge = (await import("../support/test-bridge.js")).testBridge();
    const { accessStatus } = await import("../../shared/access/access-api.js");
    const view = (await accessStatus(bridge.access)).orgs.find((o) => o.org === onPrem().url)!;
    expect(view).toMatchObject({ kind: "onpremises", problems: [] });
    expect(view.rules.map((r) => r.status)).toEqual(["ok", "ok"]);
    expect(view.rules[0]).toMatchObject({ group: { members: membersOf(SANDBOX_GROUPS.sales.id).size }, businessUnit: { name: units.sales, id: expect.any(String) } });
  });
});
