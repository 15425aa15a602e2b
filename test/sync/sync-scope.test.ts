// SYNC_SCOPE_GROUP_IDS (only direct members of the groups are in scope; leaving the group disables the user on
// the next run) and SYNC_IDENTITY=sam (domainname = DOMAIN\samAccountName), end to end against the sandbox.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { DirectoryGroup, DirectoryUser } from "../../dev/sandbox/directory.js";
import { recordsOf } from "./sync-helpers.js";

let env: BridgeEnvironment;
let users: DirectoryUser[];
let group: DirectoryGroup;
const MEMBERS = 8;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 2, seed: { users: 20, existingShare: 0 } });
  const directory = env.sandbox.tenant.directory;
  users = [...directory.users.values()];
  group = directory.addGroup("Dynamics 365 users");
  for (const user of users.slice(0, MEMBERS)) directory.setMembership(group.id, user.id, true);
  // A former member: a membership row with isMember false is not a member.
  directory.setMembership(group.id, users[MEMBERS]!.id, false);
  process.env.SYNC_SCOPE_GROUP_IDS = group.id;
});
afterAll(async () => { await env?.stop(); });

async function runSync(orgIndex: number) {
  const root = (await import("../support/test-bridge.js")).testBridge();
  const syncRuns = () => root.syncRuns;
  const runs = syncRuns();
  const run = await runs.start({ org: env.sandbox.dataverse[orgIndex]!.url, trigger: "test" });
  return runs.execute({ org: run.org, runId: run.runId });
}

const org1 = () => env.sandbox.dataverse[0]!.org;

it("creates only the group's direct members", async () => {
  const report = await runSync(0);
  expect(report.state).toBe("succeeded");
  expect(report.counts).toMatchObject({ created: MEMBERS, failed: 0 });
  users.forEach((user, i) => {
    const records = recordsOf(org1(), user.id);
    if (i < MEMBERS) {
      expect(records, user.userPrincipalName).toHaveLength(1);
      expect(records[0]).toMatchObject({ domainname: user.userPrincipalName, isdisabled: false });
    } else {
      expect(records, `${user.userPrincipalName} is out of scope`).toHaveLength(0);
    }
  });
});

it("disables a user removed from the group on the next run, and creates no one out of scope", async () => {
  const directory = env.sandbox.tenant.directory;
  const leaver = users[3]!;
  directory.setMembership(group.id, leaver.id, false);
  directory.updateUser(users[15]!.id, { jobTitle: "Out-of-scope change" });
  const report = await runSync(0);
  expect(report.state).toBe("succeeded");
  expect(report.mode).toBe("incremental");
  expect(report.counts).toMatchObject({ created: 0, disabled: 1, failed: 0 });
  expect(recordsOf(org1(), leaver.id)[0]!.isdisabled).toBe(true);
  for (const user of users.slice(0, MEMBERS).filter((u) => u !== leaver)) expect(recordsOf(org1(), user.id)[0]!.isdisabled).toBe(false);
  expect(recordsOf(org1(), users[15]!.id)).toHaveLength(0);
});

it("SYNC_IDENTITY=sam maps domainname to DOMAIN\\samAccountName", async () => {
  // A fresh bridge process's view: configuration is read once, so reload the modules with the new settings.
  vi.resetModules();
  process.env.SYNC_IDENTITY = "sam";
  delete process.env.SYNC_SCOPE_GROUP_IDS;
  const report = await runSync(1);
  expect(report.state).toBe("succeeded");
  expect(report.counts).toMatchObject({ created: users.length, failed: 0 });
  const org2 = env.sandbox.dataverse[1]!.org;
  for (const user of users) {
    const records = recordsOf(org2, user.id);
    expect(records).toHaveLength(1);
    // Seeded users live in contoso.local: NetBIOS name CONTOSO.
    expect(records[0]!.domainname).toBe(`CONTOSO\\${user.onPremisesSamAccountName}`);
    expect(records[0]).toMatchObject({ firstname: user.givenName, lastname: user.surname, internalemailaddress: user.mail });
  }
});
