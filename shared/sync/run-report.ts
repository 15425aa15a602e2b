// The run report, as stored and as answered by GET /api/sync/runs/{runId}: an immutable record. A run never
// edits one; it accumulates into its own RunTally (run-tally.ts), which hands over a new record at each
// checkpoint.
import type { AccessChange } from "../access/plan.js";

export type RunState = "queued" | "running" | "succeeded" | "failed" | "halted";
export type RunMode = "incremental" | "full";

export interface RunCounts {
  scanned: number;
  created: number;
  updated: number;
  disabled: number;
  enabled: number;
  remapped: number;
  unchanged: number;
  skipped: number;
  failed: number;
  /** Users whose access (business unit, roles, teams) changed, or would on a dry run. */
  accessChanged: number;
}

/** What a change entry did to the user's record ("remap-needed": a remap planned while no remap procedure is available). */
export type ChangeAction = "create" | "update" | "enable" | "disable" | "remap" | "remap-needed" | "skip" | "access";

export interface ChangeEntry {
  objectId?: string;
  systemUserId?: string;
  /** The user's display name, from the run's own data (plan.ts `Person`). */
  displayName?: string;
  /** UPN, or DOMAIN\sam on premises. */
  logon?: string;
  action: ChangeAction;
  columns?: Array<{ column: string; old: string | null; new: string | null }>;
  reason?: string;
  /** Access changed (names): on the user's own entry as read, on an entry of action "access" as recorded. */
  access?: AccessChange;
  outcome?: "applied" | "planned" | "failed" | "pending-approval";
  error?: { code?: string; message: string };
  /** On a user's own entry carrying `access`: the access write's outcome and error, when they differ from its own. */
  accessOutcome?: "applied" | "planned" | "failed" | "pending-approval";
  accessError?: { code?: string; message: string };
}

export interface RunError {
  objectId?: string;
  systemUserId?: string;
  code?: string;
  message: string;
  at: string;
}

/** Why a run halted: the disables (and access removals) it held back for approval. */
export interface RunHalt {
  readonly pendingDisables: number;
  readonly limit: number;
  readonly threshold: string;
  readonly approvedBy?: string;
  /** Access removals held by ACCESS_REMOVAL_THRESHOLD (absent when access did not halt the run). */
  readonly access?: { readonly removals: number; readonly limit: number; readonly threshold: string };
}

/** A run's stored record without its change list (GET /api/sync/runs lists these). */
export interface RunSummary {
  readonly runId: string;
  readonly org: string;
  readonly mode: RunMode;
  readonly dryRun: boolean;
  readonly state: RunState;
  readonly trigger: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly counts: Readonly<RunCounts>;
  /** Changes recorded beyond those listed (non-dry runs keep a capped list). */
  readonly changesOmitted: number;
  readonly errors: readonly RunError[];
  /** Errors recorded beyond those listed (the list is capped so the stored report stays within Table limits). */
  readonly errorsOmitted?: number;
  readonly halt?: RunHalt;
  /** Set when a full round was forced by an expired or reset delta cursor. */
  readonly resync?: string;
}

/** A run's record with its change list, as read back from the run store. */
export interface RunReport extends RunSummary {
  readonly changes: readonly ChangeEntry[];
}

/** Appends changes to the run's list (the tally counts them and the run store keeps the listed ones). */
export type RecordChanges = (entries: readonly ChangeEntry[]) => Promise<void>;

export const emptyCounts = (): RunCounts => ({ scanned: 0, created: 0, updated: 0, disabled: 0, enabled: 0, remapped: 0, unchanged: 0, skipped: 0, failed: 0, accessChanged: 0 });

/** Non-dry runs list at most this many changes; dry runs list all of them. */
export const CHANGE_LIST_CAP = 500;
export const ERROR_LIST_CAP = 200;
/** Each string of a listed error or change (messages, names, column values) is cut to this, with a marker. */
export const ENTRY_TEXT_CAP = 1_000;

export interface PagedRunReport extends RunReport {
  /** Changes recorded for the run (all pages). */
  readonly changesTotal: number;
  /** Query of the next page of changes, when there is one. */
  readonly changesNext?: { offset: number; limit: number };
}

/** The report with one page of its change list (a 100k-user dry run does not go out in one response). */
export function pageOfChanges(report: RunReport, page: { offset: number; limit: number }): PagedRunReport {
  const total = report.changes.length;
  const end = Math.min(total, page.offset + page.limit);
  return {
    ...report,
    changes: report.changes.slice(page.offset, end),
    changesTotal: total,
    ...(end < total ? { changesNext: { offset: end, limit: page.limit } } : {}),
  };
}
