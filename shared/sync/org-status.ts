// Each org's sync status, as GET /api/sync/status answers it (and the CLI's `status`, the console's overview
// and the cursor-age and backing-off gauges read it): worked out from the org's saved state and its lease.
import { nextOccurrence } from "../config/ncrontab.js";
import type { Lease } from "../state/leases.js";
import type { OrgSyncState } from "./org-state-store.js";
import type { RunState } from "./run-report.js";

/** Halted (waiting for approval) wins over running, running over backing off. */
export type OrgRunState = "idle" | "running" | "halted" | "backing-off";

export interface OrgSyncStatus {
  readonly org: string;
  readonly state: OrgRunState;
  /** The run holding the org's lease, while one does. */
  readonly runningRunId?: string;
  readonly lastRunId: string | null;
  readonly lastOutcome: RunState | null;
  readonly lastFinishedAt: string | null;
  readonly haltedRunId: string | null;
  /** How old the saved delta cursor is; null before the first cursor. */
  readonly cursorAgeSeconds: number | null;
  /** Set while the org backs off after failed runs (the timer skips it until then). */
  readonly backoffUntil: string | null;
  readonly consecutiveFailures: number;
  readonly nextScheduledRun: string | null;
}

export function orgSyncStatus(org: string, state: OrgSyncState, lease: Lease | undefined, now: Date, schedule: string): OrgSyncStatus {
  const running = lease !== undefined && lease.expiresAt > now.getTime();
  const backoffUntil = state.backoffUntil !== undefined && Date.parse(state.backoffUntil) > now.getTime() ? state.backoffUntil : null;
  return {
    org,
    state: state.haltedRunId ? "halted" : running ? "running" : backoffUntil ? "backing-off" : "idle",
    ...(running ? { runningRunId: lease.note } : {}),
    lastRunId: state.lastRunId ?? null,
    lastOutcome: state.lastOutcome ?? null,
    lastFinishedAt: state.lastFinishedAt ?? null,
    haltedRunId: state.haltedRunId ?? null,
    cursorAgeSeconds: state.cursorSavedAt ? Math.round((now.getTime() - Date.parse(state.cursorSavedAt)) / 1000) : null,
    backoffUntil,
    consecutiveFailures: state.consecutiveFailures,
    nextScheduledRun: nextOccurrence(schedule, now)?.toISOString() ?? null,
  };
}
