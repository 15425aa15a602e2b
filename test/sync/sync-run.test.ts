// Directory sync end to end: the sandbox tenant over HTTPS, the real Graph SDK, axios to the Dataverse emulator,
// Azurite for state. Each test continues from the previous one's state, like successive scheduled runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { expectConverged, recordsOf } from "./sync-helpers.js";
import type { SyncRuns } from "../../shared/sync/sync-runs.js";

let env: BridgeEnvironment;
let runs: SyncRuns;
let orgUrl: string;

async function runSync(input: { mode?: "full" | "incremental"; dryRun?: boolean } = {}) {
  const run = await runs.start({ trigger: "test", ...input });
  const report = await runs.execute({ org: run.org, runId: run.runId });
  return { ...report, changes: (await runs.get(run.runId)).changes };
}

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 40 }, env: { SYNC_DISABLE_THRESHOLD: "5" } });
  runs = (await import("../support/test-bridge.js")).testBridge().syncRuns;
  orgUrl = env.sandbox.dataverse[0]!.url;
});
afterAll(async () => { await env?.stop(); });

const org = () => env.sandbox.dataverse[0]!.org;
const directory = () => env.sandbox.tenant.directory;

describe("directory sync", () => {
  it("a dry run plans without writing anything", async () => {
    const before = JSON.stringify([...org().users.values()]);
    const report = await runSync({ dryRun: true });
    expect(report.state).toBe("succeeded");
    expect(report.dryRun).toBe(true);
    expect(report.counts.created).toBeGreaterThan(0);
    expect(report.changes.some((c) => c.action === "create" && c.outcome === "planned")).toBe(true);
    expect(JSON.stringify([...org().users.values()])).toBe(before);
    const status = await runs.status();
    expect(status[0]).toMatchObject({ org: orgUrl, state: "idle", cursorAgeSeconds: null });
  });

  it("the initial run converges: every user has one record with the directory's values", async () => {
    const appUser = [...org().users.values()].find((u) => u.applicationid)!;
    const supportUser = [...org().users.values()].find((u) => u.accessmode === 3)!;
    const protectedBefore = JSON.stringify([appUser, supportUser]);
    const report = await runSync();
    expect(report.state).toBe("succeeded");
    expect(report.mode).toBe("full");
    expect(report.counts.failed).toBe(0);
    expect(report.counts.created).toBe(16);
    expect(report.counts.updated).toBeGreaterThan(0); // the seeded stale titles
    expectConverged(env.sandbox, org());
    expect(JSON.stringify([org().users.get(appUser.systemuserid), org().users.get(supportUser.systemuserid)])).toBe(protectedBefore);
  });

  it("a second run writes nothing", async () => {
    const writes = org().stats.writes;
    const report = await runSync();
    expect(report.mode).toBe("incremental");
    expect(report.counts).toMatchObject({ created: 0, updated: 0, disabled: 0, enabled: 0, failed: 0 });
    expect(org().stats.writes).toBe(writes);
  });

  it("an incremental run applies exactly the directory's changes, o'brien included", async () => {
    const users = [...directory().users.values()];
    directory().updateUser(users[0]!.id, { jobTitle: "Chief Engineer" });
    directory().updateUser(users[1]!.id, { accountEnabled: false });
    directory().deleteUser(users[2]!.id);
    const obrien = directory().addUser({ userPrincipalName: "o'brien@contoso.com", givenName: "Conan", surname: "O'Brien", mail: "o'brien@contoso.com" });
    const report = await runSync();
    expect(report.counts).toMatchObject({ created: 1, updated: 1, disabled: 2, failed: 0 });
    expect(recordsOf(org(), obrien.id)[0]?.domainname).toBe("o'brien@contoso.com");
    expectConverged(env.sandbox, org());
  });

  it("re-enables a restored or re-enabled user", async () => {
    const users = [...directory().users.values()];
    directory().updateUser(users[1]!.id, { accountEnabled: true });
    directory().restoreUser(users[2]!.id);
    const report = await runSync();
    expect(report.counts.enabled).toBe(2);
    expectConverged(env.sandbox, org());
  });

  it("halts before disabling anyone past the threshold, and approve resumes", async () => {
    const victims = [...directory().users.values()].filter((u) => u.state === "active").slice(3, 10);
    for (const v of victims) directory().updateUser(v.id, { accountEnabled: false });
    const halted = await runSync();
    expect(halted.state).toBe("halted");
    expect(halted.halt).toMatchObject({ pendingDisables: 7, limit: 5 });
    for (const v of victims) expect(recordsOf(org(), v.id)[0]!.isdisabled).toBe(false);
    await expect(runs.start({ trigger: "test" })).rejects.toMatchObject({ status: 409 });
    expect((await runs.status())[0]).toMatchObject({ state: "halted", haltedRunId: halted.runId });

    await runs.approve(halted.runId, "tester");
    const approved = await runs.execute({ org: orgUrl, runId: halted.runId, approved: true });
    expect(approved.state).toBe("succeeded");
    expect(approved.counts.disabled).toBe(7);
    for (const v of victims) expect(recordsOf(org(), v.id)[0]!.isdisabled).toBe(true);
    expect((await runs.status())[0]).toMatchObject({ state: "idle" });
  });

  it("an expired delta cursor starts a full run by itself", async () => {
    directory().expireDeltaTokens();
    const user = [...directory().users.values()].find((u) => u.state === "active" && u.accountEnabled)!;
    directory().updateUser(user.id, { mobilePhone: "+44 20 7946 0000" });
    const report = await runSync();
    expect(report.state).toBe("succeeded");
    expect(report.resync).toBe("syncStateNotFound");
    expect(report.mode).toBe("full");
    expectConverged(env.sandbox, org());
  });

  it("a tenant reset (410 Gone) recovers the same way", async () => {
    env.sandbox.graph.emulator.failNextDelta("gone", 1);
    const report = await runSync();
    expect(report.resync).toBe("410 Gone");
    expect(report.state).toBe("succeeded");
  });

  it("two concurrent starts make one run", async () => {
    const results = await Promise.allSettled([runs.start({ trigger: "a" }), runs.start({ trigger: "b" })]);
    const started = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(started).toHaveLength(1);
    expect(refused[0]!.reason).toMatchObject({ status: 409, detail: { runId: (started[0] as PromiseFulfilledResult<{ runId: string }>).value.runId } });
    const run = (started[0] as PromiseFulfilledResult<{ runId: string; org: string }>).value;
    await runs.execute({ org: run.org, runId: run.runId });
  });
});
