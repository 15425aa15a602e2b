// The sync run lifecycle: start (one run per org, guarded by a lease), execute (the queue worker), approve a
// halted run, read reports and per-org status, and the timer's fan-out. A run's lease is renewed while it
// works; a process that dies stops renewing and frees its org within LEASE_MS.
import { AppError, describeError, errorMessage, isAppError, systemCode } from "../errors/app-error.js";
import { isDataverseError } from "../dataverse/errors.js";
import type { LeaseStore } from "../state/leases.js";
import type { OrgStateStore } from "./org-state-store.js";
import { applyPendingDisables, runOrgSync, type OrgSyncDependencies, type SyncSettings } from "./run-org-sync.js";
import type { RecordChanges, RunMode, RunReport, RunSummary } from "./run-report.js";
import type { RunStore } from "./run-store.js";
import { RunTally } from "./run-tally.js";
import { orgSyncStatus, type OrgSyncStatus } from "./org-status.js";
import { UserIndex } from "./user-index.js";
import { anchorColumn } from "./identity.js";
import { resolveOrg } from "../config/org-url.js";
import { traceCarrier, type TraceCarrier } from "../telemetry/tracing.js";
import { applyApprovedAccess } from "../access/run-access.js";
import { foldAccessEntries } from "../access/report-entries.js";

export const LEASE_MS = 90_000;
const RENEW_MS = 30_000;

/** The run stopped because its lease could not be kept: another instance may hold the org by now. */
export class LeaseLostError extends AppError<"lease_lost"> {
  override name = "LeaseLostError";
  constructor(message: string) {
    super(message, undefined, "lease_lost");
  }
}

/**
 * Renews a lease every `renewMs` until stopped. A renewal that answers "not held" loses the lease at once; one
 * that throws (a storage blip) is retried at the next tick, but once the failures since the last success leave
 * no room for another attempt before the lease lapses, the lease counts as lost too — the work must stop rather
 * than go on unguarded while another instance takes the org over.
 */
export function keepLease(renew: () => Promise<boolean>, timing: { leaseMs: number; renewMs: number }, onLost: (error: LeaseLostError) => void): () => void {
  const allowedFailures = Math.max(0, Math.floor(timing.leaseMs / timing.renewMs) - 2);
  let failures = 0;
  let lost = false;
  const lose = (why: string) => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    onLost(new LeaseLostError(why));
  };
  const timer = setInterval(() => {
    renew().then((held) => {
      failures = 0;
      if (!held) lose("the lease was taken over");
    }, (error: unknown) => {
      failures += 1;
      if (failures > allowedFailures) lose(`${failures} lease renewals failed in a row (${describeError(error, 200)})`);
    });
  }, timing.renewMs);
  timer.unref();
  return () => clearInterval(timer);
}

export interface SyncRunMessage extends TraceCarrier {
  org: string;
  runId: string;
  /** Continue a halted run after approval. */
  approved?: boolean;
}

export interface SyncServices {
  orgs: readonly string[];
  settings: SyncSettings;
  /** Per-org settings when orgs differ (on-premises orgs name users differently); `settings` otherwise. */
  orgSettings?: (org: string) => SyncSettings;
  schedule: string;
  defaultDryRun: boolean;
  leases: LeaseStore;
  runs: RunStore;
  orgState: OrgStateStore;
  enqueue: (message: SyncRunMessage) => Promise<void>;
  orgDependencies: (org: string) => Omit<OrgSyncDependencies, "orgState" | "runs" | "recordChanges">;
  log: (message: string) => void;
  now?: () => Date;
  /** Lease length and renewal period (tests shorten them). */
  leaseTiming?: { leaseMs: number; renewMs: number };
  /** Told when a run starts reading and when it ends (notification debounce); its failures never fail a run. */
  observer?: RunObserver;
}

export interface RunObserver {
  started(org: string, runId: string): Promise<void>;
  finished(org: string, runId: string): Promise<void>;
}

const leaseKey = (org: string) => `sync:${org}`;

/** The run's change list: counted by its tally, the listed entries appended to its change rows. */
function changeRecorder(tally: RunTally, runs: RunStore): RecordChanges {
  const rows = runs.changeRows(tally.runId, tally.listed);
  return (entries) => rows.append(tally.recordChanges(entries));
}

/** The run is over: it succeeded or failed, or it halted and this message does not carry the approval. */
const isOver = (report: RunSummary, approved: boolean | undefined) =>
  report.state === "succeeded" || report.state === "failed" || (report.state === "halted" && !approved);

export class SyncRuns {
  constructor(private readonly services: SyncServices) {}

  private settingsOf(org: string): SyncSettings {
    return this.services.orgSettings?.(org) ?? this.services.settings;
  }

  private get now(): Date {
    return this.services.now?.() ?? new Date();
  }

  private org(org: string | undefined): string {
    return resolveOrg(this.services.orgs, org);
  }

  /** Queues a run; 409 (naming the running run) while another holds the org or the org is halted. */
  async start(input: { org?: string; mode?: RunMode; dryRun?: boolean; trigger: string }): Promise<RunSummary> {
    const org = this.org(input.org);
    const state = await this.services.orgState.get(org);
    if (state.haltedRunId) {
      throw new AppError(`Run ${state.haltedRunId} for ${org} is halted by a threshold (disables or access removals): approve it first.`, 409, "run_halted", { detail: { runId: state.haltedRunId } });
    }
    const report = RunTally.queued({ org, mode: input.mode ?? "incremental", dryRun: input.dryRun ?? this.services.defaultDryRun, trigger: input.trigger }).snapshot();
    const lease = await this.services.leases.acquire(leaseKey(org), report.runId, LEASE_MS, report.runId);
    if (!lease.acquired) {
      throw new AppError(`A run for ${org} is already in progress.`, 409, "run_in_progress", { detail: { runId: lease.current.note } });
    }
    await this.services.runs.save(report);
    await this.services.enqueue({ org, runId: report.runId, ...traceCarrier() });
    return report;
  }

  /** The queue worker: runs (or continues after approval) one org's sync. Rethrows after recording a failure. */
  async execute(message: SyncRunMessage, abortSignal?: AbortSignal): Promise<RunSummary> {
    const { org, runId } = message;
    const stored = await this.services.runs.get(runId);
    if (stored && isOver(stored, message.approved)) return stored;
    const tally = stored ? RunTally.resume(stored) : RunTally.queued({ org, mode: "incremental", dryRun: this.services.defaultDryRun, trigger: "queue", runId });
    const lease = await this.services.leases.acquire(leaseKey(org), runId, LEASE_MS, runId);
    if (!lease.acquired) {
      tally.fail({ message: `superseded: run ${lease.current.note} holds ${org}` }, this.now.toISOString());
      const record = tally.snapshot();
      await this.services.runs.save(record);
      return record;
    }
    return this.executeHoldingLease(tally, message, abortSignal);
  }

  /** Runs with the org's lease held: renewed meanwhile (a lost lease aborts the run), released at the end. */
  private async executeHoldingLease(tally: RunTally, message: SyncRunMessage, abortSignal?: AbortSignal): Promise<RunSummary> {
    const { org, runId } = message;
    const controller = new AbortController();
    const onAbort = () => controller.abort(abortSignal?.reason);
    abortSignal?.addEventListener("abort", onAbort);
    const timing = this.services.leaseTiming ?? { leaseMs: LEASE_MS, renewMs: RENEW_MS };
    const stopRenewing = keepLease(() => this.services.leases.renew(leaseKey(org), runId, timing.leaseMs), timing, (lost) => {
      lost.message = `lost the lease on ${org}: ${lost.message}`;
      controller.abort(lost);
    });

    const deps: OrgSyncDependencies = {
      ...this.services.orgDependencies(org), orgState: this.services.orgState, runs: this.services.runs,
      recordChanges: changeRecorder(tally, this.services.runs), now: this.services.now,
    };
    try {
      return await this.perform(tally, message, deps, controller.signal);
    } catch (thrown) {
      // Whatever the abort surfaced as, a lost lease is the cause to report.
      const error = controller.signal.reason instanceof LeaseLostError ? controller.signal.reason : thrown;
      await this.recordFailure(tally, message, error);
      throw error;
    } finally {
      stopRenewing();
      abortSignal?.removeEventListener("abort", onAbort);
      await this.services.leases.release(leaseKey(org), runId).catch(() => undefined);
      await this.tellObserver("finished", org, runId);
    }
  }

  /** The run itself (a sync round, or the approved disables), then its outcome on the org's state; returns its record. */
  private async perform(tally: RunTally, message: SyncRunMessage, deps: OrgSyncDependencies, abortSignal: AbortSignal): Promise<RunSummary> {
    const { org, runId } = message;
    await this.markInterrupted(org, runId);
    await this.tellObserver("started", org, runId);
    tally.start(this.now.toISOString());
    await this.services.runs.save(tally.snapshot());
    await this.services.orgState.update(org, (s) => { s.lastRunId = runId; });
    if (message.approved) await this.applyApproved(tally, deps, abortSignal);
    else await runOrgSync(tally, this.settingsOf(org), deps, abortSignal);
    const record = tally.finish(this.now.toISOString());
    await this.services.orgState.update(org, (s) => {
      s.lastOutcome = record.state;
      s.lastFinishedAt = record.finishedAt!;
      s.consecutiveFailures = 0;
      s.backoffUntil = undefined;
      s.haltedRunId = record.state === "halted" ? runId : undefined;
    });
    await this.services.runs.save(record);
    this.services.log(`sync ${org} run ${runId} ${record.state}: ${JSON.stringify(record.counts)}`);
    return record;
  }

  /**
   * An approved halted run: the disables and access it held back, applied. The disables are known records (by
   * systemuserid), so no index of the org is read: an empty one takes the applied writes.
   */
  private async applyApproved(tally: RunTally, deps: OrgSyncDependencies, abortSignal: AbortSignal): Promise<void> {
    const settings = this.settingsOf(tally.org);
    const pending = await this.services.orgState.listPendingDisables(tally.org);
    await applyPendingDisables(tally, pending, new UserIndex(settings.map, anchorColumn(settings.identity)), deps, abortSignal);
    await applyApprovedAccess(tally, settings.access, deps, deps.recordChanges, abortSignal);
    tally.succeed();
  }

  private async tellObserver(event: keyof RunObserver, org: string, runId: string): Promise<void> {
    await this.services.observer?.[event](org, runId).catch((error: unknown) =>
      this.services.log(`sync ${org} run ${runId}: could not note that it ${event}: ${describeError(error)}`));
  }

  /** Records a failed run on its record and (unless the lease was lost) on the org's state, with a back-off. */
  private async recordFailure(tally: RunTally, message: SyncRunMessage, error: unknown): Promise<void> {
    const { org, runId } = message;
    const finishedAt = this.now.toISOString();
    tally.fail({ code: reportedCode(error), message: errorMessage(error) }, finishedAt);
    await this.services.runs.save(tally.snapshot()).catch(() => undefined);
    if (error instanceof LeaseLostError) {
      // The org's state now belongs to whoever holds the lease: no outcome or back-off written over theirs.
      this.services.log(`sync ${org} run ${runId} stopped: ${error.message}`);
      return;
    }
    await this.services.orgState.update(org, (s) => {
      s.lastOutcome = "failed";
      s.lastFinishedAt = finishedAt;
      s.consecutiveFailures += 1;
      // Repeated failures back off: 1, 2, 4 … 60 minutes (the timer skips the org meanwhile).
      s.backoffUntil = new Date(this.now.getTime() + Math.min(60, 2 ** (s.consecutiveFailures - 1)) * 60_000).toISOString();
    }).catch(() => undefined);
    this.services.log(`sync ${org} run ${runId} failed: ${errorMessage(error)}`);
  }

  /** A run whose process died stays "running" in its report: mark it so once its org is taken over. */
  private async markInterrupted(org: string, runId: string): Promise<void> {
    const state = await this.services.orgState.get(org);
    if (!state.lastRunId || state.lastRunId === runId) return;
    const previous = await this.services.runs.get(state.lastRunId);
    if (previous && (previous.state === "running" || previous.state === "queued")) {
      const interrupted = RunTally.resume(previous);
      interrupted.fail({ message: `interrupted; run ${runId} resumed from the saved cursor` }, this.now.toISOString());
      await this.services.runs.save(interrupted.snapshot());
    }
  }

  async approve(runId: string, approvedBy: string): Promise<RunSummary> {
    const report = await this.get(runId);
    if (report.state !== "halted") throw new AppError(`Run ${runId} is ${report.state}, not halted.`, 409, "not_halted");
    const lease = await this.services.leases.acquire(leaseKey(report.org), runId, LEASE_MS, runId);
    if (!lease.acquired) throw new AppError(`A run for ${report.org} is in progress.`, 409, "run_in_progress", { detail: { runId: lease.current.note } });
    const approval = RunTally.resume(report);
    approval.approve(approvedBy);
    const record = approval.snapshot();
    await this.services.runs.save(record);
    await this.services.enqueue({ org: report.org, runId, approved: true, ...traceCarrier() });
    return record;
  }

  async get(runId: string): Promise<RunReport> {
    const report = /^[0-9a-f-]{36}$/i.test(runId) ? await this.services.runs.get(runId) : undefined;
    if (!report) throw new AppError(`No sync run ${runId}.`, 404, "run_not_found");
    // Stored as recorded (access at the round's end); read with each user's access on their own entry.
    return { ...report, changes: foldAccessEntries(report.changes) };
  }

  /** The newest runs, newest first (reports without their change lists). */
  async list(query: { org?: string; limit: number }): Promise<RunSummary[]> {
    return this.services.runs.listRecent(query.limit, query.org ? this.org(query.org) : undefined);
  }

  /** Each configured org's status (orgSyncStatus), in configuration order. */
  async status(): Promise<OrgSyncStatus[]> {
    const now = this.now;
    return Promise.all(this.services.orgs.map(async (org) => {
      const [state, lease] = await Promise.all([this.services.orgState.get(org), this.services.leases.get(leaseKey(org))]);
      return orgSyncStatus(org, state, lease, now, this.services.schedule);
    }));
  }

  /** The timer: one queued run per org, skipping orgs that are running, halted or backing off. */
  async fanOut(trigger: string): Promise<{ started: string[]; skipped: Array<{ org: string; reason: string }> }> {
    const started: string[] = [];
    const skipped: Array<{ org: string; reason: string }> = [];
    for (const org of this.services.orgs) {
      const state = await this.services.orgState.get(org);
      if (state.backoffUntil && Date.parse(state.backoffUntil) > this.now.getTime()) {
        skipped.push({ org, reason: `backing off until ${state.backoffUntil}` });
        continue;
      }
      try {
        started.push((await this.start({ org, trigger })).runId);
      } catch (error) {
        if (!isAppError(error) || error.status !== 409) throw error;
        skipped.push({ org, reason: error.message });
      }
    }
    return { started, skipped };
  }
}

/** The code a failed run's report names: Dataverse's own code, the bridge's code, or a Node/SDK code. */
function reportedCode(error: unknown): string | undefined {
  if (isDataverseError(error)) return error.dataverseCode;
  return isAppError(error) ? error.code : systemCode(error);
}
