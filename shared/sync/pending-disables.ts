// The round's pending disables (one org): disables wait, durably, until the round ends, because a later change
// in the round may cancel them; the threshold then weighs them all at once. Kept in memory and in OrgStateStore
// (a dry run changes nothing stored).
import type { OrgStateStore, PendingDisable } from "./org-state-store.js";
import type { UserAction } from "./plan.js";
import type { RunReport } from "./run-report.js";

export class PendingDisables {
  private constructor(
    private readonly orgState: Pick<OrgStateStore, "addPendingDisables" | "removePendingDisables">,
    private readonly report: Pick<RunReport, "org" | "runId" | "dryRun">,
    private readonly byId: Map<string, PendingDisable>,
  ) {}

  static async load(orgState: OrgStateStore, report: Pick<RunReport, "org" | "runId" | "dryRun">): Promise<PendingDisables> {
    const byId = new Map<string, PendingDisable>();
    for (const p of await orgState.listPendingDisables(report.org)) byId.set(p.systemUserId, p);
    return new PendingDisables(orgState, report, byId);
  }

  get size(): number {
    return this.byId.size;
  }

  values(): PendingDisable[] {
    return [...this.byId.values()];
  }

  /** The record is back (restored, re-enabled, in scope again) before the round ended: its disable is void. */
  async cancel(systemUserId: string): Promise<void> {
    if (!this.byId.delete(systemUserId)) return;
    if (!this.report.dryRun) await this.orgState.removePendingDisables(this.report.org, [systemUserId]);
  }

  /** Adds the disables among `actions` not already pending. */
  async queue(actions: readonly UserAction[]): Promise<void> {
    const added: PendingDisable[] = [];
    for (const action of actions) {
      if (action.kind !== "disable" || this.byId.has(action.systemUserId)) continue;
      const item: PendingDisable = { systemUserId: action.systemUserId, objectId: action.objectId, reason: action.reason, runId: this.report.runId, ...action.who };
      this.byId.set(action.systemUserId, item);
      added.push(item);
    }
    if (!this.report.dryRun) await this.orgState.addPendingDisables(this.report.org, added);
  }
}
