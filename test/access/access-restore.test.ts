// A rule-group member deleted while the bridge reads the rule groups whole, then restored: Entra puts them back
// in their groups, so the next run gives them the rule's roles and team again. Found by the chaos soak (seed
// 424242, round 29: a restored Service member kept the unit but had no managed role or team left).
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules } from "../../dev/sandbox/seed-access.js";
import type { RunReport } from "../../shared/sync/run-report.js";
import { recordsOf } from "../sync/sync-helpers.js";
import { testBridge } from "../support/test-bridge.js";

let env: BridgeEnvironment;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1, seed: { users: 8, existingShare: 0 } });
  process.env.ACCESS_RULES = JSON.stringify(sandboxAccessRules(env.sandbox.dataverse[0]!.url));
});
afterAll(async () => { await env?.stop(); });

async function runSync(mode: "full" | "incremental" = "incremental"): Promise<RunReport> {
  const runs = testBridge().syncRuns;
  const run = await runs.start({ org: env.sandbox.dataverse[0]!.url, trigger: "test", mode });
  await runs.execute({ org: run.org, runId: run.runId });
  return runs.get(run.runId);
}

it("a member deleted during a whole read of the rule groups gets the rule's access back once restored", async () => {
  const dir = env.sandbox.tenant.directory;
  const org = env.sandbox.dataverse[0]!.org;
  const member = [...dir.users.values()].find((u) => dir.membersOf(SANDBOX_GROUPS.service.id).includes(u.id))!;
  // Deleted before the first run: its whole read of the rule groups does not list them.
  dir.deleteUser(member.id);
  expect((await runSync("full")).state).toBe("succeeded");
  dir.restoreUser(member.id);
  const report = await runSync();
  expect(report).toMatchObject({ state: "succeeded", counts: { failed: 0 } });
  const record = recordsOf(org, member.id)[0]!;
  expect(org.access.units.get(record._businessunitid_value)!.name).toBe(SANDBOX_ACCESS.units.service);
  expect(org.roleNamesOf(record.systemuserid)).toEqual([SANDBOX_ACCESS.roles.basicUser, SANDBOX_ACCESS.roles.customerService].sort());
  expect(org.teamNamesOf(record.systemuserid)).toContain(SANDBOX_ACCESS.teams.service);
  // A full run agrees: nothing left to change.
  expect((await runSync("full")).counts.accessChanged).toBe(0);
}, 120_000);
