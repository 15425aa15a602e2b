// The disable threshold: a run planning MORE disables than the threshold halts before disabling anyone.
// `{count: 500}` allows up to 500; `{percent: 5}` allows up to 5% of the org's managed users, rounded down
// (so 5% of 10 users allows none). The caller picks the base; we recommend enabled, non-protected records
// (`UserIndex.stats().managedEnabled`): the users a disable can actually affect.
import type { DisableThreshold } from "./domain.js";

/** The most disables one run may apply without approval. */
export function disableLimit(threshold: DisableThreshold, totalManagedUsers: number): number {
  if ("count" in threshold) return Math.floor(threshold.count);
  // The epsilon keeps exact shares exact (e.g. 0.1% of 3000 = 3, not 2.9999…).
  return Math.floor((threshold.percent * Math.max(0, totalManagedUsers)) / 100 + 1e-9);
}

/**
 * The smallest base whose share admits `count` (a count past which counting more cannot change the decision);
 * undefined for a count threshold, or a share that admits none.
 */
export function smallestBaseAdmitting(count: number, threshold: DisableThreshold): number | undefined {
  if (!("percent" in threshold) || threshold.percent <= 0) return undefined;
  let base = Math.max(0, Math.ceil((count * 100) / threshold.percent) - 1);
  while (disableLimit(threshold, base) < count) base++;
  return base;
}

export function exceedsDisableThreshold(disableCount: number, totalManagedUsers: number, threshold: DisableThreshold): boolean {
  return disableCount > disableLimit(threshold, totalManagedUsers);
}

/** The threshold as configured: `500` or `5%`. */
export function formatDisableThreshold(threshold: DisableThreshold): string {
  return "count" in threshold ? String(threshold.count) : `${threshold.percent}%`;
}

export interface ThresholdCheck {
  threshold: string;
  limit: number;
  disables: number;
  managedUsers: number;
  exceeded: boolean;
  /** One sentence for the run report. */
  message: string;
}

/** The check as the run report shows it. */
export function describeDisableThreshold(disableCount: number, totalManagedUsers: number, threshold: DisableThreshold): ThresholdCheck {
  const limit = disableLimit(threshold, totalManagedUsers);
  const exceeded = disableCount > limit;
  const base = "count" in threshold
    ? `threshold ${threshold.count}`
    : `threshold ${threshold.percent}% of ${totalManagedUsers} managed users = ${limit}`;
  const message = exceeded
    ? `${disableCount} disables planned, more than the ${base}: halted before disabling anyone, approve the run to go on`
    : `${disableCount} disables planned, within the ${base}`;
  return { threshold: formatDisableThreshold(threshold), limit, disables: disableCount, managedUsers: totalManagedUsers, exceeded, message };
}
