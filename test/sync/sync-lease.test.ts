// A run whose lease renewals keep failing (a storage blip) stops cleanly (issue #11 item 10): it is recorded as
// failed with the cause, the org's cursor and outcome are left as they were, and no write follows the loss.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { SyncServices } from "../../shared/sync/sync-runs.js";
import { waitFor } from "../support/wait-for.js";

let env: BridgeEnvironment;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 40 } });
});
afterAll(async () => { await env?.stop(); });

describe("lease renewal", () => {
  it("repeated renewal failures lose the lease: the run stops, records why, and leaves the cursor alone", async () => {
    const syncRuns = () => root.syncRuns;
    const root = (await import("../support/test-bridge.js")).testBridge();
    const { SyncRuns, LeaseLostError } = await import("../../shared/sync/sync-runs.js");
    const base = (syncRuns() as unknown as { services: SyncServices }).services;
    let renewals = 0;
    const leases = Object.create(base.leases) as SyncServices["leases"];
    leases.renew = async () => { renewals += 1; throw new Error("ServiceUnavailable: storage blip"); };
    const runs = new SyncRuns({ ...base, leases, leaseTiming: { leaseMs: 400, renewMs: 100 } });

    const dataverse = env.sandbox.dataverse[0]!;
    dataverse.knobs.latencyMs = 150;
    const cursorBefore = await base.orgState.get(dataverse.url.toLowerCase());
    const run = await runs.start({ trigger: "test", mode: "full" });
    let stoppedAt = 0;
    await expect(runs.execute({ org: run.org, runId: run.runId }).finally(() => { stoppedAt = Date.now(); }))
      .rejects.toBeInstanceOf(LeaseLostError);
    dataverse.knobs.latencyMs = 0;

    const report = await runs.get(run.runId);
    expect(report.state).toBe("failed");
    expect(report.errors.at(-1)).toMatchObject({ code: "lease_lost", message: expect.stringMatching(/lost the lease .*renewals failed/) });
    expect(renewals).toBeGreaterThanOrEqual(2);
    const after = await base.orgState.get(run.org);
    expect({ cursor: after.cursor, lastOutcome: after.lastOutcome, backoffUntil: after.backoffUntil })
      .toEqual({ cursor: cursorBefore.cursor, lastOutcome: cursorBefore.lastOutcome, backoffUntil: cursorBefore.backoffUntil });
    // Nothing was written to Dataverse once the run had stopped: once the emulator has handled every request it
    // received (those cut off by the stop included), none of them arrived after it.
    await waitFor(() => dataverse.knobs.requests.every((r) => r.handledAt !== undefined));
    expect(dataverse.knobs.count((r) => r.method !== "GET" && r.at > stoppedAt)).toBe(0);
    expect(report.counts.created).toBeLessThan(16);
  });
});
