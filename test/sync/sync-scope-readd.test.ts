// SYNC_SCOPE_GROUP_IDS: joining (or re-joining) a scope group does not show in users/delta; the next run still
// creates or re-enables the member, leaves a directory-disabled member disabled, and fetches only members it must.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { DirectoryGroup, DirectoryUser } from "../../dev/sandbox/directory.js";
import { recordsOf } from "./sync-helpers.js";

let env: BridgeEnvironment;
let users: DirectoryUser[];
let group: DirectoryGroup;
const MEMBERS = 6;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1, seed: { users: 12, existingShare: 0 } });
  const directory = env.sandbox.tenant.directory;
  users = [...directory.users.values()];
  for (const user of users) if (!user.accountEnabled) directory.updateUser(user.id, { accountEnabled: true });
  group = directory.addGroup("Dynamics 365 users");
  for (const user of users.slice(0, MEMBERS)) directory.setMembership(group.id, user.id, true);
  process.env.SYNC_SCOPE_GROUP_IDS = group.id;
});
afterAll(async () => { await env?.stop(); });

async function runSync(dryRun = false) {
  const root = (await import("../support/test-bridge.js")).testBridge();
  const syncRuns = () => root.syncRuns;
  const runs = syncRuns();
  const run = await runs.start({ org: env.sandbox.dataverse[0]!.url, trigger: "test", dryRun });
  const report = await runs.execute({ org: run.org, runId: run.runId });
  // The change list is stored apart from the report: read it back.
  return { ...report, changes: (await runs.get(run.runId))!.changes };
}

const org = () => env.sandbox.dataverse[0]!.org;
const directory = () => env.sandbox.tenant.directory;
/** Object ids the runs read by id since `from` (a mark from `readMark`). */
const readMark = () => env.sandbox.graph.emulator.usersReadById.length;
const userReads = (from: number): string[] => env.sandbox.graph.emulator.usersReadById.slice(from);

it("creates the members, then disables a member removed from the group", async () => {
  const first = await runSync();
  expect(first.state).toBe("succeeded");
  expect(first.counts).toMatchObject({ created: MEMBERS, failed: 0 });
  for (const [i, user] of users.entries()) expect(recordsOf(org(), user.id), user.userPrincipalName).toHaveLength(i < MEMBERS ? 1 : 0);

  directory().setMembership(group.id, users[1]!.id, false);
  const report = await runSync();
  expect(report.state).toBe("succeeded");
  expect(report.counts).toMatchObject({ created: 0, disabled: 1, enabled: 0, failed: 0 });
  expect(recordsOf(org(), users[1]!.id)[0]!.isdisabled).toBe(true);
});

it("re-enables a member re-added to the group with no other change, fetching only that member", async () => {
  const from = readMark();
  directory().setMembership(group.id, users[1]!.id, true);
  const report = await runSync();
  expect(report.state).toBe("succeeded");
  expect(report.mode).toBe("incremental");
  expect(report.counts).toMatchObject({ created: 0, enabled: 1, disabled: 0, failed: 0 });
  expect(recordsOf(org(), users[1]!.id)[0]!.isdisabled).toBe(false);
  expect(userReads(from)).toEqual([users[1]!.id.toLowerCase()]);
});

it("a dry run plans a newly added member without writing or remembering it", async () => {
  const newcomer = users[MEMBERS]!;
  directory().setMembership(group.id, newcomer.id, true);
  const dry = await runSync(true);
  expect(dry.state).toBe("succeeded");
  expect(dry.counts).toMatchObject({ created: 1, failed: 0 });
  expect(dry.changes).toContainEqual(expect.objectContaining({ objectId: newcomer.id, action: "create", outcome: "planned" }));
  expect(recordsOf(org(), newcomer.id)).toHaveLength(0);
});

it("creates a member newly added to the group who has no record", async () => {
  const newcomer = users[MEMBERS]!;
  const report = await runSync();
  expect(report.state).toBe("succeeded");
  expect(report.counts).toMatchObject({ created: 1, enabled: 0, disabled: 0, failed: 0 });
  const records = recordsOf(org(), newcomer.id);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ domainname: newcomer.userPrincipalName, isdisabled: false });
});

it("does not enable or create directory-disabled users added to the group", async () => {
  const leaver = users[2]!;
  // Out of the group (record disabled), then disabled in the directory, then back in the group.
  directory().setMembership(group.id, leaver.id, false);
  expect((await runSync()).counts).toMatchObject({ disabled: 1, failed: 0 });
  directory().updateUser(leaver.id, { accountEnabled: false });
  const stranger = users[MEMBERS + 1]!;
  directory().updateUser(stranger.id, { accountEnabled: false });
  expect((await runSync()).counts).toMatchObject({ created: 0, enabled: 0, disabled: 0, failed: 0 });

  directory().setMembership(group.id, leaver.id, true);
  directory().setMembership(group.id, stranger.id, true);
  const from = readMark();
  const report = await runSync();
  expect(report.state).toBe("succeeded");
  expect(report.counts).toMatchObject({ created: 0, enabled: 0, disabled: 0, failed: 0 });
  expect(recordsOf(org(), leaver.id)[0]!.isdisabled).toBe(true);
  expect(recordsOf(org(), stranger.id)).toHaveLength(0);
  expect(userReads(from).sort()).toEqual([leaver.id, stranger.id].map((id) => id.toLowerCase()).sort());

  // Next run: the membership did not change, so no member is read again (the stranger is created once the
  // directory enables them: that change shows in users/delta).
  const next = readMark();
  expect((await runSync()).counts).toMatchObject({ created: 0, enabled: 0, disabled: 0, failed: 0 });
  expect(userReads(next)).toEqual([]);
  expect(recordsOf(org(), leaver.id)[0]!.isdisabled).toBe(true);
});

it("re-enables a member, and creates one, once the directory enables them", async () => {
  const leaver = users[2]!;
  const stranger = users[MEMBERS + 1]!;
  directory().updateUser(leaver.id, { accountEnabled: true });
  directory().updateUser(stranger.id, { accountEnabled: true });
  const report = await runSync();
  expect(report.counts).toMatchObject({ enabled: 1, created: 1, failed: 0 });
  expect(recordsOf(org(), leaver.id)[0]!.isdisabled).toBe(false);
  expect(recordsOf(org(), stranger.id)[0]!.isdisabled).toBe(false);
});
