// The run's tally: the one object a run mutates, handing over frozen records; its counts follow from the changes
// it records (and the few counts no entry stands for), whatever the mix and however the list is capped.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { z } from "zod";
import type { orgStatus, runSummary } from "../../shared/openapi/responses.js";
import type { OrgSyncStatus } from "../../shared/sync/org-status.js";
import { CHANGE_LIST_CAP, ERROR_LIST_CAP, type ChangeAction, type ChangeEntry, type RunCounts, type RunSummary } from "../../shared/sync/run-report.js";
import { RunTally, type UnlistedCount } from "../../shared/sync/run-tally.js";

/** The documented members of a response schema (open objects' index signatures left out), read-only all the way down. */
type Documented<S extends z.ZodType> = Known<z.input<S>>;
type Known<T> = T extends Array<infer U> ? ReadonlyArray<Known<U>> : T extends object ? { readonly [K in keyof T as string extends K ? never : K]: Known<T[K]> } : T;

const AT = "2026-01-01T00:00:00.000Z";
const tally = (dryRun: boolean) => RunTally.queued({ org: "https://contoso.crm.dynamics.com", mode: "full", dryRun, trigger: "test" });
const ACCESS = { rolesAdded: ["Salesperson"], rolesRemoved: [], teamsAdded: [], teamsRemoved: [] };

const entry: fc.Arbitrary<ChangeEntry> = fc.record({
  objectId: fc.uuid(),
  action: fc.constantFrom<ChangeAction>("create", "update", "enable", "disable", "remap", "remap-needed", "skip", "access"),
  outcome: fc.constantFrom("applied" as const, "planned" as const, "failed" as const, "pending-approval" as const),
  withAccess: fc.boolean(),
}).map(({ withAccess, ...e }) => (withAccess || e.action === "access" ? { ...e, access: ACCESS } : e));

type Step = { entries: ChangeEntry[] } | { unlisted: UnlistedCount; by: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ entries: fc.array(entry, { maxLength: 40 }) }),
  fc.record({ unlisted: fc.constantFrom<UnlistedCount>("scanned", "unchanged", "skipped"), by: fc.integer({ min: 1, max: 5 }) }),
);

/** The counts a report states, worked out from its listed changes alone (the rule the report documents). */
function countsFromChanges(changes: readonly ChangeEntry[], unlisted: Record<UnlistedCount, number>): RunCounts {
  const done = (e: ChangeEntry) => e.outcome === "applied" || e.outcome === "planned";
  const of = (...actions: ChangeAction[]) => changes.filter((e) => done(e) && actions.includes(e.action)).length;
  return {
    scanned: unlisted.scanned, unchanged: unlisted.unchanged,
    created: of("create"), updated: of("update"), enabled: of("enable"), disabled: of("disable"), remapped: of("remap"),
    skipped: of("skip", "remap-needed") + unlisted.skipped,
    failed: changes.filter((e) => e.outcome === "failed").length,
    accessChanged: changes.filter((e) => done(e) && e.access).length,
  };
}

describe("run tally", () => {
  it("a dry run's counts equal what its listed changes say, whatever the mix and batches", () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
      const run = tally(true);
      const listed: ChangeEntry[] = [];
      const unlisted = { scanned: 0, unchanged: 0, skipped: 0 };
      for (const s of steps) {
        if ("entries" in s) listed.push(...run.recordChanges(s.entries));
        else { run.count(s.unlisted, s.by); unlisted[s.unlisted] += s.by; }
      }
      const record = run.snapshot();
      expect(listed).toHaveLength(steps.reduce((n, s) => n + ("entries" in s ? s.entries.length : 0), 0));
      expect(record.counts).toEqual(countsFromChanges(listed, unlisted));
      expect(record.changesOmitted).toBe(0);
    }));
  });

  it("a non-dry run lists the first CHANGE_LIST_CAP changes and still counts every one", () => {
    const run = tally(false);
    const creates: ChangeEntry[] = Array.from({ length: CHANGE_LIST_CAP - 100 }, () => ({ action: "create", outcome: "applied" }));
    const fails: ChangeEntry[] = Array.from({ length: 250 }, () => ({ action: "update", outcome: "failed" }));
    expect(run.recordChanges(creates)).toHaveLength(CHANGE_LIST_CAP - 100);
    expect(run.recordChanges(fails)).toEqual(fails.slice(0, 100));
    expect(run.recordChanges([{ action: "disable", outcome: "applied" }])).toEqual([]);
    const record = run.snapshot();
    expect(record.counts).toMatchObject({ created: CHANGE_LIST_CAP - 100, failed: 250, disabled: 1 });
    expect(record.changesOmitted).toBe(151);
    expect(run.listed).toBe(CHANGE_LIST_CAP);
  });

  it("changes held for approval are listed but not counted", () => {
    const run = tally(false);
    run.recordChanges([{ action: "disable", outcome: "pending-approval" }, { action: "access", access: ACCESS, outcome: "pending-approval" }]);
    expect(run.snapshot().counts).toEqual(countsFromChanges([], { scanned: 0, unchanged: 0, skipped: 0 }));
  });

  it("hands over deeply frozen records that later work does not change", () => {
    const run = tally(false);
    run.start(AT);
    run.recordErrors([{ objectId: "a", code: "0x80040220", message: "denied", at: AT }]);
    run.halt({ pendingDisables: 7, limit: 5, threshold: "5" });
    const record = run.snapshot();
    expect(Object.isFrozen(record)).toBe(true);
    for (const part of [record.counts, record.errors, record.errors[0], record.halt]) expect(Object.isFrozen(part)).toBe(true);
    expect(() => { (record.counts as RunCounts).created = 9; }).toThrow(TypeError);
    expect(() => { (record.errors as unknown[]).push({}); }).toThrow(TypeError);
    expect(() => { (record as { state: string }).state = "succeeded"; }).toThrow(TypeError);

    run.recordChanges([{ action: "create", outcome: "applied" }]);
    run.approve("ops-app");
    run.fail({ code: "lease_lost", message: "lost the lease" }, AT);
    expect(record).toMatchObject({ state: "halted", counts: { created: 0 }, errors: [{ message: "denied" }], halt: { pendingDisables: 7 } });
    expect(record.halt?.approvedBy).toBeUndefined();
    expect(run.snapshot()).toMatchObject({ state: "failed", finishedAt: AT, counts: { created: 1 }, halt: { approvedBy: "ops-app" } });
  });

  it("lists ERROR_LIST_CAP per-user errors, counts the rest, and keeps a run-level failure past the cap", () => {
    const run = tally(false);
    run.recordErrors(Array.from({ length: ERROR_LIST_CAP + 30 }, (_, i) => ({ objectId: String(i), message: "x".repeat(5_000), at: AT })));
    run.fail({ message: "the run failed" }, AT);
    const record = run.snapshot();
    expect(record.errors).toHaveLength(ERROR_LIST_CAP + 1);
    expect(record.errorsOmitted).toBe(30);
    expect(record.errors[0]!.message.length).toBeLessThan(1_100);
    expect(record.errors.at(-1)).toEqual({ message: "the run failed", at: AT });
  });

  it("a resumed run goes on from its stored record: counts, errors, listed changes", () => {
    const first = tally(true);
    const listed = first.recordChanges([{ action: "create", outcome: "planned" }, { action: "skip", outcome: "planned" }]);
    first.count("scanned", 2);
    const resumed = RunTally.resume({ ...first.snapshot(), changes: listed });
    expect(resumed.listed).toBe(2);
    resumed.recordChanges([{ action: "create", outcome: "planned" }]);
    resumed.setMode("incremental");
    expect(resumed.snapshot()).toMatchObject({ mode: "incremental", counts: { scanned: 2, created: 2, skipped: 1 } });
  });

  it("the records and statuses are the shapes the HTTP API documents (checked by the compiler)", () => {
    const asDocumented = (record: RunSummary, status: OrgSyncStatus): [Documented<typeof runSummary>, Documented<typeof orgStatus>] => [record, status];
    expect(asDocumented(tally(true).snapshot(), {
      org: "https://contoso.crm.dynamics.com", state: "idle", lastRunId: null, lastOutcome: null, lastFinishedAt: null, haltedRunId: null,
      cursorAgeSeconds: null, backoffUntil: null, consecutiveFailures: 0, nextScheduledRun: null,
    })).toHaveLength(2);
  });
});
