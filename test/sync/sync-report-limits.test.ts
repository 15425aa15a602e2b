// Issue #11 item 2 reproduced: 400 new users whose creates Dataverse refuses for a missing privilege (403
// 0x80040220). Before the fix the report outgrew a Table property (PropertyValueTooLarge), the queue retried the
// run, and because the cursor had been saved before the report, each retry started further on: 398 users were
// never created and in no report. Now the report is saved (capped, with counts), the failed users are carried
// forward, and once the privilege is granted the next run creates all 400.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { expectConverged, recordsOf } from "./sync-helpers.js";
import type { SyncRuns } from "../../shared/sync/sync-runs.js";
import type { RunReport } from "../../shared/sync/run-report.js";
import { ERROR_LIST_CAP } from "../../shared/sync/run-report.js";

let env: BridgeEnvironment;
let runs: SyncRuns;

/** A queued run as the Functions host drives it: redelivered after a failure, up to maxDequeueCount (5) times. */
async function runAsQueue(input: { mode?: "full" | "incremental" } = {}): Promise<{ report: RunReport; attempts: number }> {
  const run = await runs.start({ trigger: "test", ...input });
  let last: unknown;
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await runs.execute({ org: run.org, runId: run.runId });
      return { report: await runs.get(run.runId), attempts: attempt };
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`the run failed 5 times: ${(last as Error).message}`);
}

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 10 }, env: { SYNC_DISABLE_THRESHOLD: "5" } });
  runs = (await import("../support/test-bridge.js")).testBridge().syncRuns;
});
afterAll(async () => { await env?.stop(); });

const org = () => env.sandbox.dataverse[0]!.org;
const directory = () => env.sandbox.tenant.directory;

describe("a run whose writes fail for hundreds of users", () => {
  it("the initial run converges", async () => {
    const { report } = await runAsQueue();
    expect(report.state).toBe("succeeded");
    expectConverged(env.sandbox, org());
  });

  it("400 refused creates: the report is saved with every failure counted, nothing skipped", async () => {
    const hires = Array.from({ length: 400 }, (_, i) => directory().addUser({
      userPrincipalName: `refused.hire.${i}@contoso.com`, givenName: "Refused", surname: `Hire ${i}`, jobTitle: "Analyst",
    }));
    org().deniedPrivileges.add("prvCreateUser");
    const { report, attempts } = await runAsQueue();
    expect(attempts).toBe(1);
    expect(report.state).toBe("succeeded");
    expect(report.counts.scanned).toBe(400);
    expect(report.counts.failed).toBe(400);
    expect(report.counts.created).toBe(0);
    // The error list is capped, and what was left out is counted.
    expect(report.errors).toHaveLength(ERROR_LIST_CAP);
    expect(report.errorsOmitted).toBe(400 - ERROR_LIST_CAP);
    expect(report.errors[0]).toMatchObject({ code: "0x80040220" });
    expect(report.errors[0]!.message).toContain("SecLib::AccessCheckEx failed");
    // Every failed create is listed among the changes (within the change cap).
    const failedChanges = report.changes.filter((c) => c.action === "create" && c.outcome === "failed");
    expect(failedChanges).toHaveLength(400);
    for (const hire of hires) expect(recordsOf(org(), hire.id)).toHaveLength(0);
  });

  it("once the privilege is granted, the next run creates all 400", async () => {
    org().deniedPrivileges.delete("prvCreateUser");
    const { report, attempts } = await runAsQueue();
    expect(attempts).toBe(1);
    expect(report.state).toBe("succeeded");
    expect(report.counts.created).toBe(400);
    expect(report.counts.failed).toBe(0);
    expectConverged(env.sandbox, org());
  });

  it("the users are not retried again once created", async () => {
    const writes = org().stats.writes;
    const { report } = await runAsQueue();
    expect(report.counts).toMatchObject({ scanned: 0, created: 0, failed: 0 });
    expect(org().stats.writes).toBe(writes);
  });
});
