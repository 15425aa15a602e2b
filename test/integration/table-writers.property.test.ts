// Every Table writer of the bridge, driven with oversized and odd values (long messages, many errors, huge names,
// lone surrogates, control and key-forbidden characters) against real Azurite: no write may throw (issue #11
// item 2: "a report is never lost to its own size"). Azurite enforces the 64 KiB property, 1 MiB
// entity, key and transaction limits, so a writer that skipped shared/state/table-limits.ts fails here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { startAzurite, type RunningAzurite } from "../../dev/sandbox/azurite.js";
import { RunStore } from "../../shared/sync/run-store.js";
import { OrgStateStore } from "../../shared/sync/org-state-store.js";
import type { ChangeEntry, RunSummary } from "../../shared/sync/run-report.js";
import { RunTally } from "../../shared/sync/run-tally.js";
import { LeaseStore } from "../../shared/state/leases.js";
import { RemapJournal } from "../../shared/remap/journal.js";
import { TableRemapAudit } from "../../shared/remap/audit.js";
import { IdempotencyStore } from "../../shared/remap/idempotency.js";
import { startBulkJob, type BulkJobsDeps } from "../../shared/remap/bulk-jobs.js";
import { SubscriptionStore } from "../../shared/notifications/subscription-store.js";
import { SyncDebouncer } from "../../shared/notifications/debounce.js";
import { TableJtiStore } from "../../shared/tokens/jti-store.js";
import { prepareAudit, TableAuditSink } from "../../shared/tokens/audit.js";

let storageEmulator: RunningAzurite;
let tableNo = 0;

beforeAll(async () => { storageEmulator = await startAzurite(); });
afterAll(async () => { await storageEmulator?.stop(); });

async function freshTable(prefix: string): Promise<() => Promise<TableClient>> {
  const client = TableClient.fromConnectionString(storageEmulator.connectionString, `${prefix}${++tableNo}`, { allowInsecureConnection: true });
  await client.createTable();
  return async () => client;
}

const oddChar = fc.constantFrom("a", "Z", "é", "\uD83D\uDE00", "\uD800", "\uDFFF", "/", "\\", "#", "?", "\u0000", "\u0007", "\u009f", "'", "\"", " ");
/** Short odd strings, or one character repeated up to 70,000 times (over the 32K limit). */
const odd = fc.oneof(
  fc.string({ unit: oddChar, minLength: 1, maxLength: 40 }),
  fc.tuple(oddChar, fc.integer({ min: 30_000, max: 70_000 })).map(([c, n]) => c.repeat(n)),
);

interface Values { message: string; name: string; other: string; errors: number }
const values: fc.Arbitrary<Values> = fc.record({ message: odd, name: odd, other: odd, errors: fc.integer({ min: 0, max: 450 }) });

function oversizedReport(v: Values): RunSummary {
  const tally = RunTally.queued({ org: `https://${v.name}`, mode: "full", dryRun: false, trigger: v.other });
  tally.start(new Date().toISOString());
  tally.resynced(v.other);
  tally.recordErrors(Array.from({ length: v.errors }, (_, i) => ({ objectId: randomUUID(), code: "0x80040220", message: `${i} ${v.message}`, at: new Date().toISOString() })));
  // A run-level failure is listed last, past the cap, as sync-runs.ts does.
  tally.fail({ message: v.message }, new Date().toISOString());
  return tally.snapshot();
}

const changes = (v: Values, count: number): ChangeEntry[] => Array.from({ length: count }, (_, i) => ({
  objectId: randomUUID(), action: "create", outcome: "failed",
  columns: [{ column: "domainname", old: null, new: `${i}${v.name}` }, { column: "firstname", old: v.other, new: v.name }],
  error: { code: "0x80040220", message: v.message },
}));

describe("every Table writer stays within Azure Table limits (Azurite)", () => {
  it("sync: run reports and change rows, org state, pending disables, seen ids, scope members, carried-forward users", async () => {
    const runs = new RunStore(await freshTable("Runs"), await freshTable("RunItems"));
    const orgState = new OrgStateStore(await freshTable("Cursors"));
    await fc.assert(fc.asyncProperty(values, async (v) => {
      const report = oversizedReport(v);
      await runs.save(report);
      await runs.changeRows(report.runId, 0).append(changes(v, 30));
      const back = (await runs.get(report.runId))!;
      expect(back.errors.length + (back.errorsOmitted ?? 0)).toBe(v.errors + 1);
      expect(back.changes).toHaveLength(30);
      const org = `https://${v.name}`;
      await orgState.save({ org, cursor: `https://graph/delta?token=${v.other}`, cursorKind: "next", consecutiveFailures: 0, lastRunId: v.message });
      expect((await orgState.get(org)).cursor?.length).toBeGreaterThan(0);
      await orgState.addPendingDisables(org, Array.from({ length: 120 }, () => ({ systemUserId: randomUUID(), objectId: randomUUID(), reason: "deleted" as const, runId: v.message })));
      await orgState.addSeenIds(report.runId, 1, Array.from({ length: 1_000 }, () => randomUUID()));
      await orgState.saveScopeMembers(org, [{ group: randomUUID(), ids: Array.from({ length: 800 }, () => randomUUID()) }]);
      const ids = Array.from({ length: 150 }, () => randomUUID());
      await orgState.addRetries(org, ids);
      expect(await orgState.listRetries(org)).toHaveLength(150);
      await orgState.removeRetries(org, ids);
    }), { numRuns: 8 });
  });

  it("remap: journal, audit, idempotency, bulk jobs; leases", async () => {
    const journalTable = await freshTable("Journal");
    const journal = new RemapJournal(journalTable);
    const audit = new TableRemapAudit(journalTable);
    const idempotency = new IdempotencyStore(await freshTable("Idem"));
    const leases = new LeaseStore(await freshTable("Leases"));
    const jobs = await freshTable("Jobs");
    await fc.assert(fc.asyncProperty(values, async (v) => {
      const step = { step: "temporary" as const, domainName: v.name, outcome: "failed" as const, error: v.message, at: new Date().toISOString() };
      const entry = await journal.create({
        operationId: randomUUID(), org: `https://${v.name}`, systemUserId: randomUUID(), from: v.name, to: v.other, originalObjectId: null,
        targetObjectId: randomUUID(), placeholder: v.name, placeholderObjectId: randomUUID(), requestedBy: v.other, source: v.message,
        state: "step1", steps: Array.from({ length: 20 }, () => step),
      });
      await journal.update(entry, { lastError: v.message, steps: [...entry.steps, step] });
      await audit.record({ requestedBy: v.other, source: v.message, org: v.name, user: v.name, systemUserId: null, from: v.name, to: v.other, steps: entry.steps, outcome: "failed", status: 500, code: v.other, message: v.message, operationId: v.other });
      await idempotency.run(v.name, randomUUID(), { v }, async () => ({ status: 200, body: { text: v.message } }));
      await leases.acquire(v.name, v.other, 60_000, v.message);
      const deps = { orgs: ["https://org.example"], jobs, enqueue: async () => undefined } as unknown as BulkJobsDeps;
      await startBulkJob({ selection: { items: Array.from({ length: 150 }, (_, i) => ({ user: `${i}${v.name}`, newDomainName: v.other })) }, dryRun: false, requestedBy: v.message }, deps);
      await startBulkJob({ selection: { rule: { fromSuffix: v.name, toSuffix: v.other } }, dryRun: false, requestedBy: v.message }, deps);
    }), { numRuns: 8 });
  });

  it("notifications and tokens: subscription, debounce, seen jti, token audit", async () => {
    const subscriptions = new SubscriptionStore(await freshTable("Subs"));
    const debouncer = new SyncDebouncer({ client: await freshTable("Debounce"), enqueue: async () => undefined });
    const jti = new TableJtiStore(await freshTable("Jti"));
    const tokenAudit = new TableAuditSink(await freshTable("TokenAudit"));
    await fc.assert(fc.asyncProperty(values, async (v) => {
      await subscriptions.save({ subscriptionId: v.name, resource: v.other, notificationUrl: v.message, expirationDateTime: new Date().toISOString(), clientStateFingerprint: v.other, updatedAt: new Date().toISOString() });
      await debouncer.request(v.name);
      await jti.markUsed(v.name, v.message, new Date(Date.now() + 60_000));
      const time = new Date();
      await Promise.all(Array.from({ length: 120 }, () => tokenAudit.record(prepareAudit({
        outcome: "refused", caller: v.name, grant: v.message, method: v.other, target: v.message, error: v.other, reason: v.message, time,
      }))));
    }), { numRuns: 8 });
  });
});
