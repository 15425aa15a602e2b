// A run's working accumulator: the one object a sync run mutates. Counts, the listed changes' bookkeeping,
// capped errors, mode, state and halt live here while the run works; at each checkpoint it hands the run store
// a finished record (`snapshot`), frozen, so no stored or returned report is ever edited in place.
import { randomUUID } from "node:crypto";
import { capStrings } from "../state/table-limits.js";
import { accessRidesOn, ACCESS_ACTION, entryUserKey } from "../access/report-entries.js";
import {
  CHANGE_LIST_CAP, ENTRY_TEXT_CAP, ERROR_LIST_CAP, emptyCounts,
  type ChangeAction, type ChangeEntry, type RunCounts, type RunError, type RunHalt, type RunMode, type RunReport, type RunState, type RunSummary,
} from "./run-report.js";

/** Counts with no listed entry: every change read, changes that need nothing, and skips not worth listing. */
export type UnlistedCount = "scanned" | "unchanged" | "skipped";

/** The count a planned or applied change adds, by its action (access is counted by the entry's `access`). */
const COUNT_OF_ACTION: Readonly<Record<ChangeAction, keyof RunCounts | undefined>> = {
  create: "created", update: "updated", enable: "enabled", disable: "disabled", remap: "remapped",
  "remap-needed": "skipped", skip: "skipped", access: undefined,
};

/**
 * The counts one recorded change adds: a failed change counts as failed; a planned or applied one by its action,
 * and as accessChanged when it carries access; one held for approval counts nothing (it has not happened).
 */
export function countsOf(entry: ChangeEntry): Array<keyof RunCounts> {
  if (entry.outcome === "failed") return ["failed"];
  if (entry.outcome !== "planned" && entry.outcome !== "applied") return [];
  const byAction = COUNT_OF_ACTION[entry.action];
  return [...(byAction ? [byAction] : []), ...(entry.access ? ["accessChanged" as const] : [])];
}

export interface NewRun {
  org: string;
  mode: RunMode;
  dryRun: boolean;
  trigger: string;
  runId?: string;
}

export class RunTally {
  readonly runId: string;
  readonly org: string;
  readonly dryRun: boolean;
  private readonly trigger: string;
  private readonly counts: RunCounts;
  private readonly errors: RunError[];
  private currentMode: RunMode;
  private state: RunState;
  private startedAt: string | null;
  private finishedAt: string | null;
  /** Changes in the run's list so far (earlier attempts included): the cap and the change rows' numbering start here. */
  private changesListed: number;
  /** Listed entries that take room under CHANGE_LIST_CAP: an access entry riding on its user's listed entry takes none. */
  private changesCapped = 0;
  /** Users whose own entry this run listed and whose access entry may still ride on it (access/report-entries.ts). */
  private readonly ridable = new Set<string>();
  private changesOmitted: number;
  private errorsOmitted: number;
  private haltedBy: RunHalt | undefined;
  private resync: string | undefined;

  private constructor(record: RunSummary, listed: readonly ChangeEntry[] | number) {
    this.runId = record.runId;
    this.org = record.org;
    this.dryRun = record.dryRun;
    this.trigger = record.trigger;
    this.counts = { ...emptyCounts(), ...record.counts };
    this.errors = [...record.errors];
    this.currentMode = record.mode;
    this.state = record.state;
    this.startedAt = record.startedAt;
    this.finishedAt = record.finishedAt;
    this.changesListed = 0;
    if (typeof listed === "number") this.changesListed = this.changesCapped = listed;
    else {
      for (const entry of listed) this.list(entry);
      this.changesListed = listed.length;
    }
    this.changesOmitted = record.changesOmitted;
    this.errorsOmitted = record.errorsOmitted ?? 0;
    this.haltedBy = record.halt;
    this.resync = record.resync;
  }

  /** A new run, queued. */
  static queued(run: NewRun): RunTally {
    const record: RunSummary = {
      runId: run.runId ?? randomUUID(), org: run.org, mode: run.mode, dryRun: run.dryRun, state: "queued", trigger: run.trigger,
      startedAt: null, finishedAt: null, counts: emptyCounts(), changesOmitted: 0, errors: [],
    };
    return new RunTally(record, 0);
  }

  /** Goes on from a stored record (a redelivered run, an approval, a run found interrupted). */
  static resume(report: RunReport): RunTally {
    return new RunTally(report, report.changes);
  }

  get mode(): RunMode {
    return this.currentMode;
  }

  /** Changes listed so far: where the run's next change rows are numbered from. */
  get listed(): number {
    return this.changesListed;
  }

  /** Who approved the halted run this run continues, if anyone. */
  get approvedBy(): string | undefined {
    return this.haltedBy?.approvedBy;
  }

  /** The round turned out full or incremental (a saved full round continued, an expired cursor, ...). */
  setMode(mode: RunMode): void {
    this.currentMode = mode;
  }

  start(at: string): void {
    this.state = "running";
    this.startedAt ??= at;
  }

  count(what: UnlistedCount, by = 1): void {
    this.counts[what] += by;
  }

  /**
   * Counts the changes (countsOf) and returns those the report lists: all of them on a dry run, else the first
   * CHANGE_LIST_CAP of the run; the rest are counted in changesOmitted.
   */
  recordChanges(entries: readonly ChangeEntry[]): readonly ChangeEntry[] {
    const listed: ChangeEntry[] = [];
    for (const entry of entries) {
      for (const count of countsOf(entry)) this.counts[count]++;
      if (this.list(entry)) listed.push(entry);
      else this.changesOmitted++;
    }
    return listed;
  }

  /**
   * Whether the entry goes on the list: always on a dry run; else within the first CHANGE_LIST_CAP entries, or
   * riding on its user's listed entry (an access entry, folded into that entry when the report is read).
   */
  private list(entry: ChangeEntry): boolean {
    const rides = accessRidesOn(entry, this.ridable);
    if (!rides && !this.dryRun && this.changesCapped >= CHANGE_LIST_CAP) return false;
    this.changesListed++;
    if (rides) return true;
    this.changesCapped++;
    const user = entry.action === ACCESS_ACTION ? undefined : entryUserKey(entry);
    if (user !== undefined && !this.dryRun) this.ridable.add(user);
    return true;
  }


  /**
   * Per-user errors: at most ERROR_LIST_CAP are listed (the first ones: they name the cause while later ones tend
   * to repeat it), each string capped; the rest are counted in errorsOmitted.
   */
  recordErrors(errors: readonly RunError[]): void {
    for (const error of errors) {
      if (this.errors.length < ERROR_LIST_CAP) this.errors.push(capStrings(error, ENTRY_TEXT_CAP));
      else this.errorsOmitted++;
    }
  }

  /** An expired or reset delta cursor forced a full round. */
  resynced(upstreamCode: string): void {
    this.resync = upstreamCode;
  }

  succeed(): void {
    this.state = "succeeded";
  }

  halt(halt: RunHalt): void {
    this.state = "halted";
    this.haltedBy = halt;
  }

  approve(approvedBy: string): void {
    this.haltedBy = { ...this.haltedBy!, approvedBy };
  }

  /** The run failed: its cause is listed last, past the cap (the stored record keeps the last error). */
  fail(error: { code?: string; message: string }, at: string): void {
    this.state = "failed";
    this.finishedAt = at;
    this.errors.push(capStrings({ ...(error.code === undefined ? {} : { code: error.code }), message: error.message, at }, ENTRY_TEXT_CAP));
  }

  /** The run ended (succeeded or halted): its final record. */
  finish(at: string): RunSummary {
    this.finishedAt = at;
    return this.snapshot();
  }

  /** The record as it stands, frozen: what the run store saves at a checkpoint. */
  snapshot(): RunSummary {
    return deepFreeze<RunSummary>({
      runId: this.runId, org: this.org, mode: this.currentMode, dryRun: this.dryRun, state: this.state, trigger: this.trigger,
      startedAt: this.startedAt, finishedAt: this.finishedAt, counts: { ...this.counts }, changesOmitted: this.changesOmitted,
      errors: [...this.errors],
      ...(this.errorsOmitted > 0 ? { errorsOmitted: this.errorsOmitted } : {}),
      ...(this.haltedBy ? { halt: this.haltedBy } : {}),
      ...(this.resync === undefined ? {} : { resync: this.resync }),
    });
  }
}

/** Freezes a plain record and everything in it (the tally shares errors and the halt with its records, unchanged). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
