// Incremental runs without scope groups read no full index: each Graph delta page looks up only the records its
// changes concern (Microsoft.Dynamics.CRM.In over object ids and domainnames). Matching by domainname, conflicts,
// a percentage threshold and a reset into a full round must still work as with the full index.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { RecordedRequest } from "../../dev/sandbox/https-service.js";
import { expectConverged, recordsOf } from "./sync-helpers.js";

let env: BridgeEnvironment;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 40 }, env: { SYNC_DISABLE_THRESHOLD: "10%" } });
});
afterAll(async () => { await env?.stop(); });

const org = () => env.sandbox.dataverse[0]!.org;
const knobs = () => env.sandbox.dataverse[0]!.knobs;
const directory = () => env.sandbox.tenant.directory;

async function runSync() {
  const root = (await import("../support/test-bridge.js")).testBridge();
  const syncRuns = () => root.syncRuns;
  const runs = syncRuns();
  const run = await runs.start({ trigger: "test" });
  const report = await runs.execute({ org: run.org, runId: run.runId });
  return { ...report, changes: (await runs.get(run.runId)).changes, runs };
}

/** The Dataverse reads of systemusers a run made, with their decoded $filter. */
function systemUserReads(from: number): Array<{ request: RecordedRequest; filter: string | null }> {
  return knobs().requests.slice(from)
    .filter((r) => r.method === "GET" && /\/api\/data\/v9\.2\/systemusers(\?|$)/.test(r.url))
    .map((request) => ({ request, filter: new URL(request.url, "https://x").searchParams.get("$filter") }));
}

const managedEnabled = () => [...org().users.values()].filter((r) => !r.isdisabled && !r.applicationid && ![3, 4, 5].includes(r.accessmode)).length;

it("an incremental run reads only its changes' records, yet matches by domainname and detects a conflict", async () => {
  expect((await runSync()).mode).toBe("full");

  const changed = [...directory().users.values()].find((u) => u.state === "active" && u.accountEnabled)!;
  directory().updateUser(changed.id, { jobTitle: "Lookup Engineer" });
  // A record without an object id holding the new user's name: matched by domainname, not duplicated.
  const unlinked = directory().addUser({ userPrincipalName: "unlinked.lookup@contoso.com", givenName: "Una", surname: "Linked" });
  const unlinkedRecord = org().addSystemUser({ domainname: unlinked.userPrincipalName, firstname: "Old", lastname: "Name" });
  // A record of another directory object holding the new user's name: a conflict, never a match.
  const clashing = directory().addUser({ userPrincipalName: "clash.lookup@contoso.com", givenName: "Clash", surname: "Lookup" });
  const holder = org().addSystemUser({ domainname: clashing.userPrincipalName, azureactivedirectoryobjectid: randomUUID(), firstname: "Other", lastname: "Object" });

  // Enough new users for two Graph pages (200 users a page).
  const newcomers = Array.from({ length: 210 }, (_, i) => directory().addUser({ userPrincipalName: `newcomer.${i}@contoso.com`, givenName: "New", surname: `Comer ${i}` }));

  const from = knobs().requests.length;
  const graphFrom = env.sandbox.graph.knobs.requests.length;
  const report = await runSync();
  expect(report.mode).toBe("incremental");
  expect(report.state).toBe("succeeded");

  const reads = systemUserReads(from);
  const graphPages = env.sandbox.graph.knobs.requests.slice(graphFrom).filter((r) => r.url.includes("/users/delta") && r.status === 200).length;
  expect(graphPages).toBeGreaterThanOrEqual(2);
  // No full read: every read is an In lookup, at most two per Graph page, naming only the changed users.
  expect(reads.length).toBeGreaterThan(0);
  expect(reads.length).toBeLessThanOrEqual(2 * graphPages);
  for (const { filter } of reads) expect(filter).toMatch(/^Microsoft\.Dynamics\.CRM\.In\(PropertyName='(azureactivedirectoryobjectid|domainname)'/);
  const asked = reads.map((r) => r.filter).join(" ");
  const askedIds = new Set(asked.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g));
  expect([...askedIds].sort()).toEqual([changed.id, unlinked.id, clashing.id, ...newcomers.map((u) => u.id)].map((id) => id.toLowerCase()).sort());
  expect(asked).toContain(`'${unlinked.userPrincipalName}'`);
  expect(asked).toContain(`'${clashing.userPrincipalName}'`);
  expect(asked).not.toContain(`'${changed.userPrincipalName}'`); // matched by object id, name unchanged: no name lookup

  expect(recordsOf(org(), changed.id)[0]!.jobtitle).toBe("Lookup Engineer");
  const named = [...org().users.values()].filter((r) => r.domainname?.toLowerCase() === unlinked.userPrincipalName);
  expect(named.map((r) => r.systemuserid)).toEqual([unlinkedRecord.systemuserid]);
  expect(named[0]).toMatchObject({ firstname: "Una", lastname: "Linked" });
  expect(report.changes.find((c) => c.objectId === unlinked.id)).toMatchObject({ action: "update", systemUserId: unlinkedRecord.systemuserid });

  const conflict = report.changes.find((c) => c.objectId === clashing.id);
  expect(conflict).toMatchObject({ action: "skip" });
  expect(conflict!.reason).toMatch(/^conflict: .*held by record/);
  expect(recordsOf(org(), clashing.id)).toHaveLength(0);
  expect(org().get(holder.systemuserid)).toMatchObject({ firstname: "Other", lastname: "Object" });
  expect(report.counts).toMatchObject({ created: newcomers.length, updated: 2, skipped: 1, failed: 0 });

  // The operator resolves the conflict; the user's next change creates its record. The platform links the
  // record matched by name to its object id by itself (the emulator leaves that to us).
  org().remove(holder.systemuserid);
  org().setFields(unlinkedRecord.systemuserid, { azureactivedirectoryobjectid: unlinked.id });
  directory().updateUser(clashing.id, { jobTitle: "Resolved" });
  const next = await runSync();
  expect(next.counts).toMatchObject({ created: 1, failed: 0 });
  expect(recordsOf(org(), clashing.id)).toHaveLength(1);
});

it("a percentage threshold is weighed against the org's enabled managed users", async () => {
  const limit = Math.floor(managedEnabled() / 10);
  expect(limit).toBeGreaterThan(0);
  const victims = [...directory().users.values()].filter((u) => u.state === "active" && u.accountEnabled && recordsOf(org(), u.id).length === 1).slice(0, limit + 1);
  for (const v of victims) directory().updateUser(v.id, { accountEnabled: false });
  const halted = await runSync();
  expect(halted.mode).toBe("incremental");
  expect(halted.state).toBe("halted");
  expect(halted.halt).toMatchObject({ pendingDisables: limit + 1, limit, threshold: "10%" });
  for (const v of victims) expect(recordsOf(org(), v.id)[0]!.isdisabled).toBe(false);

  await halted.runs.approve(halted.runId, "tester");
  const approved = await halted.runs.execute({ org: halted.org, runId: halted.runId, approved: true });
  expect(approved.state).toBe("succeeded");
  for (const v of victims) expect(recordsOf(org(), v.id)[0]!.isdisabled).toBe(true);
});

it("a reset cursor turns the run into a full round over every record: deleted users are found", async () => {
  await runSync(); // settle
  const gone = [...directory().users.values()].find((u) => u.state === "active" && u.accountEnabled && recordsOf(org(), u.id).length === 1)!;
  directory().expireDeltaTokens();
  directory().deleteUser(gone.id, true);
  const from = knobs().requests.length;
  const report = await runSync();
  expect(report.resync).toBe("syncStateNotFound");
  expect(report.mode).toBe("full");
  expect(report.state).toBe("succeeded");
  expect(systemUserReads(from).some((r) => r.filter === null)).toBe(true); // the full read
  expect(recordsOf(org(), gone.id)[0]!.isdisabled).toBe(true);
  expectConverged(env.sandbox, org());
});
