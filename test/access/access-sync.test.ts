// Access end to end over HTTPS: the sandbox (Entra, Graph, Dataverse with business units, role copies and teams)
// and Azurite. A user added to a rule group is, after the next incremental run, in the rule's unit with its roles
// and owner team; removed, they lose the managed access and nothing else; a second run writes nothing; a dry run
// writes nothing; removals over ACCESS_REMOVAL_THRESHOLD halt until approved (users the run creates get their
// access all the same: it takes nothing away); a rule that does not resolve is
// reported and takes nothing away.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { DirectoryUser } from "../../dev/sandbox/directory.js";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules } from "../../dev/sandbox/seed-access.js";
import type { RunReport } from "../../shared/sync/run-report.js";
import { recordsOf } from "../sync/sync-helpers.js";
import { DataverseError } from "../../dev/sandbox/dataverse/errors.js";

let env: BridgeEnvironment;
let users: DirectoryUser[];
const { roles, teams, units } = SANDBOX_ACCESS;
const UNKNOWN_GROUP = "0bad0000-0000-4000-8000-00000000dead";

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1, seed: { users: 14, existingShare: 0 } });
  users = [...env.sandbox.tenant.directory.users.values()];
  process.env.ACCESS_RULES = JSON.stringify(sandboxAccessRules(env.sandbox.dataverse[0]!.url));
});
afterAll(async () => { await env?.stop(); });

const org = (): DataverseOrg => env.sandbox.dataverse[0]!.org;
const directory = () => env.sandbox.tenant.directory;
const recordOf = (user: DirectoryUser) => recordsOf(org(), user.id)[0]!;
const unitName = (user: DirectoryUser) => org().access.units.get(recordOf(user)._businessunitid_value)!.name;
const accessOf = (user: DirectoryUser) => ({ unit: unitName(user), roles: org().roleNamesOf(recordOf(user).systemuserid), teams: org().teamNamesOf(recordOf(user).systemuserid).filter((t) => t !== unitName(user)) });
const rootUnit = () => org().access.units.get(org().businessUnitId)!.name;
const writes = () => ({ writes: org().stats.writes, ...org().stats.access });
const membersOf = (group: string) => new Set(directory().membersOf(group));
const entriesOf = (report: RunReport, user: DirectoryUser) => report.changes.filter((c) => c.objectId?.toLowerCase() === user.id.toLowerCase());
/** The user's entry carrying their access change (their own create/update entry, or an access-only one). */
const entryFor = (report: RunReport, user: DirectoryUser) => entriesOf(report, user).find((c) => c.access !== undefined);

async function runSync(options: { dryRun?: boolean; mode?: "full" | "incremental" } = {}): Promise<RunReport> {
  const runs = (await import("../support/test-bridge.js")).testBridge().syncRuns;
  const run = await runs.start({ org: env.sandbox.dataverse[0]!.url, trigger: "test", ...options });
  await runs.execute({ org: run.org, runId: run.runId });
  return runs.get(run.runId);
}

describe("access from rule groups", () => {
  it("the first run gives every rule-group member their unit, roles and owner team; others stay in the root unit with none", async () => {
    const report = await runSync();
    expect(report.state).toBe("succeeded");
    const sales = membersOf(SANDBOX_GROUPS.sales.id);
    const service = membersOf(SANDBOX_GROUPS.service.id);
    for (const user of users) {
      if (sales.has(user.id)) expect(accessOf(user), user.userPrincipalName).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
      else if (service.has(user.id)) expect(accessOf(user), user.userPrincipalName).toEqual({ unit: units.service, roles: [roles.basicUser, roles.customerService].sort(), teams: [teams.service] });
      else expect(accessOf(user), user.userPrincipalName).toEqual({ unit: rootUnit(), roles: [], teams: [] });
    }
    expect(report.counts.accessChanged).toBe(sales.size + service.size);
    const first = users.find((u) => sales.has(u.id))!;
    // The user's own create entry carries their access: one entry per user, none of action "access".
    expect(entryFor(report, first)).toMatchObject({ action: "create", outcome: "applied", access: { businessUnit: { new: units.sales }, rolesAdded: expect.arrayContaining([roles.salesperson, roles.basicUser]), teamsAdded: [teams.sales] } });
    expect(entryFor(report, first)!.accessOutcome).toBeUndefined();
    for (const user of users) expect(entriesOf(report, user), user.userPrincipalName).toHaveLength(1);
    expect(report.changes.filter((c) => c.action === "access")).toEqual([]);
  });

  it("a second run writes nothing, and resolves the rules in one read of units, roles and teams each", async () => {
    const before = writes();
    const dataverse = env.sandbox.dataverse[0]!.knobs;
    const mark = dataverse.requests.length;
    const report = await runSync();
    expect(report.state).toBe("succeeded");
    expect(report.counts.accessChanged).toBe(0);
    expect(writes()).toEqual(before);
    const reads = dataverse.requests.slice(mark).filter((r) => r.method === "GET").map((r) => r.url.split("?")[0]!.split("/").pop());
    expect({ units: reads.filter((p) => p === "businessunits").length, roles: reads.filter((p) => p === "roles").length, teams: reads.filter((p) => p === "teams").length })
      .toEqual({ units: 1, roles: 1, teams: 1 });
  });

  it("a user added to a rule group gets the unit, roles and team on the next incremental run, and the report names the unmanaged role the move cost", async () => {
    const newcomer = users.find((u) => !membersOf(SANDBOX_GROUPS.sales.id).has(u.id) && !membersOf(SANDBOX_GROUPS.service.id).has(u.id))!;
    org().assignRoles(recordOf(newcomer).systemuserid, ["Auditor"]);
    directory().addGroupMember(SANDBOX_GROUPS.sales.id, newcomer.id);
    const report = await runSync();
    expect(report).toMatchObject({ state: "succeeded", mode: "incremental" });
    expect(accessOf(newcomer)).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
    // Access is the user's only change: an entry of its own.
    expect(entriesOf(report, newcomer)).toEqual([expect.objectContaining({ action: "access", outcome: "applied" })]);
    expect(entryFor(report, newcomer)!.access).toMatchObject({ businessUnit: { new: units.sales }, rolesLostInMove: ["Auditor"], teamsAdded: [teams.sales] });
    expect(report.counts).toMatchObject({ accessChanged: 1, failed: 0 });
  });

  it("a user removed from the group loses the managed roles and team, and keeps an unmanaged role and team", async () => {
    const leaver = users.find((u) => membersOf(SANDBOX_GROUPS.sales.id).has(u.id))!;
    const handMade = org().addTeam({ name: "Hand-made team", businessunitid: recordOf(leaver)._businessunitid_value });
    org().addTeamMembers(handMade.teamid, [recordOf(leaver).systemuserid]);
    org().assignRoles(recordOf(leaver).systemuserid, ["Auditor"]);
    directory().removeGroupMember(SANDBOX_GROUPS.sales.id, leaver.id);
    const report = await runSync();
    expect(report.state).toBe("succeeded");
    // No rule decides their unit any more: they stay where they are.
    expect(accessOf(leaver)).toEqual({ unit: units.sales, roles: ["Auditor"], teams: ["Hand-made team"] });
    expect(entryFor(report, leaver)!.access).toEqual({ rolesAdded: [], rolesRemoved: expect.arrayContaining([roles.salesperson, roles.basicUser]), teamsAdded: [], teamsRemoved: [teams.sales] });
  });

  it("a dry run plans access and writes nothing; the next run applies it", async () => {
    const joiner = users.find((u) => !membersOf(SANDBOX_GROUPS.sales.id).has(u.id) && !membersOf(SANDBOX_GROUPS.service.id).has(u.id) && org().roleNamesOf(recordOf(u).systemuserid).length === 0)!;
    directory().addGroupMember(SANDBOX_GROUPS.service.id, joiner.id);
    const before = writes();
    const dry = await runSync({ dryRun: true });
    expect(writes()).toEqual(before);
    expect(dry.counts.accessChanged).toBe(1);
    expect(entryFor(dry, joiner)).toMatchObject({ action: "access", outcome: "planned", access: { businessUnit: { new: units.service } } });
    const real = await runSync();
    expect(real.counts.accessChanged).toBe(1);
    expect(accessOf(joiner).unit).toBe(units.service);
  });

  it("a user created by a run, dry or not, has one entry: the create carrying the access", async () => {
    const fresh = directory().addUser({ userPrincipalName: "fresh.seller@contoso.com", givenName: "Fresh", surname: "Seller" });
    directory().addGroupMember(SANDBOX_GROUPS.sales.id, fresh.id);
    const dry = await runSync({ dryRun: true });
    expect(entriesOf(dry, fresh)).toEqual([expect.objectContaining({ action: "create", outcome: "planned", access: expect.objectContaining({ businessUnit: { old: rootUnit(), new: units.sales }, teamsAdded: [teams.sales] }) })]);
    const dataverse = env.sandbox.dataverse[0]!.knobs;
    const mark = dataverse.requests.length;
    const real = await runSync();
    expect(real.counts).toMatchObject({ created: 1, accessChanged: 1 });
    // A record the run created holds nothing yet: its access is not read.
    const accessReads = dataverse.requests.slice(mark).filter((r) => r.method === "GET" && decodeURIComponent(r.url).includes("systemuserroles_association"));
    expect(accessReads.filter((r) => decodeURIComponent(r.url).includes(recordOf(fresh).systemuserid))).toEqual([]);
    expect(entriesOf(real, fresh)).toEqual([expect.objectContaining({ action: "create", outcome: "applied", access: expect.objectContaining({ rolesAdded: expect.arrayContaining([roles.salesperson, roles.basicUser]) }) })]);
    expect(accessOf(fresh)).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
  });

  it("provision on demand applies the user's access at once", async () => {
    const joiner = users.find((u) => !membersOf(SANDBOX_GROUPS.sales.id).has(u.id) && !membersOf(SANDBOX_GROUPS.service.id).has(u.id) && org().roleNamesOf(recordOf(u).systemuserid).length === 0)!;
    directory().addGroupMember(SANDBOX_GROUPS.sales.id, joiner.id);
    const bridge = (await import("../support/test-bridge.js")).testBridge();
    const { syncOneUser } = await import("../../shared/sync/sync-one-user.js");
    const result = await syncOneUser(joiner.id, bridge.oneUser("test"));
    expect(result.orgs[0]!.change).toMatchObject({ action: "access", outcome: "applied", access: { businessUnit: { new: units.sales }, teamsAdded: [teams.sales] } });
    expect(accessOf(joiner)).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
    const again = await syncOneUser(joiner.id, bridge.oneUser("test"));
    expect(again.orgs[0]!.change).toEqual({ action: "unchanged" });
  });
});

describe("failures", () => {
  it("a user whose access write fails is reported, keeps what they had, and is planned again by the next run", async () => {
    const joiner = users.find((u) => !membersOf(SANDBOX_GROUPS.sales.id).has(u.id) && !membersOf(SANDBOX_GROUPS.service.id).has(u.id) && org().roleNamesOf(recordOf(u).systemuserid).length === 0)!;
    const unitBefore = unitName(joiner);
    directory().addGroupMember(SANDBOX_GROUPS.sales.id, joiner.id);
    const store = org().access;
    const associate = store.associateRole.bind(store);
    store.associateRole = (user, roleId, journal) => {
      if (user.systemuserid === recordOf(joiner).systemuserid) throw new DataverseError(403, "0x80040220", "Principal user is missing prvAssignRole privilege.");
      associate(user, roleId, journal);
    };
    let failed: RunReport;
    try {
      failed = await runSync();
    } finally {
      store.associateRole = associate;
    }
    expect(failed.counts).toMatchObject({ failed: 1, accessChanged: 0 });
    expect(entryFor(failed, joiner)).toMatchObject({ action: "access", outcome: "failed", error: { code: "0x80040220" } });
    // The user's change set is all or nothing: not moved either.
    expect(accessOf(joiner)).toEqual({ unit: unitBefore, roles: [], teams: [] });
    const next = await runSync();
    expect(next.counts).toMatchObject({ failed: 0, accessChanged: 1 });
    expect(accessOf(joiner)).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
  });
});

describe("safety", () => {
  it("the unmanaged roles a move costs are reported, not counted toward ACCESS_REMOVAL_THRESHOLD", async () => {
    vi.resetModules();
    process.env.ACCESS_REMOVAL_THRESHOLD = "0";
    const mover = users.find((u) => !membersOf(SANDBOX_GROUPS.sales.id).has(u.id) && !membersOf(SANDBOX_GROUPS.service.id).has(u.id) && org().roleNamesOf(recordOf(u).systemuserid).length === 0)!;
    org().assignRoles(recordOf(mover).systemuserid, ["Auditor"]);
    directory().addGroupMember(SANDBOX_GROUPS.sales.id, mover.id);
    const report = await runSync();
    expect(report.state).toBe("succeeded");
    expect(entryFor(report, mover)).toMatchObject({ outcome: "applied", access: { rolesRemoved: [], teamsRemoved: [], rolesLostInMove: ["Auditor"] } });
    expect(accessOf(mover)).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
    delete process.env.ACCESS_REMOVAL_THRESHOLD;
  });

  it("removals over ACCESS_REMOVAL_THRESHOLD halt the run before any removal; approval applies them", async () => {
    vi.resetModules();
    process.env.ACCESS_REMOVAL_THRESHOLD = "2";
    const leavers = [...membersOf(SANDBOX_GROUPS.service.id)].slice(0, 2).map((id) => users.find((u) => u.id === id)!);
    for (const leaver of leavers) directory().removeGroupMember(SANDBOX_GROUPS.service.id, leaver.id);
    const before = writes();
    const halted = await runSync();
    expect(halted.state).toBe("halted");
    expect(halted.halt!.access).toMatchObject({ limit: 2, removals: 6 });
    expect(writes()).toEqual(before);
    for (const leaver of leavers) expect(accessOf(leaver).roles).toContain(roles.customerService);

    const runs = (await import("../support/test-bridge.js")).testBridge().syncRuns;
    await runs.approve(halted.runId, "test-admin");
    await runs.execute({ org: halted.org, runId: halted.runId, approved: true });
    const approved = await runs.get(halted.runId);
    expect(approved.state).toBe("succeeded");
    for (const leaver of leavers) expect(accessOf(leaver)).toEqual({ unit: units.service, roles: [], teams: [] });
    delete process.env.ACCESS_REMOVAL_THRESHOLD;
  });

  it("a run halted by removals still gives the users it creates their access: a new record holds nothing to take away", async () => {
    vi.resetModules();
    process.env.ACCESS_REMOVAL_THRESHOLD = "2";
    const sellers = [...membersOf(SANDBOX_GROUPS.sales.id)].map((id) => users.find((u) => u.id === id)).filter((u) => u !== undefined && accessOf(u).roles.includes(roles.salesperson));
    const leavers = sellers.slice(0, 2);
    expect(leavers).toHaveLength(2);
    for (const leaver of leavers) directory().removeGroupMember(SANDBOX_GROUPS.sales.id, leaver!.id);
    const fresh = directory().addUser({ userPrincipalName: "early.seller@contoso.com", givenName: "Early", surname: "Seller" });
    directory().addGroupMember(SANDBOX_GROUPS.sales.id, fresh.id);
    const halted = await runSync();
    expect(halted.state).toBe("halted");
    // The new user's grant adds only: the removals weighed are the leavers' alone (three each).
    expect(halted.halt!.access).toMatchObject({ limit: 2, removals: 6 });
    for (const leaver of leavers) expect(accessOf(leaver!).roles).toContain(roles.salesperson);
    expect(accessOf(fresh)).toEqual({ unit: units.sales, roles: [roles.basicUser, roles.salesperson], teams: [teams.sales] });
    expect(entriesOf(halted, fresh)).toEqual([expect.objectContaining({ action: "create", outcome: "applied", access: expect.objectContaining({ businessUnit: { old: rootUnit(), new: units.sales }, teamsAdded: [teams.sales] }) })]);

    const runs = (await import("../support/test-bridge.js")).testBridge().syncRuns;
    await runs.approve(halted.runId, "test-admin");
    await runs.execute({ org: halted.org, runId: halted.runId, approved: true });
    expect((await runs.get(halted.runId)).state).toBe("succeeded");
    for (const leaver of leavers) expect(accessOf(leaver!).roles).not.toContain(roles.salesperson);
    expect(accessOf(fresh).roles).toContain(roles.salesperson);
    delete process.env.ACCESS_REMOVAL_THRESHOLD;
  });

  it("a rule that does not resolve is reported in errors, GET /api/access and /api/ready, and takes nothing away", async () => {
    vi.resetModules();
    const rules = [...sandboxAccessRules(env.sandbox.dataverse[0]!.url), { group: UNKNOWN_GROUP, roles: [roles.salesperson] }, { group: SANDBOX_GROUPS.sales.id, roles: ["No Such Role"], teams: [SANDBOX_ACCESS.groupTeam] }];
    process.env.ACCESS_RULES = JSON.stringify(rules);
    const leaver = users.find((u) => membersOf(SANDBOX_GROUPS.sales.id).has(u.id))!;
    directory().removeGroupMember(SANDBOX_GROUPS.sales.id, leaver.id);
    const report = await runSync();
    expect(report.state).toBe("succeeded");
    const messages = report.errors.map((e) => e.message).join("\n");
    expect(messages).toMatch(/ACCESS_RULES\[2\]: group 0bad0000-0000-4000-8000-00000000dead was not found in the directory/);
    expect(messages).toMatch(/ACCESS_RULES\[3\]: security role "No Such Role" does not exist/);
    expect(messages).toMatch(/ACCESS_RULES\[3\]: team "Dynamics Viewers" is a Microsoft Entra ID security group team/);
    // Salesperson is named by the unresolved rule 2: kept; Basic User and the Sales Team are not: removed.
    expect(accessOf(leaver)).toEqual({ unit: units.sales, roles: [roles.salesperson], teams: [] });

    const bridge = (await import("../support/test-bridge.js")).testBridge();
    const { accessStatus } = await import("../../shared/access/access-api.js");
    const graph = env.sandbox.graph.knobs;
    const mark = graph.requests.length;
    const view = await accessStatus(bridge.access);
    // Each group's members are counted by Graph ($count), never listed: a view's cost does not grow with the groups.
    const paths = graph.requests.slice(mark).map((r) => decodeURIComponent(r.url.split("?")[0]!));
    expect(paths.filter((p) => /\/members$/.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith("/members/microsoft.graph.user/$count")).length).toBe(new Set(rules.map((r) => r.group)).size - 1); // all but the unknown group
    const orgView = view.orgs[0]!;
    expect(orgView.rules.map((r) => r.status)).toEqual(["ok", "ok", "unknown-group", "partial"]);
    expect(orgView.rules[0]).toMatchObject({ group: { name: SANDBOX_GROUPS.sales.displayName, members: membersOf(SANDBOX_GROUPS.sales.id).size }, businessUnit: { name: units.sales, id: expect.any(String) } });
    const ready = await bridge.readiness.get();
    expect(ready.checks.find((c) => c.name.startsWith("access-rules:"))).toMatchObject({ ok: false, cause: "access_rule_problem" });
  });

  it("GET /api/access answers admins only, as the OpenAPI document describes it", async () => {
    const { getAccess } = await import("../../functions/access.http.js");
    const { callHandler } = await import("../support/bridge-env.js");
    const { assertDescribed } = await import("../support/openapi-contract.js");
    const anonymous = await callHandler(getAccess, "/api/access");
    expect(anonymous.status).toBe(401);
    const res = await callHandler(getAccess, "/api/access", { headers: { authorization: `Bearer ${await env.sandbox.adminToken()}` } });
    expect(res.status).toBe(200);
    assertDescribed("GET", "/api/access", res.status, res.headers["content-type"] ?? null, res.body);
    expect(res.body.orgs[0].rules.find((r: { status: string }) => r.status === "partial").problems).toEqual(expect.arrayContaining([expect.stringMatching(/No Such Role/)]));
  });
});
