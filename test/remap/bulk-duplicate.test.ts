// A bulk remap "apply" message delivered twice at once (the queue delivers at least once): the second delivery
// meets the first one's remaps in progress (409). Those items are not failed, the job does not finish early,
// and a late duplicate never overwrites what the first delivery recorded. Found by the chaos soak (seed 424242).
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { BUSY_RETRY_SECONDS, getBulkJob, MAX_BUSY_RETRIES, processBulkMessage, startBulkJob, type BulkMessage } from "../../shared/remap/bulk-jobs.js";
import { userLeaseKey } from "../../shared/remap/leases.js";
import { testBridge } from "../support/test-bridge.js";

const PLACEHOLDERS = ["dup.slot1@contoso.com", "dup.slot2@contoso.com"];
const COUNT = 3;
let env: BridgeEnvironment;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 0 }, env: { REMAP_PLACEHOLDER_USERS: PLACEHOLDERS.join(",") } });
  const dir = env.sandbox.tenant.directory;
  const org = env.sandbox.dataverse[0]!.org;
  for (const upn of PLACEHOLDERS) dir.addUser({ userPrincipalName: upn, accountEnabled: false });
  for (let i = 0; i < COUNT; i++) {
    const u = dir.addUser({ userPrincipalName: `twice${i}@contoso.com`, givenName: "Twice", surname: String(i) });
    org.addSystemUser({ domainname: u.userPrincipalName, azureactivedirectoryobjectid: u.id });
    dir.updateUser(u.id, { userPrincipalName: `twice${i}@fabrikam.com` });
  }
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

/** A deferred gate: the first delivery's remaps wait on it after step 1, so the second meets them running. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

it("a duplicate delivery leaves items another delivery is remapping pending, and looks again later", async () => {
  const sent: Array<{ message: BulkMessage; delaySeconds?: number }> = [];
  const enqueue = async (message: BulkMessage, delaySeconds?: number) => void sent.push({ message, delaySeconds });
  const bridge = testBridge();
  const { jobId } = await startBulkJob(
    { selection: { rule: { fromSuffix: "@contoso.com", toSuffix: "@fabrikam.com" } }, dryRun: false, requestedBy: "test" },
    { ...bridge.remapDeps(), enqueue },
  );
  await processBulkMessage({ kind: "plan", jobId }, { ...bridge.remapDeps(), enqueue });
  const apply = sent.find((s) => s.message.kind === "apply")!.message;
  expect(apply).toMatchObject({ kind: "apply", start: 0, end: COUNT });

  // The first delivery holds both temporary accounts (two of three users) until the gate opens.
  const release = gate();
  let atStep1 = 0;
  const step1Reached = gate();
  const first = processBulkMessage(apply, {
    ...bridge.remapDeps({
      hooks: {
        afterStep: async (step) => {
          if (step !== "temporary") return;
          if (++atStep1 === PLACEHOLDERS.length) step1Reached.open();
          await release.opened;
        },
      },
    }),
    enqueue,
  });
  await step1Reached.opened;

  // The duplicate: its two users are busy (409), the third waits for a temporary account (placeholderWaitMs) or
  // gets one; either way nothing it answers is a failure.
  sent.length = 0;
  const duplicate = processBulkMessage(apply, { ...bridge.remapDeps({ placeholderWaitMs: 500 }), enqueue });
  const settledDuplicate = await duplicate.then(() => "done", (e: Error) => e.message);
  expect(settledDuplicate).toBe("done");
  const during = (await getBulkJob(jobId, bridge.remapDeps()))!;
  expect(during.counts.failed).toBe(0);
  expect(during.finishedAt).toBeUndefined();
  expect(during.state).toBe("running");
  // Each busy item is looked at again later, on its own, counting the retries.
  const retries = sent.filter((s) => s.message.kind === "apply");
  expect(retries.length).toBeGreaterThanOrEqual(PLACEHOLDERS.length);
  for (const r of retries) {
    expect(r.delaySeconds).toBe(BUSY_RETRY_SECONDS);
    expect(r.message).toMatchObject({ kind: "apply", busyRetries: 1 });
    if (r.message.kind === "apply") expect(r.message.end - r.message.start).toBe(1);
  }

  release.open();
  await first;
  const after = (await getBulkJob(jobId, bridge.remapDeps()))!;
  expect(after.counts).toMatchObject({ pending: 0, failed: 0, succeeded: COUNT });
  expect(after.state).toBe("succeeded");
  const recorded = after.plan.map((i) => i.operationId);

  // The retries arrive: their items are done, so nothing changes (no "no-change" over a "succeeded").
  for (const r of retries) await processBulkMessage(r.message, { ...bridge.remapDeps(), enqueue });
  const final = (await getBulkJob(jobId, bridge.remapDeps()))!;
  expect(final.counts).toMatchObject({ succeeded: COUNT, noChange: 0, failed: 0 });
  expect(final.plan.map((i) => i.operationId)).toEqual(recorded);
  const org = env.sandbox.dataverse[0]!.org;
  for (let i = 0; i < COUNT; i++) expect(org.findByDomainName(`twice${i}@fabrikam.com`)?.azureactivedirectoryobjectid).toBeTruthy();
  expect([...org.users.values()].filter((r) => PLACEHOLDERS.includes(r.domainname ?? ""))).toEqual([]);
}, 120_000);

it("a user still busy after the last retry is recorded as failed, so the job ends", async () => {
  const { org, rec, deps, jobId } = await plannedDomainMove("held");
  // Someone else's remap of this user holds its lease all along.
  const key = userLeaseKey(org.url.toLowerCase(), rec.systemuserid);
  expect((await deps.leases.acquire(key, "other", 600_000, "other-operation")).acquired).toBe(true);
  try {
    await processBulkMessage({ kind: "apply", jobId, start: 0, end: 1, busyRetries: MAX_BUSY_RETRIES - 1 }, deps);
    expect((await getBulkJob(jobId, deps))!.counts).toMatchObject({ pending: 1, failed: 0 });
    await processBulkMessage({ kind: "apply", jobId, start: 0, end: 1, busyRetries: MAX_BUSY_RETRIES }, deps);
    const job = (await getBulkJob(jobId, deps))!;
    expect(job.counts).toMatchObject({ pending: 0, failed: 1 });
    expect(job.plan[0]).toMatchObject({ outcome: "failed", code: "remap_in_progress" });
    expect(job.finishedAt).toBeDefined();
  } finally {
    await deps.leases.release(key, "other");
  }
}, 60_000);

it("a user whose earlier remap is parked (stuck until their restore) fails at once: the job ends rather than waiting", async () => {
  const { org, rec, deps, jobId, sent, user: u } = await plannedDomainMove("parked");
  const dir = env.sandbox.tenant.directory;
  // Found by the chaos soak (seed 424242): an earlier remap of this user is open and stuck.
  await deps.journal.create({
    operationId: "0f0f0f0f-0000-4000-8000-000000000001", org: org.url.toLowerCase(), systemUserId: rec.systemuserid,
    from: "parked@contoso.com", to: "parked.v1@contoso.com", originalObjectId: u.id, targetObjectId: u.id,
    placeholder: PLACEHOLDERS[0]!, placeholderObjectId: dir.findByUpn(PLACEHOLDERS[0]!)!.id,
    requestedBy: "test", source: "test", state: "stuck", steps: [],
  });
  sent.length = 0;
  await processBulkMessage({ kind: "apply", jobId, start: 0, end: 1 }, deps);
  const job = (await getBulkJob(jobId, deps))!;
  expect(job.plan[0]).toMatchObject({ outcome: "failed", code: "remap_pending" });
  expect(job.finishedAt).toBeDefined();
  expect(sent).toEqual([]);
}, 60_000);

/** A user whose UPN moved from contoso.com to fabrikam.com, and a planned one-item bulk job for them (its queue captured). */
async function plannedDomainMove(name: string) {
  const dir = env.sandbox.tenant.directory;
  const org = env.sandbox.dataverse[0]!.org;
  const u = dir.addUser({ userPrincipalName: `${name}@contoso.com` });
  const rec = org.addSystemUser({ domainname: u.userPrincipalName, azureactivedirectoryobjectid: u.id });
  dir.updateUser(u.id, { userPrincipalName: `${name}@fabrikam.com` });
  const sent: BulkMessage[] = [];
  const deps = { ...testBridge().remapDeps(), enqueue: async (m: BulkMessage) => void sent.push(m) };
  const { jobId } = await startBulkJob({ selection: { items: [{ user: rec.systemuserid, newDomainName: `${name}@fabrikam.com` }] }, dryRun: false, requestedBy: "test" }, deps);
  await processBulkMessage({ kind: "plan", jobId }, deps);
  return { org, rec, deps, jobId, sent, user: u };
}
