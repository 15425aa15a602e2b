// SYNC_LICENSE_SKUS end to end: a directory user without a listed SKU gets no record in an online org (skipped,
// reason "unlicensed", not a failure); one who loses the licence is disabled by the next run, one who receives it
// is created by the next run.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { DirectoryUser } from "../../dev/sandbox/directory.js";
import { DYNAMICS_CUSTOMER_SERVICE_SKU, DYNAMICS_SALES_SKU } from "../../dev/sandbox/seed-access.js";
import type { RunReport } from "../../shared/sync/run-report.js";
import { recordsOf } from "../sync/sync-helpers.js";

let env: BridgeEnvironment;
let users: DirectoryUser[];

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1, seed: { users: 15, existingShare: 0 } });
  users = [...env.sandbox.tenant.directory.users.values()];
  process.env.SYNC_LICENSE_SKUS = `${DYNAMICS_SALES_SKU},${DYNAMICS_CUSTOMER_SERVICE_SKU}`;
});
afterAll(async () => { await env?.stop(); });

const org = () => env.sandbox.dataverse[0]!.org;
const licensed = (user: DirectoryUser) => env.sandbox.tenant.directory.users.get(user.id)!.assignedLicenses.length > 0;

async function runSync(): Promise<RunReport> {
  const runs = (await import("../support/test-bridge.js")).testBridge().syncRuns;
  const run = await runs.start({ org: env.sandbox.dataverse[0]!.url, trigger: "test" });
  await runs.execute({ org: run.org, runId: run.runId });
  return runs.get(run.runId);
}

it("creates records only for licensed users; the others are skipped as unlicensed, not failed", async () => {
  const unlicensed = users.filter((u) => !licensed(u));
  expect(unlicensed.length).toBeGreaterThan(0);
  const report = await runSync();
  expect(report.state).toBe("succeeded");
  expect(report.counts).toMatchObject({ created: users.length - unlicensed.length, failed: 0 });
  expect(report.counts.skipped).toBeGreaterThanOrEqual(unlicensed.length);
  for (const user of users) expect(recordsOf(org(), user.id), user.userPrincipalName).toHaveLength(licensed(user) ? 1 : 0);
  for (const user of unlicensed) {
    expect(report.changes.find((c) => c.objectId?.toLowerCase() === user.id.toLowerCase())).toMatchObject({ action: "skip", reason: expect.stringMatching(/^unlicensed: /) });
  }
  expect(report.errors).toEqual([]);
});

it("disables a user who loses the licence and creates one who receives it, on the next run", async () => {
  const directory = env.sandbox.tenant.directory;
  const loser = users.find((u) => licensed(u))!;
  const gainer = users.find((u) => !licensed(u))!;
  for (const license of [...directory.users.get(loser.id)!.assignedLicenses]) directory.removeLicense(loser.id, license.skuId);
  directory.assignLicense(gainer.id, DYNAMICS_SALES_SKU);
  const report = await runSync();
  expect(report).toMatchObject({ state: "succeeded", mode: "incremental" });
  expect(report.counts).toMatchObject({ created: 1, disabled: 1, failed: 0 });
  expect(recordsOf(org(), loser.id)[0]!.isdisabled).toBe(true);
  expect(report.changes.find((c) => c.action === "disable")).toMatchObject({ reason: "unlicensed" });
  expect(recordsOf(org(), gainer.id)).toHaveLength(1);
});
