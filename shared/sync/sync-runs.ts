// The sync run lifecycle: start (one run per org, guarded by a lease), execute (the queue worker), approve a
// halted run, read reports and per-org status, and the timer's fan-out. A run's lease is renewed while it
// works; a process that dies stops renewing and frees its org within LEASE_MS.
import { randomUUID } from "node:crypto";
import { AppError, describeError, errorMessage, isAppError, systemCode } from "../errors/app-error.js";
import { isDataverseError } from "../dataverse/errors.js";
import type { LeaseStore } from "../state/leases.js";
import { nextOccurrence } from "../config/ncrontab.js";
import type { OrgStateStore } from "./org-state-store.js";
import { applyPendingDisables, runOrgSync, type OrgSyncDependencies, type SyncSettings } from "./run-org-sync.js";
import { emptyCounts, type RunMode, type RunReport } from "./run-report.js";
import type { RunStore } from "./run-store.js";
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
  orgDependencies: (org: string) => Omit<OrgSyncDependencies, "orgState" | "runs">;
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

function newReport(org: string, mode: RunMode, dryRun: boolean, trigger: string, runId: string = randomUUID()): RunReport {
  return { runId, org, mode, dryRun, state: "queued", trigger, startedAt: null, finishedAt: null, counts: emptyCounts(), changes: [], changesOmitted: 0, errors: [] };
}

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
  async start(input: { org?: string; mode?: RunMode; dryRun?: boolean; trigger: string }): Promise<RunReport> {
    const org = this.org(input.org);
    const state = await this.services.orgState.get(org);
    if (state.haltedRunId) {
      throw new AppError(`Run ${state.haltedRunId} for ${org} is halted by a threshold (disables or access removals): approve it first.`, 409, "run_halted", { detail: { runId: state.haltedRunId } });
    }
    const report = newReport(org, input.mode ?? "incremental", input.dryRun ?? this.services.defaultDryRun, input.trigger);
    const lease = await this.services.leases.acquire(leaseKey(org), report.runId, LEASE_MS, report.runId);
    if (!lease.acquired) {
      throw new AppError(`A run for ${org} is already in progress.`, 409, "run_in_progress", { detail: { runId: lease.current.note } });
    }
    await this.services.runs.save(report);
    await this.services.enqueue({ org, runId: report.runId, ...traceCarrier() });
    return report;
  }

  /** The queue worker: runs (or continues after approval) one org's sync. Rethrows after recording a failure. */
  async execute(message: SyncRunMessage, abortSignal?: AbortSignal): Promise<RunReport> {
    const { org, runId } = message;
    const report = (await this.services.runs.get(runId)) ?? newReport(org, "incremental", this.services.defaultDryRun, "queue", runId);
    if (["succeeded", "failed"].includes(report.state) || (report.state === "halted" && !message.approved)) return report;
    const lease = await this.services.leases.acquire(leaseKey(org), runId, LEASE_MS, runId);
    if (!lease.acquired) {
      report.state = "failed";
      report.errors.push({ message: `superseded: run ${lease.current.note} holds ${org}`, at: this.now.toISOString() });
      report.finishedAt = this.now.toISOString();
      await this.services.runs.save(report);
      return report;
    }
    return this.executeHoldingLease(report, message, abortSignal);
  }

  /** Runs with the org's lease held: renewed meanwhile (a lost lease aborts the run), released at the end. */
  private async executeHoldingLease(report: RunReport, message: SyncRunMessage, abortSignal?: AbortSignal): Promise<RunReport> {
    const { org, runId } = message;
    const controller = new AbortController();
    const onAbort = () => controller.abort(abortSignal?.reason);
    abortSignal?.addEventListener("abort", onAbort);
    const timing = this.services.leaseTiming ?? { leaseMs: LEASE_MS, renewMs: RENEW_MS };
    const stopRenewing = keepLease(() => this.services.leases.renew(leaseKey(org), runId, timing.leaseMs), timing, (lost) => {
      lost.message = `lost the lease on ${org}: ${lost.message}`;
      controller.abort(lost);
    });

    const deps: OrgSyncDependencies = { ...this.services.orgDependencies(org), orgState: this.services.orgState, runs: this.services.runs, now: this.services.now };
    try {
      await this.perform(report, message, deps, controller.signal);
      return report;
    } catch (thrown) {
      // Whatever the abort surfaced as, a lost lease is the cause to report.
      const error = controller.signal.reason instanceof LeaseLostError ? controller.signal.reason : thrown;
      await this.recordFailure(report, message, error);
      throw error;
    } finally {
      stopRenewing();
      abortSignal?.removeEventListener("abort", onAbort);
      await this.services.leases.release(leaseKey(org), runId).catch(() => undefined);
      await this.tellObserver("finished", org, runId);
    }
  }

  /** The run itself (a sync round, or the approved disables), then its outcome on the org's state and report. */
  private async perform(report: RunReport, message: SyncRunMessage, deps: OrgSyncDependencies, abortSignal: AbortSignal): Promise<void> {
    const { org, runId } = message;
    await this.markInterrupted(org, runId);
    await this.tellObserver("started", org, runId);
    report.state = "running";
    report.startedAt ??= this.now.toISOString();
    await this.services.runs.save(report);
    await this.services.orgState.update(org, (s) => { s.lastRunId = runId; });
    if (message.approved) {
      const recorded = { count: report.changes.length, chunk: 1_000_000 };
      const record = (entries: RunReport["changes"]) => this.services.runs.appendChanges(report, recorded, entries);
      const pending = await this.services.orgState.listPendingDisables(org);
      await applyPendingDisables(report, pending, new UserIndex(this.services.settings.map, anchorColumn(this.settingsOf(org).identity)), deps, abortSignal, record);
      await applyApprovedAccess(report, this.settingsOf(org).access, deps, record, abortSignal);
      report.state = "succeeded";
    } else {
      await runOrgSync(report, this.settingsOf(org), deps, abortSignal);
    }
    report.finishedAt = this.now.toISOString();
    await this.services.orgState.update(org, (s) => {
      s.lastOutcome = report.state;
      s.lastFinishedAt = report.finishedAt!;
      s.consecutiveFailures = 0;
      s.backoffUntil = undefined;
      s.haltedRunId = report.state === "halted" ? runId : undefined;
    });
    await this.services.runs.save(report);
    this.services.log(`sync ${org} run ${runId} ${report.state}: ${JSON.stringify(report.counts)}`);
  }

  private async tellObserver(event: keyof RunObserver, org: string, runId: string): Promise<void> {
    await this.services.observer?.[event](org, runId).catch((error: unknown) =>
      this.services.log(`sync ${org} run ${runId}: could not note that it ${event}: ${describeError(error)}`));
  }

  /** Records a failed run on its report and (unless the lease was lost) on the org's state, with a back-off. */
  private async recordFailure(report: RunReport, message: SyncRunMessage, error: unknown): Promise<void> {
    const { org, runId } = message;
    report.state = "failed";
    report.finishedAt = this.now.toISOString();
    report.errors.push({ code: reportedCode(error), message: errorMessage(error), at: report.finishedAt });
    await this.services.runs.save(report).catch(() => undefined);
    if (error instanceof LeaseLostError) {
      // The org's state now belongs to whoever holds the lease: no outcome or back-off written over theirs.
      this.services.log(`sync ${org} run ${runId} stopped: ${error.message}`);
      return;
    }
    await this.services.orgState.update(org, (s) => {
      s.lastOutcome = "failed";
      s.lastFinishedAt = report.finishedAt!;
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
      previous.state = "failed";
      previous.finishedAt = this.now.toISOString();
      previous.errors.push({ message: `interrupted; run ${runId} resumed from the saved cursor`, at: previous.finishedAt });
      await this.services.runs.save(previous);
    }
  }

  async approve(runId: string, approvedBy: string): Promise<RunReport> {
    const report = await this.get(runId);
    if (report.state !== "halted") throw new AppError(`Run ${runId} is ${report.state}, not halted.`, 409, "not_halted");
    const lease = await this.services.leases.acquire(leaseKey(report.org), runId, LEASE_MS, runId);
    if (!lease.acquired) throw new AppError(`A run for ${report.org} is in progress.`, 409, "run_in_progress", { detail: { runId: lease.current.note } });
    report.halt = { ...report.halt!, approvedBy };
    await this.services.runs.save(report);
    await this.services.enqueue({ org: report.org, runId, approved: true, ...traceCarrier() });
    return report;
  }

  async get(runId: string): Promise<RunReport> {
    const report = /^[0-9a-f-]{36}$/i.test(runId) ? await this.services.runs.get(runId) : undefined;
    if (!report) throw new AppError(`No sync run ${runId}.`, 404, "run_not_found");
    // Stored as recorded (access at the round's end); read with each user's access on their own entry.
    return { ...report, changes: foldAccessEntries(report.changes) };
  }

  /** The newest runs, newest first (reports without their change lists). */
  async list(query: { org?: string; limit: number }): Promise<Array<Omit<RunReport, "changes">>> {
    return this.services.runs.listRecent(query.limit, query.org ? this.org(query.org) : undefined);
  }

  async status(): Promise<Array<Record<string, unknown>>> {
    const now = this.now;
    return Promise.all(this.services.orgs.map(async (org) => {
      const [state, lease] = await Promise.all([this.services.orgState.get(org), this.services.leases.get(leaseKey(org))]);
      const running = lease !== undefined && lease.expiresAt > now.getTime();
      const backingOff = state.backoffUntil !== undefined && Date.parse(state.backoffUntil) > now.getTime();
      return {
        org,
        state: state.haltedRunId ? "halted" : running ? "running" : backingOff ? "backing-off" : "idle",
        runningRunId: running ? lease!.note : undefined,
        lastRunId: state.lastRunId ?? null,
        lastOutcome: state.lastOutcome ?? null,
        lastFinishedAt: state.lastFinishedAt ?? null,
        haltedRunId: state.haltedRunId ?? null,
        cursorAgeSeconds: state.cursorSavedAt ? Math.round((now.getTime() - Date.parse(state.cursorSavedAt)) / 1000) : null,
        backoffUntil: backingOff ? state.backoffUntil : null,
        consecutiveFailures: state.consecutiveFailures,
        nextScheduledRun: nextOccurrence(this.services.schedule, now)?.toISOString() ?? null,
      };
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
