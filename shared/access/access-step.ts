// The access step as one org's sync run drives it. A full round opens it (rules resolved, rule groups read) beside
// its first pages instead of before them: what the pages touch waits in order until it is open, and the round's end
// waits for all of it. An incremental run waits for it at its first touch instead: the users it touches are kept
// in the org's state before the run's cursor moves on, so a run cut off loses none.
import type { OrgSyncState } from "../sync/org-state-store.js";
import type { RunTally } from "../sync/run-tally.js";
import { OrgAccessRun, type AccessOutcome, type AccessRunDependencies, type OrgAccessSettings } from "./run-access.js";

type KnownRecords = Parameters<OrgAccessRun["grantCreated"]>[1];

export class AccessStep {
  /** The touches so far, in order; a failure surfaces when the step is awaited, never as an unhandled rejection. */
  private queue: Promise<void>;

  private constructor(
    private readonly opening: Promise<OrgAccessRun>,
    /** Touches need not be waited for (a full round keeps nothing durable for them). */
    private readonly deferred: boolean,
  ) {
    this.queue = opening.then(() => undefined);
    this.queue.catch(() => undefined);
  }

  static open(report: RunTally, state: OrgSyncState, settings: OrgAccessSettings, deps: AccessRunDependencies, signal?: AbortSignal): AccessStep {
    return new AccessStep(OrgAccessRun.open(report, state, settings, deps, signal), report.mode === "full");
  }

  /** The users a page touched (`created`: the anchors of records it created, granted their access now). */
  async touch(users: ReadonlyArray<{ objectId: string; anchor: string }>, created: readonly string[], index: KnownRecords, signal?: AbortSignal): Promise<void> {
    this.queue = this.queue.then(async () => {
      const run = await this.opening;
      await run.touch(users, created);
      run.grantCreated(created, index, signal);
    });
    this.queue.catch(() => undefined);
    if (!this.deferred) await this.queue;
  }

  /** Plans and applies the round's access once every touch is in (OrgAccessRun.finish). */
  async finish(...args: Parameters<OrgAccessRun["finish"]>): Promise<AccessOutcome> {
    await this.queue;
    return (await this.opening).finish(...args);
  }
}
