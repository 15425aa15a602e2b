// Telemetry of a sync run: the worker's span continues the trace the fan-out (or POST /api/sync) put in the
// queue message, and a finished run records its metrics (runs, duration, users changed, halts, cursor age).
import { recordMetric } from "../telemetry/metrics.js";
import { LOG_EVENTS, SPANS } from "../telemetry/names.js";
import { withRemoteParent, withSpan, type TraceCarrier } from "../telemetry/tracing.js";
import type { Logger } from "../telemetry/logger.js";
import type { RunSummary } from "./run-report.js";
import type { SyncRunMessage, SyncRuns } from "./sync-runs.js";

const ACTIONS = ["created", "updated", "enabled", "disabled", "remapped", "failed"] as const;

/** Records a finished run's metrics (pure function of the report). */
export function recordRunMetrics(report: RunSummary, durationMs: number): void {
  const org = report.org;
  recordMetric("runs", 1, { org, outcome: report.state });
  recordMetric("runDuration", durationMs / 1000, { org, outcome: report.state });
  for (const action of ACTIONS) {
    const count = report.counts[action];
    if (count > 0) recordMetric("usersChanged", count, { org, action });
  }
  if (report.state === "halted") recordMetric("halted", 1, { org });
}

/** Per-org gauges from the status view: cursor age, and a count for each org skipped while backing off. */
export async function recordOrgGauges(runs: SyncRuns, orgs?: readonly string[]): Promise<void> {
  for (const status of await runs.status()) {
    const org = status.org;
    if (orgs && !orgs.includes(org)) continue;
    if (status.cursorAgeSeconds !== null) recordMetric("cursorAge", status.cursorAgeSeconds, { org });
    if (status.state === "backing-off") recordMetric("backingOff", 1, { org });
  }
}

/** The queue worker's run, as one span under the message's trace context, with its metrics and log lines. */
export function executeTraced(runs: SyncRuns, message: SyncRunMessage & TraceCarrier, log: Logger, abortSignal?: AbortSignal): Promise<RunSummary> {
  const started = Date.now();
  const attributes = { org: message.org, runId: message.runId, mode: message.approved ? "approved" : undefined };
  return withRemoteParent(message, () => withSpan(SPANS.syncRun, attributes, async (span) => {
    try {
      const report = await runs.execute(message, abortSignal);
      span.setAttribute("bridge.outcome", report.state);
      recordRunMetrics(report, Date.now() - started);
      log.info(`sync run ${report.state}: ${JSON.stringify(report.counts)}`, { outcome: report.state });
      if (report.state === "halted") log.warn(LOG_EVENTS.runHalted, { org: report.org, runId: report.runId, count: report.halt?.pendingDisables });
      await recordOrgGauges(runs, [report.org]).catch(() => undefined);
      return report;
    } catch (error) {
      recordMetric("runs", 1, { org: message.org, outcome: "failed" });
      recordMetric("runDuration", (Date.now() - started) / 1000, { org: message.org, outcome: "failed" });
      throw error;
    }
  }));
}

/** The timer's fan-out, as the root span of the runs it queues (each message carries its context). */
export function fanOutTraced(runs: SyncRuns, trigger: string): ReturnType<SyncRuns["fanOut"]> {
  return withSpan(SPANS.syncFanOut, { trigger }, async (span) => {
    const result = await runs.fanOut(trigger);
    span.setAttribute("bridge.count", result.started.length);
    await recordOrgGauges(runs).catch(() => undefined);
    return result;
  });
}
