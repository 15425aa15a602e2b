// Scoped runs read their scope from the groups (groups/delta), not from the tenant: the first run reads the
// members by id and takes users/delta "from now"; later runs follow the groups' and the users' delta links. Two
// scope groups: a user in either is in scope, leaving one while staying in the other changes nothing, leaving both
// disables, coming back enables; attribute changes of members arrive through users/delta; a reset groups/delta
// link is read whole again without losing a removal; the disable threshold still halts a large removal.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { DirectoryGroup, DirectoryUser } from "../../dev/sandbox/directory.js";
import { recordsOf } from "./sync-helpers.js";

let env: BridgeEnvironment;
let users: DirectoryUser[];
let groupA: DirectoryGroup;
let groupB: DirectoryGroup;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1, seed: { users: 40, existingShare: 0 } });
  const directory = env.sandbox.tenant.directory;
  users = [...directory.users.values()];
  for (const user of users) if (!user.accountEnabled) directory.updateUser(user.id, { accountEnabled: true });
  groupA = directory.addGroup("Dynamics sales");
  groupB = directory.addGroup("Dynamics service");
  for (const user of users.slice(0, 5)) directory.setMembership(groupA.id, user.id, true); // 0..4
  for (const user of users.slice(3, 12)) directory.setMembership(groupB.id, user.id, true); // 3..11
  process.env.SYNC_SCOPE_GROUP_IDS = `${groupA.id},${groupB.id}`;
  process.env.SYNC_DISABLE_THRESHOLD = "3";
});
afterAll(async () => {
  delete process.env.SYNC_SCOPE_GROUP_IDS;
  delete process.env.SYNC_DISABLE_THRESHOLD;
  await env?.stop();
});

async function runSync() {
  const root = (await import("../support/test-bridge.js")).testBridge();
  const runs = root.syncRuns;
  const run = await runs.start({ org: env.sandbox.dataverse[0]!.url, trigger: "test" });
  return runs.execute({ org: run.org, runId: run.runId });
}

const org = () => env.sandbox.dataverse[0]!.org;
const directory = () => env.sandbox.tenant.directory;
const graph = () => env.sandbox.graph;
const enabled = (user: DirectoryUser) => recordsOf(org(), user.id)[0]?.isdisabled === false;
/** A mark in the Graph request log and in the log of users read by id. */
const mark = () => ({ requests: graph().knobs.requests.length, byId: graph().emulator.usersReadById.length });
const requestsSince = (m: ReturnType<typeof mark>) => graph().knobs.requests.slice(m.requests).map((r) => decodeURIComponent(r.url));
const readByIdSince = (m: ReturnType<typeof mark>) => graph().emulator.usersReadById.slice(m.byId);

it("the first run creates the members of either group, read by id, without walking the tenant", async () => {
  const from = mark();
  const report = await runSync();
  expect(report.state).toBe("succeeded");
  expect(report.mode).toBe("full");
  expect(report.counts).toMatchObject({ created: 12, failed: 0 });
  for (const [i, user] of users.entries()) expect(recordsOf(org(), user.id), user.userPrincipalName).toHaveLength(i < 12 ? 1 : 0);
  const requests = requestsSince(from);
  // users/delta only to take a link from now; the members themselves came from one JSON batch.
  expect(requests.filter((u) => u.includes("/users/delta"))).toEqual([expect.stringContaining("$deltatoken=latest")]);
  expect(requests.filter((u) => u.startsWith("/v1.0/$batch"))).toHaveLength(1);
  expect(readByIdSince(from).sort()).toEqual(users.slice(0, 12).map((u) => u.id.toLowerCase()).sort());
});

it("leaving one group while staying in the other changes nothing; leaving both disables", async () => {
  directory().setMembership(groupA.id, users[3]!.id, false); // still in B
  directory().setMembership(groupB.id, users[11]!.id, false); // in no group now
  const report = await runSync();
  expect(report.state).toBe("succeeded");
  expect(report.mode).toBe("incremental");
  expect(report.counts).toMatchObject({ created: 0, disabled: 1, enabled: 0, failed: 0 });
  expect(enabled(users[3]!)).toBe(true);
  expect(enabled(users[11]!)).toBe(false);
});

it("a member moving from one group to the other stays in scope across runs", async () => {
  directory().setMembership(groupA.id, users[0]!.id, false);
  directory().setMembership(groupB.id, users[0]!.id, true);
  expect((await runSync()).counts).toMatchObject({ created: 0, disabled: 0, enabled: 0, failed: 0 });
  directory().setMembership(groupA.id, users[1]!.id, false); // 1 leaves; 0 stays (now only in B)
  expect((await runSync()).counts).toMatchObject({ disabled: 1, failed: 0 });
  expect(enabled(users[0]!)).toBe(true);
  expect(enabled(users[1]!)).toBe(false);
});

it("re-entry enables, a newcomer is created, each read by id; a member's attribute change comes through users/delta", async () => {
  directory().setMembership(groupA.id, users[11]!.id, true);
  directory().setMembership(groupB.id, users[20]!.id, true);
  directory().updateUser(users[5]!.id, { jobTitle: "Scoped title" });
  directory().updateUser(users[30]!.id, { jobTitle: "Out of scope title" });
  const from = mark();
  const report = await runSync();
  expect(report.counts).toMatchObject({ created: 1, enabled: 1, updated: 1, disabled: 0, failed: 0 });
  expect(enabled(users[11]!)).toBe(true);
  expect(enabled(users[20]!)).toBe(true);
  expect(recordsOf(org(), users[5]!.id)[0]!.jobtitle).toBe("Scoped title");
  expect(recordsOf(org(), users[30]!.id)).toHaveLength(0);
  expect(readByIdSince(from).sort()).toEqual([users[11]!.id, users[20]!.id].map((id) => id.toLowerCase()).sort());
});

it("a reset groups/delta link is read whole again, and the removal it hid still disables", async () => {
  directory().setMembership(groupB.id, users[6]!.id, false);
  graph().emulator.failNextDelta("gone"); // the run's first delta request is the groups' link
  const from = mark();
  const report = await runSync();
  expect(report.state).toBe("succeeded");
  expect(report.counts).toMatchObject({ disabled: 1, created: 0, enabled: 0, failed: 0 });
  expect(enabled(users[6]!)).toBe(false);
  const groupReads = requestsSince(from).filter((u) => u.includes("/groups/delta"));
  expect(groupReads[0]).toContain("$deltatoken=");
  expect(groupReads[1]).toContain("$filter=id eq");
});

it("a member deleted from the directory is disabled through users/delta", async () => {
  directory().deleteUser(users[7]!.id);
  const report = await runSync();
  expect(report.counts).toMatchObject({ disabled: 1, failed: 0 });
  expect(enabled(users[7]!)).toBe(false);
});

it("removing more members than the threshold allows halts the run before any disable", async () => {
  for (const user of users.slice(8, 11)) directory().setMembership(groupB.id, user.id, false);
  directory().setMembership(groupA.id, users[2]!.id, false);
  const report = await runSync();
  expect(report.state).toBe("halted");
  expect(report.halt).toMatchObject({ pendingDisables: 4 });
  for (const user of [...users.slice(8, 11), users[2]!]) expect(enabled(user)).toBe(true);
});
