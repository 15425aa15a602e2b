// One org's sync run (contract §3): read the org's systemusers once into an index, then for each Graph delta
// page plan every change (pure core), apply the writes, journal disables, and save the cursor after the page
// is applied. At the end of the round, disables are checked against the threshold and applied, or the run
// halts for approval. A run cut off anywhere resumes from the saved cursor with nothing lost.
// Incremental runs without scope groups read no full index: each page looks up only its own records
// (page-lookup.ts); full rounds and scoped runs need every record (orphans, out-of-scope users). Scoped runs
// also fetch the members who joined a scope group since the last scoped run (scope-catch-up.ts).
// Nothing is lost to a failed write or a failed save: a page's outcome (changes, report, carried-forward
// failures) is durable before its cursor moves on, and users whose writes failed are carried forward to the
// next run (carried-forward.ts).
// The steps: OrgSyncRun.open (recover remaps, load state, choose the index source: index-source.ts), retry the
// carried-forward users, follow the delta chain (DeltaReader reads one page ahead) applying each page, then
// queue orphans and out-of-scope users (pure planner) with the pending disables (pending-disables.ts) and finish
// the round against the threshold.
import type { DataverseOrgPort } from "../dataverse/types.js";
import { DeltaResetError, type DeltaPage, type DirectoryChange, type DirectoryPort } from "../directory/types.js";
import type { DisableThreshold } from "./domain.js";
import { changeKey, type OrgIdentity } from "./identity.js";
import { applyWriteActions, entryFor } from "./apply-actions.js";
import { applyRemap, type RemapAction } from "./apply-remap.js";
import { CarriedForward } from "./carried-forward.js";
import { IndexSource } from "./index-source.js";
import { graphSelect, type AttributeMap } from "./mapping.js";
import { PendingDisables } from "./pending-disables.js";
import { applyToIndex, planChange, planOrphans, planOutOfScope, type PlanOptions, type UserAction } from "./plan.js";
import { describeDisableThreshold } from "./threshold.js";
import { fetchUsersAsChanges, scopeCatchUpIds } from "./scope-catch-up.js";
import { objectIdKey, type UserIndex } from "./user-index.js";
import type { OrgStateStore, OrgSyncState, PendingDisable } from "./org-state-store.js";
import type { RunStore } from "./run-store.js";
import type { RemapPort } from "./remap-port.js";
import { recordErrors, type ChangeEntry, type RunReport } from "./run-report.js";
import { isRecordGone } from "../dataverse/errors.js";

export interface SyncSettings {
  map: AttributeMap;
  /** This org's naming and anchoring rule (identity.ts). */
  identity: OrgIdentity;
  threshold: DisableThreshold;
  scopeGroupIds: readonly string[];
}

export interface OrgSyncDependencies {
  directory: DirectoryPort;
  dataverse: DataverseOrgPort;
  orgState: OrgStateStore;
  runs: RunStore;
  remap?: RemapPort;
  log: (message: string) => void;
  now?: () => Date;
}

/** Runs (or continues) the round for `report.org`, updating `report` as it goes. Throws on failure. */
export async function runOrgSync(report: RunReport, settings: SyncSettings, deps: OrgSyncDependencies, abortSignal?: AbortSignal): Promise<void> {
  const run = await OrgSyncRun.open(report, settings, deps, abortSignal);
  await run.run();
}

interface OrgSyncRunState {
  /** The org's saved state (cursor, round, scope members), saved as the run goes. */
  state: OrgSyncState;
  retries: CarriedForward;
  pending: PendingDisables;
  source: IndexSource;
  /** With scope groups: the members' object ids (keys). */
  inScope: ReadonlySet<string> | undefined;
  /** Where the delta chain continues; undefined = a new round from its start. */
  link: string | undefined;
}

/** One org's run: what it knows lives here, and each step is a method. */
class OrgSyncRun {
  private readonly org: string;
  private readonly now: () => Date;
  /**
   * A redelivered run appends after what its earlier attempt recorded: that attempt wrote fewer chunk rows than
   * changes, so numbering from the change count never overwrites one (and keeps the order).
   */
  private readonly recorded: { count: number; chunk: number };
  private readonly plan: PlanOptions;
  private readonly select: string[];
  private readonly scopeKey: string;
  /** Users whose write failed in this run (the error list is capped, so it cannot be the source of truth). */
  private readonly failedThisRun = new Set<string>();
  private readonly seenThisRun = new Set<string>();
  private page = 0;

  private constructor(
    private readonly report: RunReport,
    private readonly settings: SyncSettings,
    private readonly deps: OrgSyncDependencies,
    private readonly abortSignal: AbortSignal | undefined,
    private readonly its: OrgSyncRunState,
  ) {
    this.org = report.org;
    this.now = deps.now ?? (() => new Date());
    this.recorded = { count: report.changes.length, chunk: report.changes.length };
    const inScope = its.inScope;
    this.plan = { map: settings.map, identity: settings.identity, inScope: inScope ? (id) => inScope.has(objectIdKey(id)) : undefined };
    this.select = graphSelect(settings.map, settings.identity);
    this.scopeKey = [...settings.scopeGroupIds].map(objectIdKey).sort().join(",");
  }

  /** Recovers cut-off remaps, loads the org's state, and starts a full round or continues the saved one. */
  static async open(report: RunReport, settings: SyncSettings, deps: OrgSyncDependencies, abortSignal?: AbortSignal): Promise<OrgSyncRun> {
    const org = report.org;
    if (deps.remap && !report.dryRun) await deps.remap.recover(org, { abortSignal });
    const state = await deps.orgState.get(org);
    const retries = await CarriedForward.load(deps.orgState, org, report.dryRun);
    const inScope = await scopeOf(deps.directory, settings.scopeGroupIds, abortSignal);
    const pending = await PendingDisables.load(deps.orgState, report);
    const link = startOrContinueRound(state, report);
    const wholeOrg = report.mode !== "incremental" || inScope !== undefined;
    const source = await IndexSource.open(deps.dataverse, settings.map, settings.identity, wholeOrg, abortSignal);
    // The saved members belong to a scoped run over the same groups; a run without scope voids them.
    if (!inScope && !report.dryRun) state.scopeMembers = undefined;
    return new OrgSyncRun(report, settings, deps, abortSignal, { state, retries, pending, source, inScope, link });
  }

  async run(): Promise<void> {
    await this.retryCarriedForward();
    await this.followDelta(this.its.link);
    const seen = await this.seenInRound();
    const { inScope, pending, source } = this.its;
    if (this.report.mode === "full") await pending.queue(planOrphans(source.index, seen, this.plan));
    if (inScope) {
      await this.catchUpScope(inScope, seen);
      await pending.queue(planOutOfScope(source.index, inScope));
    }
    await this.finishRound();
  }

  private record(entries: ChangeEntry[]): Promise<void> {
    return this.deps.runs.appendChanges(this.report, this.recorded, entries);
  }

  /** Users whose writes failed in an earlier run are fetched by id and planned again first (carried-forward.ts). */
  private async retryCarriedForward(): Promise<void> {
    const ids = this.its.retries.list();
    if (ids.length === 0) return;
    this.deps.log(`sync ${this.org}: retrying ${ids.length} user(s) whose writes failed in an earlier run`);
    // Users not found (left the directory) are handled too: the delta reports their removal.
    await this.applyUsersById(ids);
    await this.deps.runs.save(this.report);
  }

  /** Follows the delta chain from `link` to its end, one page at a time; an expired cursor restarts it once. */
  private async followDelta(link: string | undefined): Promise<void> {
    const reader = new DeltaReader(this.deps.directory, this.select, this.abortSignal);
    let reset = false;
    for (;;) {
      this.abortSignal?.throwIfAborted();
      let delta: DeltaPage;
      try {
        delta = await reader.read(link);
      } catch (error) {
        if (!(error instanceof DeltaResetError) || reset) throw error;
        reset = true;
        await this.restartAsFullRound(error);
        link = undefined;
        continue;
      }
      await this.applyDeltaPage(delta);
      if (!delta.nextLink) return;
      link = delta.nextLink;
    }
  }

  /** Expired or reset cursor: start a full round by itself (contract §3). */
  private async restartAsFullRound(error: DeltaResetError): Promise<void> {
    this.report.resync = error.upstreamCode;
    this.deps.log(`sync ${this.org}: delta cursor reset (${error.upstreamCode}); starting a full round`);
    startFullRound(this.its.state, this.report);
    await this.its.source.readWholeOrg(this.abortSignal);
  }

  private async applyDeltaPage(delta: DeltaPage): Promise<void> {
    const { report, settings } = this;
    this.page++;
    const { matchedElsewise, failed } = await this.applyPage(delta.changes);
    const ids = [...delta.changes.map((c) => changeKey(c, settings.identity)), ...matchedElsewise];
    for (const id of ids) this.seenThisRun.add(id);
    if (report.mode === "full" && !report.dryRun) await this.deps.orgState.addSeenIds(this.its.state.roundId!, Date.now() * 1000 + this.page, ids);
    if (!report.dryRun) await this.savePage(delta, delta.changes.map(directoryKey), failed);
  }

  /**
   * The page's outcome first (failures carried forward, then the report), the cursor last: a save that fails
   * leaves the cursor on this page, so the retry re-applies it instead of skipping it.
   */
  private async savePage(delta: DeltaPage, handled: readonly string[], failed: ReadonlySet<string>): Promise<void> {
    const { state } = this.its;
    await this.its.retries.record(handled, failed);
    await this.deps.runs.save(this.report);
    state.cursor = delta.nextLink ?? delta.deltaLink;
    state.cursorKind = delta.nextLink ? "next" : "delta";
    state.cursorSavedAt = this.now().toISOString();
    state.roundMode = this.report.mode;
    await this.deps.orgState.save(state);
  }

  /** Fetches users by directory object id (batches of 200) and applies them like a delta page. */
  private async applyUsersById(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 200) {
      this.abortSignal?.throwIfAborted();
      const batch = ids.slice(i, i + 200);
      const changes = await fetchUsersAsChanges(this.deps.directory, batch, this.select, { concurrency: 4, abortSignal: this.abortSignal });
      const { failed } = await this.applyPage(changes);
      if (!this.report.dryRun) await this.its.retries.record(batch, failed);
    }
  }

  /**
   * Plans and applies one page. Returns the directory object ids (keys) whose write failed, and the anchors of
   * records matched under another key than their change's (on-premises users without a GUID anchor, matched by
   * domainname), so a full round counts them as seen.
   */
  private async applyPage(changes: readonly DirectoryChange[]): Promise<{ failed: Set<string>; matchedElsewise: string[] }> {
    const { report, deps } = this;
    await this.its.source.load(changes, this.abortSignal);
    const planned = await this.planPage(changes);
    const applied = await applyWriteActions(deps.dataverse, this.its.source.index, planned.writes, report.counts, { dryRun: report.dryRun, abortSignal: this.abortSignal, now: this.now });
    recordErrors(report, applied.errors);
    for (const action of planned.remaps) applied.entries.push(await this.applyRemap(action));
    await this.its.pending.queue(planned.disables);
    await this.record([...applied.entries, ...planned.others]);
    return { failed: this.failedOf(changes, applied.entries), matchedElsewise: planned.matchedElsewise };
  }

  /** Plans every change of a page (pure core) and sorts the actions by how they are applied. */
  private async planPage(changes: readonly DirectoryChange[]): Promise<PlannedPage> {
    const { report } = this;
    const index = this.its.source.index;
    const page: PlannedPage = { writes: [], remaps: [], disables: [], others: [], matchedElsewise: [] };
    for (const change of changes) {
      report.counts.scanned++;
      const action = planChange(change, index, this.plan);
      const systemUserId = "systemUserId" in action ? action.systemUserId : undefined;
      const anchor = systemUserId ? index.get(systemUserId)?.objectId : undefined;
      if (anchor && anchor !== changeKey(change, this.settings.identity)) page.matchedElsewise.push(anchor);
      if (action.kind !== "disable" && systemUserId) await this.its.pending.cancel(systemUserId);
      sortAction(action, page, report.counts);
    }
    return page;
  }

  /** The directory object ids (keys) whose write failed; entries name the org's anchor (the AD GUID on-premises). */
  private failedOf(changes: readonly DirectoryChange[], entries: readonly ChangeEntry[]): Set<string> {
    const directoryIdOf = new Map(changes.map((c) => [changeKey(c, this.settings.identity), directoryKey(c)]));
    const failed = new Set(entries.flatMap((e) => (e.outcome === "failed" && e.objectId ? [directoryIdOf.get(objectIdKey(e.objectId)) ?? objectIdKey(e.objectId)] : [])));
    for (const id of failed) this.failedThisRun.add(id);
    return failed;
  }

  private async applyRemap(action: RemapAction): Promise<ChangeEntry> {
    const { report } = this;
    const index = this.its.source.index;
    if (report.dryRun) {
      applyToIndex(index, action);
      report.counts.remapped++;
      return entryFor(action, "planned")!;
    }
    const target = { org: this.org, dataverse: this.deps.dataverse, remap: this.deps.remap, requestedBy: `sync:${report.runId}` };
    const { entry, result, error } = await applyRemap(action, target, this.abortSignal);
    if (result === "unavailable") report.counts.skipped++;
    if (result === "failed") {
      report.counts.failed++;
      recordErrors(report, [{ objectId: action.objectId, systemUserId: action.systemUserId, ...error!, at: this.now().toISOString() }]);
    }
    if (result === "applied") {
      applyToIndex(index, action);
      report.counts.remapped++;
    }
    return entry;
  }

  /** The object ids the round returned: this run's, and in a full round those of its earlier runs too. */
  private async seenInRound(): Promise<ReadonlySet<string>> {
    if (this.report.mode !== "full" || this.report.dryRun) return this.seenThisRun;
    return new Set([...this.seenThisRun, ...(await this.deps.orgState.listSeenIds(this.its.state.roundId!))]);
  }

  /** Plans and applies the members the round did not return who need a record or may need enabling. */
  private async catchUpScope(members: ReadonlySet<string>, seen: ReadonlySet<string>): Promise<void> {
    const { deps, org } = this;
    const { state } = this.its;
    const saved = state.scopeMembers?.groups === this.scopeKey ? state.scopeMembers : undefined;
    const previous = saved ? await deps.orgState.listScopeMembers(org, saved.rows) : undefined;
    const ids = scopeCatchUpIds(this.its.source.index, members, previous, seen);
    if (ids.length > 0) deps.log(`sync ${org}: fetching ${ids.length} scope member(s) the round did not return`);
    await this.applyUsersById(ids);
    if (this.report.dryRun) return;
    // A member whose write failed is left out, so the next run treats it as new and tries again.
    const remembered = [...members].filter((id) => !this.failedThisRun.has(id));
    const rows = await deps.orgState.saveScopeMembers(org, remembered, state.scopeMembers?.rows);
    state.scopeMembers = { groups: this.scopeKey, rows };
    await deps.orgState.save(state);
  }

  /** The round's disables against the threshold: applied, or the run halts for approval. */
  private async finishRound(): Promise<void> {
    const { report, settings, deps } = this;
    const { pending, source } = this.its;
    const managed = await source.managedEnabled(pending.size, settings.threshold, this.abortSignal);
    const check = describeDisableThreshold(pending.size, managed, settings.threshold);
    if (check.exceeded && report.halt?.approvedBy === undefined) {
      report.halt = { pendingDisables: pending.size, limit: check.limit, threshold: check.threshold };
      report.state = "halted";
      deps.log(`sync ${this.org}: ${check.message}`);
      await this.record(pending.values().map((p) => ({ objectId: p.objectId, systemUserId: p.systemUserId, action: "disable", reason: p.reason, outcome: "pending-approval" as const })));
      return;
    }
    await applyPendingDisables(report, pending.values(), source.index, deps, this.abortSignal, (entries) => this.record(entries));
    report.state = "succeeded";
  }
}

interface PlannedPage {
  writes: UserAction[];
  remaps: RemapAction[];
  disables: UserAction[];
  /** Entries of planned actions that write nothing (skips worth reporting). */
  others: ChangeEntry[];
  matchedElsewise: string[];
}

/** Puts an action where it is applied from (writes in bulk, remaps one by one, disables at the round's end). */
function sortAction(action: UserAction, page: PlannedPage, counts: RunReport["counts"]): void {
  switch (action.kind) {
    case "create": case "update": case "enable": page.writes.push(action); break;
    case "remap": page.remaps.push(action); break;
    case "disable": page.disables.push(action); break;
    case "unchanged": counts.unchanged++; break;
    case "skip": {
      counts.skipped++;
      const entry = entryFor(action, "planned");
      if (entry) page.others.push(entry);
      break;
    }
  }
}

/**
 * Graph's delta chain is sequential: the next page is fetched while this one is applied (a read-ahead of one),
 * which overlaps Graph's latency with the Dataverse writes.
 */
class DeltaReader {
  private ahead: Promise<DeltaPage> | undefined;

  constructor(
    private readonly directory: DirectoryPort,
    private readonly select: string[],
    private readonly abortSignal: AbortSignal | undefined,
  ) {}

  /** The page at `link` (undefined = the chain's start), fetched ahead when it follows the last page read. */
  async read(link: string | undefined): Promise<DeltaPage> {
    try {
      const page = await (this.ahead ?? this.fetch(link));
      this.ahead = page.nextLink ? readAhead(this.fetch(page.nextLink)) : undefined;
      return page;
    } catch (error) {
      this.ahead = undefined;
      throw error;
    }
  }

  private fetch(link: string | undefined): Promise<DeltaPage> {
    return this.directory.usersDeltaPage(link, this.select, { abortSignal: this.abortSignal });
  }
}

/** The directory object id a change is about, as a key. */
const directoryKey = (change: DirectoryChange) => objectIdKey(change.kind === "upsert" ? change.user.id : change.id);

/** A page fetched ahead: its failure surfaces when it is awaited, never as an unhandled rejection meanwhile. */
function readAhead(page: Promise<DeltaPage>): Promise<DeltaPage> {
  page.catch(() => undefined);
  return page;
}

/** Starts a full round, or continues the saved one; returns where the delta chain continues. */
function startOrContinueRound(state: OrgSyncState, report: RunReport): string | undefined {
  // This run's own full round cut off mid-chain (its message redelivered): continue it, don't start over.
  const resumingOwnRound = state.roundId === report.runId && state.cursorKind === "next" && state.cursor !== undefined;
  if (!resumingOwnRound && (report.mode === "full" || !state.cursor)) {
    startFullRound(state, report);
    return undefined;
  }
  report.mode = state.roundMode === "full" && state.cursorKind === "next" ? "full" : "incremental";
  return state.cursor;
}

function startFullRound(state: OrgSyncState, report: RunReport): void {
  report.mode = "full";
  if (report.dryRun) return;
  state.cursor = undefined;
  state.cursorKind = undefined;
  state.roundMode = "full";
  state.roundId = report.runId;
}

/** Applies disables (after the round, or on approval) and clears them from the pending list. */
export async function applyPendingDisables(
  report: RunReport,
  disables: PendingDisable[],
  index: UserIndex,
  deps: Pick<OrgSyncDependencies, "dataverse" | "orgState" | "now">,
  abortSignal: AbortSignal | undefined,
  record: (entries: ChangeEntry[]) => Promise<void>,
): Promise<void> {
  if (disables.length === 0) return;
  const actions: UserAction[] = disables.map((d) => ({ kind: "disable", systemUserId: d.systemUserId, objectId: d.objectId, matchedBy: "objectId", reason: d.reason }));
  const applied = await applyWriteActions(deps.dataverse, index, actions, report.counts, { dryRun: report.dryRun, abortSignal, now: deps.now });
  recordErrors(report, applied.errors);
  await record(applied.entries);
  if (!report.dryRun) {
    const done = applied.entries.filter((e) => e.outcome === "applied" || isRecordGone(e.error?.code)).map((e) => e.systemUserId!);
    await deps.orgState.removePendingDisables(report.org, done);
  }
}

async function scopeOf(directory: DirectoryPort, groupIds: readonly string[], abortSignal?: AbortSignal): Promise<Set<string> | undefined> {
  if (groupIds.length === 0) return undefined;
  const members = new Set<string>();
  for (const groupId of groupIds) for (const id of await directory.listGroupMemberIds(groupId, { abortSignal })) members.add(objectIdKey(id));
  return members;
}
