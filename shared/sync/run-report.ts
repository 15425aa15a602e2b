// The run report, as stored and as answered by GET /api/sync/runs/{runId}.
import { capStrings } from "../state/table-limits.js";
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

export interface ChangeEntry {
  objectId?: string;
  systemUserId?: string;
  /** The user's display name, from the run's own data (plan.ts `Person`). */
  displayName?: string;
  /** UPN, or DOMAIN\sam on premises. */
  logon?: string;
  action: string;
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

export interface RunReport {
  runId: string;
  org: string;
  mode: RunMode;
  dryRun: boolean;
  state: RunState;
  trigger: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: RunCounts;
  changes: ChangeEntry[];
  /** Changes recorded beyond those listed (non-dry runs keep a capped list). */
  changesOmitted: number;
  errors: RunError[];
  /** Errors recorded beyond those listed (the list is capped so the stored report stays within Table limits). */
  errorsOmitted?: number;
  halt?: {
    pendingDisables: number;
    limit: number;
    threshold: string;
    approvedBy?: string;
    /** Access removals held by ACCESS_REMOVAL_THRESHOLD (absent when access did not halt the run). */
    access?: { removals: number; limit: number; threshold: string };
  };
  /** Set when a full round was forced by an expired or reset delta cursor. */
  resync?: string;
}

export const emptyCounts = (): RunCounts => ({ scanned: 0, created: 0, updated: 0, disabled: 0, enabled: 0, remapped: 0, unchanged: 0, skipped: 0, failed: 0, accessChanged: 0 });

/** Non-dry runs list at most this many changes; dry runs list all of them. */
export const CHANGE_LIST_CAP = 500;
export const ERROR_LIST_CAP = 200;
/** Each string of a listed error or change (messages, names, column values) is cut to this, with a marker. */
export const ENTRY_TEXT_CAP = 1_000;

/**
 * Adds per-user errors to the report: at most ERROR_LIST_CAP are listed (the first ones: they name the cause
 * while later ones tend to repeat it), each string capped; the rest are counted in errorsOmitted.
 */
export function recordErrors(report: RunReport, errors: readonly RunError[]): void {
  for (const error of errors) {
    if (report.errors.length < ERROR_LIST_CAP) report.errors.push(capStrings(error, ENTRY_TEXT_CAP));
    else report.errorsOmitted = (report.errorsOmitted ?? 0) + 1;
  }
}

export interface PagedRunReport extends RunReport {
  /** Changes recorded for the run (all pages). */
  changesTotal: number;
  /** Query of the next page of changes, when there is one. */
  changesNext?: { offset: number; limit: number };
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
