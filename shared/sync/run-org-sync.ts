// One org's sync run: read the org's systemusers once into an index, then for each Graph delta
// page plan every change (pure core), apply the writes, journal disables, and save the cursor after the page
// is applied. At the end of the round, disables are checked against the threshold and applied, or the run
// halts for approval. A run cut off anywhere resumes from the saved cursor with nothing lost.
// Incremental runs read no full index: each page looks up only its own records (page-lookup.ts); full rounds
// need every record (orphans, out-of-scope users).
// An unscoped full round takes a users/delta link "from now" first, then lists /users (999 a page, against
// users/delta's 200: the listing's chain is what bounds a large tenant's initial run); the listing's nextLink is
// the cursor while it lasts, and the link taken first becomes the round's delta link at its end. A change made
// while the listing runs is seen again by the next incremental run (planning is idempotent).
// Scoped runs (scope groups configured) cost what the scope costs, not what the tenant costs. The scope comes
// from the groups (groups/delta with members, against the membership saved by the last scoped run:
// scope-source.ts). A full scoped round takes a users/delta link "from now" first, then reads the members by id
// in JSON batches (300 a round trip) and disables records out of scope or gone; it never walks the tenant. An
// incremental scoped run follows that users/delta link, whose pages list the tenant's changes (Graph cannot filter
// users/delta by group, and `id eq` filters stop at 50 ids), keeps only the changes of members and of users who
// just left, then reads the members who joined by id and disables those who left. Its cost is the tenant's
// changes on the Graph side and the scope's changes on the Dataverse side.
// Nothing is lost to a failed write or a failed save: a page's outcome (changes, report, carried-forward
// failures) is durable before its cursor moves on, and users whose writes failed are carried forward to the
// next run (carried-forward.ts).
// The steps: OrgSyncRun.open (recover remaps, load state, choose the index source: index-source.ts), retry the
// carried-forward users, follow the delta chain (delta-reader.ts reads pages ahead) applying it a step at a time, then
// queue orphans and out-of-scope users (pure planner) with the pending disables (pending-disables.ts) and finish
// the round against the threshold.
import type { DataverseOrgPort } from "../dataverse/types.js";
import { DeltaResetError, type DeltaPage, type DirectoryChange, type DirectoryPort } from "../directory/types.js";
import type { DisableThreshold } from "./domain.js";
import { changeKey, type OrgIdentity } from "./identity.js";
import { applyWriteActions, entryFor } from "./apply-actions.js";
import { applyRemap, type RemapAction } from "./apply-remap.js";
import { CarriedForward } from "./carried-forward.js";
import { DeltaReader, type FetchPage } from "./delta-reader.js";
import { IndexSource } from "./index-source.js";
import { graphSelect, type AttributeMap } from "./mapping.js";
import { PendingDisables } from "./pending-disables.js";
import { applyToIndex, licensedBy, planChange, planOrphans, planOutOfScope, type PlanOptions, type UserAction } from "./plan.js";
import { describeDisableThreshold } from "./threshold.js";
import type { GroupsDeltaSource } from "../directory/group-members-delta.js";
import { readScope, saveScope, scopedRunIsFull, type ScopeRead } from "./scope-source.js";
import { objectIdKey, type UserIndex } from "./user-index.js";
import type { OrgStateStore, OrgSyncState, PendingDisable } from "./org-state-store.js";
import type { RunStore } from "./run-store.js";
import type { RemapPort } from "./remap-port.js";
import { holdCreatesUnderRemap, type HeldCreates } from "./remap-pending.js";
import type { ChangeEntry, RecordChanges } from "./run-report.js";
import type { RunTally } from "./run-tally.js";
import type { OrgAccessSettings } from "../access/run-access.js";
import { AccessStep } from "../access/access-step.js";
import type { AccessOrgPort } from "../access/dataverse-access.js";
import { isRecordGone } from "../dataverse/errors.js";

export interface SyncSettings {
  map: AttributeMap;
  /** This org's naming and anchoring rule (identity.ts). */
  identity: OrgIdentity;
  threshold: DisableThreshold;
  scopeGroupIds: readonly string[];
  /** This org's access rules (absent or none: no access managed). */
  access?: OrgAccessSettings;
  /** SYNC_LICENSE_SKUS for this org (online orgs only; absent or empty: every user is licensed). */
  licenseSkus?: readonly string[];
}

export interface OrgSyncDependencies {
  directory: DirectoryPort & GroupsDeltaSource;
  dataverse: DataverseOrgPort;
  orgState: OrgStateStore;
  /** Saves the run's record at checkpoints. */
  runs: Pick<RunStore, "save">;
  /** Appends to the run's change list (its tally counts the entries). */
  recordChanges: RecordChanges;
  remap?: RemapPort;
  /** The org's access port (roles, teams, units), when access rules apply to it. */
  access?: AccessOrgPort;
  /** The rule groups' membership changes (Graph groups/delta), when access rules apply. */
  groupsDelta?: GroupsDeltaSource;
  log: (message: string) => void;
  now?: () => Date;
}

/** Runs (or continues) the round for `tally.org`, accumulating its outcome in `tally`. Throws on failure. */
export async function runOrgSync(tally: RunTally, settings: SyncSettings, deps: OrgSyncDependencies, abortSignal?: AbortSignal): Promise<void> {
  const run = await OrgSyncRun.open(tally, settings, deps, abortSignal);
  await run.run();
}

interface OrgSyncRunState {
  /** The org's saved state (cursor, round, scope members), saved as the run goes. */
  state: OrgSyncState;
  retries: CarriedForward;
  pending: PendingDisables;
  source: IndexSource;
  /** With scope groups: the scope now and how it changed. */
  scope: ScopeRead | undefined;
  /** Where the delta chain continues; undefined = a new round from its start. */
  link: string | undefined;
  /** The access step, when access rules apply to the org. */
  access: AccessStep | undefined;
}

/** One org's run: what it knows lives here, and each step is a method. */
class OrgSyncRun {
  private readonly org: string;
  private readonly now: () => Date;
  private readonly plan: PlanOptions;
  private readonly select: string[];
  /** Users whose write failed in this run (the error list is capped, so it cannot be the source of truth). */
  private readonly failedThisRun = new Set<string>();
  private readonly seenThisRun = new Set<string>();
  /** Scoped runs: directory object ids (keys) this run planned, whatever the org's anchor. */
  private readonly plannedThisRun = new Set<string>();
  private page = 0;
  /** What the chain being followed is: users/delta pages, or a full round's /users listing. */
  private chain: "next" | "list" = "next";

  private constructor(
    private readonly tally: RunTally,
    private readonly settings: SyncSettings,
    private readonly deps: OrgSyncDependencies,
    private readonly abortSignal: AbortSignal | undefined,
    private readonly its: OrgSyncRunState,
  ) {
    this.org = tally.org;
    this.now = deps.now ?? (() => new Date());
    const inScope = its.scope?.members;
    this.plan = { map: settings.map, identity: settings.identity, inScope: inScope ? (id) => inScope.has(objectIdKey(id)) : undefined, licensed: licensedBy(settings.licenseSkus) };
    this.select = [...graphSelect(settings.map, settings.identity), ...(this.plan.licensed ? ["assignedLicenses"] : [])];
  }

  /** Recovers cut-off remaps, loads the org's state, and starts a full round or continues the saved one. */
  static async open(tally: RunTally, settings: SyncSettings, deps: OrgSyncDependencies, abortSignal?: AbortSignal): Promise<OrgSyncRun> {
    const org = tally.org;
    if (deps.remap && !tally.dryRun) await deps.remap.recover(org, { abortSignal });
    // Independent reads: one round trip's wait instead of three.
    const [state, retries, pending] = await Promise.all([deps.orgState.get(org), CarriedForward.load(deps.orgState, org, tally.dryRun), PendingDisables.load(deps.orgState, tally)]);
    const scoped = settings.scopeGroupIds.length > 0;
    // A full scoped round reads the whole org while the groups are read: it needs both, and neither waits on the other.
    const early = scoped && scopedRunIsFull(state, tally.mode, settings.scopeGroupIds)
      ? settled(IndexSource.open(deps.dataverse, settings.map, settings.identity, true, abortSignal))
      : undefined;
    const scope = scoped ? await readScope(deps.directory, deps.orgState, state, settings.scopeGroupIds, abortSignal) : undefined;
    const link = startOrContinueRound(state, tally, scope);
    const source = await (early ?? IndexSource.open(deps.dataverse, settings.map, settings.identity, tally.mode !== "incremental", abortSignal));
    // The saved members belong to a scoped run over the same groups; a run without scope voids them.
    if (!scope && !tally.dryRun) state.scopeMembers = undefined;
    const access = settings.access?.rules.length && deps.access && deps.groupsDelta
      ? AccessStep.open(tally, state, settings.access, { ...deps, access: deps.access, groupsDelta: deps.groupsDelta }, abortSignal)
      : undefined;
    return new OrgSyncRun(tally, settings, deps, abortSignal, { state, retries, pending, source, scope, link, access });
  }

  async run(): Promise<void> {
    await this.retryCarriedForward();
    if (this.its.scope) {
      await this.runScoped(this.its.scope);
    } else {
      await this.followDelta(this.its.link);
      if (this.tally.mode === "full") await this.its.pending.queue(planOrphans(this.its.source.index, await this.seenInRound(), this.plan));
    }
    await this.finishRound();
  }

  /** A scoped run: incremental from the saved links when it can, else a full round over the members. */
  private async runScoped(scope: ScopeRead): Promise<void> {
    if (scope.resets.length > 0) this.deps.log(`sync ${this.org}: scope groups read whole again (${scope.resets.join(", ")})`);
    const concerns = new Set([...scope.members, ...scope.changes.left]);
    const incremental = this.tally.mode === "incremental" && (await this.followDelta(this.its.link, (id) => concerns.has(id)));
    if (incremental) await this.applyScopeChanges(scope);
    else await this.fullScopedRound(scope);
    if (!this.tally.dryRun) await saveScope(this.deps.orgState, this.its.state, scope);
  }

  /**
   * Members who joined and were not among the delta's changes are read by id (new, or back in scope); records of
   * users who left every scope group are disabled (they are looked up by object id, when not read already).
   */
  private async applyScopeChanges(scope: ScopeRead): Promise<void> {
    const joined = scope.changes.joined.filter((id) => !this.plannedThisRun.has(id));
    if (joined.length > 0) this.deps.log(`sync ${this.org}: reading ${joined.length} member(s) who joined the scope groups`);
    await this.applyUsersById(joined);
    const left = new Set(scope.changes.left.filter((id) => !this.plannedThisRun.has(id)));
    if (left.size === 0) return;
    await this.its.source.load([...left].map((id) => ({ kind: "removed", id, reason: "changed" })), this.abortSignal);
    await this.its.pending.queue(planOutOfScope(this.its.source.index, scope.members).filter((a) => "objectId" in a && left.has(a.objectId)));
  }

  /**
   * Every member read by id, then out-of-scope and vanished records queued for disabling. The users/delta link is
   * taken first, so a change made while the members are read shows in the next run (at worst twice).
   */
  private async fullScopedRound(scope: ScopeRead): Promise<void> {
    const { state } = this.its;
    const link = await this.deps.directory.usersDeltaLatest(this.select, { abortSignal: this.abortSignal });
    await this.applyUsersById([...scope.members]);
    const index = this.its.source.index;
    await this.its.pending.queue(planOutOfScope(index, scope.members));
    // Members not found by id are gone from the directory; records of non-members were queued just above.
    await this.its.pending.queue(planOrphans(index, this.seenThisRun, this.plan).filter((a) => "objectId" in a && scope.members.has(a.objectId)));
    if (this.tally.dryRun) return;
    Object.assign(state, { cursor: link, cursorKind: "delta", cursorSavedAt: this.now().toISOString(), roundMode: "full" });
    await this.deps.orgState.save(state);
  }

  /** Hands the run store the record as it stands. */
  private checkpoint(): Promise<void> {
    return this.deps.runs.save(this.tally.snapshot());
  }

  /** Users whose writes failed in an earlier run are fetched by id and planned again first (carried-forward.ts). */
  private async retryCarriedForward(): Promise<void> {
    const ids = this.its.retries.list();
    if (ids.length === 0) return;
    this.deps.log(`sync ${this.org}: retrying ${ids.length} user(s) whose writes failed in an earlier run`);
    // Users not found (left the directory) are handled too: the delta reports their removal.
    await this.applyUsersById(ids);
    await this.checkpoint();
  }

  /**
   * Follows the round's chain from `link` to its end, a step at a time: users/delta pages, or in an unscoped full
   * round the /users listing. An expired cursor or refused listing link restarts it once as a full round. With `keep`
   * (scoped runs), only the changes of the directory ids it keeps are applied, and an expired cursor ends the chain
   * (returns false): the caller runs its own full round.
   */
  private async followDelta(link: string | undefined, keep?: (directoryId: string) => boolean): Promise<boolean> {
    this.chain = !keep && this.tally.mode === "full" && (link === undefined || this.its.state.cursorKind === "list") ? "list" : "next";
    let reader = await this.chainReader(link);
    let reset = false;
    try {
      for (;;) {
        this.abortSignal?.throwIfAborted();
        let delta: DeltaPage;
        try {
          delta = await reader.read(link);
        } catch (error) {
          if (!(error instanceof DeltaResetError) || reset) throw error;
          reset = true;
          await this.restartAsFullRound(error);
          if (keep) return false;
          reader.close();
          [this.chain, link] = ["list", undefined];
          reader = await this.chainReader(link);
          continue;
        }
        await this.applyDeltaPage(keep ? { ...delta, changes: delta.changes.filter((c) => keep(directoryKey(c))) } : delta);
        if (!delta.nextLink) return true;
        link = delta.nextLink;
      }
    } finally {
      reader.close();
    }
  }

  /**
   * A reader of the chain `this.chain` names from `link`. A listing started afresh takes its delta link first (a
   * change made from then on shows in the next round); a listing's last page ends the round on that link.
   */
  private async chainReader(link: string | undefined): Promise<DeltaReader> {
    const { directory } = this.deps;
    const options = { abortSignal: this.abortSignal };
    if (this.chain === "next") return new DeltaReader((at) => directory.usersDeltaPage(at, this.select, options));
    const { state } = this.its;
    const deltaLink = link === undefined ? await directory.usersDeltaLatest(this.select, options) : state.roundDeltaLink!;
    if (!this.tally.dryRun) state.roundDeltaLink = deltaLink;
    const listPage: FetchPage = async (at) => {
      const page = await directory.usersListPage(at, this.select, options);
      return page.nextLink ? page : { ...page, deltaLink };
    };
    return new DeltaReader(listPage);
  }

  /** Expired or reset cursor: start a full round by itself. */
  private async restartAsFullRound(error: DeltaResetError): Promise<void> {
    this.tally.resynced(error.upstreamCode);
    this.deps.log(`sync ${this.org}: delta cursor reset (${error.upstreamCode}); starting a full round`);
    startFullRound(this.its.state, this.tally);
    await this.its.source.readWholeOrg(this.abortSignal);
  }

  private async applyDeltaPage(delta: DeltaPage): Promise<void> {
    const { tally, settings } = this;
    this.page++;
    const { matchedElsewise, failed } = await this.applyPage(delta.changes);
    const ids = [...delta.changes.map((c) => changeKey(c, settings.identity)), ...matchedElsewise];
    for (const id of ids) this.seenThisRun.add(id);
    if (this.its.scope) for (const change of delta.changes) this.plannedThisRun.add(directoryKey(change));
    if (tally.dryRun) return;
    // The seen ids and the carried-forward failures are independent writes: both land before the report and cursor.
    const seen = tally.mode === "full" ? this.deps.orgState.addSeenIds(this.its.state.roundId!, Date.now() * 1000 + this.page, ids) : undefined;
    await Promise.all([seen, this.savePage(delta, delta.changes.map(directoryKey), failed, seen)]);
  }

  /**
   * The page's outcome first (failures carried forward, then the report), the cursor last: a save that fails
   * leaves the cursor on this page, so the retry re-applies it instead of skipping it.
   */
  private async savePage(delta: DeltaPage, handled: readonly string[], failed: ReadonlySet<string>, before?: Promise<void>): Promise<void> {
    const { state } = this.its;
    await this.its.retries.record(handled, failed);
    await before;
    await this.checkpoint();
    state.cursor = delta.nextLink ?? delta.deltaLink;
    state.cursorKind = delta.nextLink ? this.chain : "delta";
    if (!delta.nextLink) state.roundDeltaLink = undefined;
    state.cursorSavedAt = this.now().toISOString();
    state.roundMode = this.tally.mode;
    await this.deps.orgState.save(state);
  }

  /**
   * Reads users by directory object id (300 at a time: one Graph JSON batch) and applies them like a delta page;
   * users not found are left out (a delta or a full round reports them gone).
   */
  private async applyUsersById(ids: readonly string[]): Promise<void> {
    const read = (from: number) => settled(this.deps.directory.getUsersByIds(ids.slice(from, from + USERS_PER_READ), this.select, { abortSignal: this.abortSignal }));
    let ahead = ids.length > 0 ? read(0) : undefined;
    for (let i = 0; i < ids.length; i += USERS_PER_READ) {
      this.abortSignal?.throwIfAborted();
      const batch = ids.slice(i, i + USERS_PER_READ);
      const users = await ahead!;
      // The next batch is read while this one is applied (as the delta reader reads a page ahead).
      ahead = i + USERS_PER_READ < ids.length ? read(i + USERS_PER_READ) : undefined;
      const changes: DirectoryChange[] = users.map((user) => ({ kind: "upsert", user }));
      const { failed, matchedElsewise } = await this.applyPage(changes);
      for (const id of [...changes.map((c) => changeKey(c, this.settings.identity)), ...matchedElsewise]) this.seenThisRun.add(id);
      if (this.its.scope) for (const change of changes) this.plannedThisRun.add(directoryKey(change));
      if (!this.tally.dryRun) await this.its.retries.record(batch, failed);
    }
  }

  /**
   * Plans and applies one page. Returns the directory object ids (keys) whose write failed, and the anchors of
   * records matched under another key than their change's (on-premises users without a GUID anchor, matched by
   * domainname), so a full round counts them as seen.
   */
  private async applyPage(changes: readonly DirectoryChange[]): Promise<{ failed: Set<string>; matchedElsewise: string[] }> {
    const { tally, deps } = this;
    await this.its.source.load(changes, this.abortSignal);
    const planned = await this.planPage(changes);
    const held = await this.holdCreatesUnderRemap(planned.writes);
    const applied = await applyWriteActions(deps.dataverse, this.its.source.index, held.writes, { dryRun: tally.dryRun, abortSignal: this.abortSignal, now: this.now });
    applied.entries.push(...held.entries);
    tally.recordErrors([...applied.errors, ...held.errors]);
    for (const action of planned.remaps) applied.entries.push(await this.applyRemap(action));
    await this.its.pending.queue(planned.disables);
    await deps.recordChanges([...applied.entries, ...planned.others]);
    const touched = changes.flatMap((c) => (c.kind === "upsert" ? [{ objectId: c.user.id, anchor: changeKey(c, this.settings.identity) }] : []));
    await this.its.access?.touch(touched, createdBy(applied.entries), this.its.source.index, this.abortSignal);
    return { failed: this.failedOf(changes, applied.entries), matchedElsewise: planned.matchedElsewise };
  }

  /** Plans every change of a page (pure core) and sorts the actions by how they are applied. */
  private async planPage(changes: readonly DirectoryChange[]): Promise<PlannedPage> {
    const { tally } = this;
    const index = this.its.source.index;
    const page: PlannedPage = { writes: [], remaps: [], disables: [], others: [], matchedElsewise: [] };
    for (const change of changes) {
      tally.count("scanned");
      const action = planChange(change, index, this.plan);
      const systemUserId = "systemUserId" in action ? action.systemUserId : undefined;
      const anchor = systemUserId ? index.get(systemUserId)?.objectId : undefined;
      if (anchor && anchor !== changeKey(change, this.settings.identity)) page.matchedElsewise.push(anchor);
      if (action.kind !== "disable" && systemUserId) await this.its.pending.cancel(systemUserId);
      sortAction(action, page, tally);
    }
    return page;
  }

  /** Creates of users whose record an open remap holds on its temporary account wait for it (remap-pending.ts). */
  private async holdCreatesUnderRemap(writes: UserAction[]): Promise<HeldCreates> {
    const none: HeldCreates = { writes, entries: [], errors: [] };
    if (this.tally.dryRun || !this.deps.remap || !writes.some((a) => a.kind === "create")) return none;
    return holdCreatesUnderRemap(writes, await this.deps.remap.pendingTargets(this.org, { abortSignal: this.abortSignal }), this.now());
  }

  /** The directory object ids (keys) whose write failed; entries name the org's anchor (the AD GUID on-premises). */
  private failedOf(changes: readonly DirectoryChange[], entries: readonly ChangeEntry[]): Set<string> {
    const directoryIdOf = new Map(changes.map((c) => [changeKey(c, this.settings.identity), directoryKey(c)]));
    const failed = new Set(entries.flatMap((e) => (e.outcome === "failed" && e.objectId ? [directoryIdOf.get(objectIdKey(e.objectId)) ?? objectIdKey(e.objectId)] : [])));
    for (const id of failed) this.failedThisRun.add(id);
    return failed;
  }

  private async applyRemap(action: RemapAction): Promise<ChangeEntry> {
    const { tally } = this;
    const index = this.its.source.index;
    if (tally.dryRun) {
      applyToIndex(index, action);
      return entryFor(action, "planned")!;
    }
    const target = { org: this.org, dataverse: this.deps.dataverse, remap: this.deps.remap, requestedBy: `sync:${tally.runId}` };
    const { entry, result, error } = await applyRemap(action, target, this.abortSignal);
    if (result === "failed") tally.recordErrors([{ objectId: action.objectId, systemUserId: action.systemUserId, ...error!, at: this.now().toISOString() }]);
    if (result === "applied") applyToIndex(index, action);
    return entry;
  }

  /**
   * The object ids the round returned: this run's, and in a full round those of its earlier runs too (none when
   * this run started the round: re-reading its own rows would cost a million strings at a million users).
   */
  private async seenInRound(): Promise<ReadonlySet<string>> {
    if (this.tally.mode !== "full" || this.tally.dryRun || this.its.link === undefined) return this.seenThisRun;
    return new Set([...this.seenThisRun, ...(await this.deps.orgState.listSeenIds(this.its.state.roundId!))]);
  }

  /**
   * The round's access (against its own threshold), then its disables against theirs: each applied, or held back
   * with the run halted for approval.
   */
  private async finishRound(): Promise<void> {
    const { tally, settings, deps } = this;
    const { pending, source } = this.its;
    const accessHalt = await this.finishAccess();
    const managed = await source.managedEnabled(pending.size, settings.threshold, this.abortSignal);
    const check = describeDisableThreshold(pending.size, managed, settings.threshold);
    const holdDisables = check.exceeded && tally.approvedBy === undefined;
    if (holdDisables) {
      deps.log(`sync ${this.org}: ${check.message}`);
      await deps.recordChanges(pending.values().map((p) => ({ objectId: p.objectId, systemUserId: p.systemUserId, displayName: p.displayName, logon: p.logon, action: "disable", reason: p.reason, outcome: "pending-approval" as const })));
    } else {
      await applyPendingDisables(tally, pending.values(), source.index, deps, this.abortSignal);
    }
    if (!holdDisables && !accessHalt) {
      tally.succeed();
      return;
    }
    tally.halt({ pendingDisables: holdDisables ? pending.size : 0, limit: check.limit, threshold: check.threshold, ...(accessHalt ? { access: accessHalt } : {}) });
  }

  /** Plans and applies the round's access; returns the hold when its removals exceed the threshold. */
  private async finishAccess(): Promise<{ removals: number; limit: number; threshold: string } | undefined> {
    const { access, pending, source, retries } = this.its;
    if (!access) return undefined;
    const threshold = this.settings.access!.threshold;
    const excluded = new Set(pending.values().map((p) => p.systemUserId));
    // The base is shown only when the removals halt the run: counting may stop once it admits them.
    const outcome = await access.finish(source.index, excluded, (n) => source.managedEnabled(n, threshold, this.abortSignal, true), this.abortSignal);
    await this.deps.recordChanges(outcome.entries);
    if (!this.tally.dryRun) await retries.record(outcome.failed, new Set(outcome.failed));
    if (!outcome.halt) return undefined;
    this.deps.log(`sync ${this.org}: ${outcome.halt.message}`);
    return { removals: outcome.halt.removals, limit: outcome.halt.limit, threshold: outcome.halt.threshold };
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

/**
 * Puts an action where it is applied from (writes in bulk, remaps one by one, disables at the round's end); an
 * action with nothing to apply is counted here, or listed (and counted then) when it is worth reporting.
 */
function sortAction(action: UserAction, page: PlannedPage, tally: RunTally): void {
  switch (action.kind) {
    case "create": case "update": case "enable": page.writes.push(action); break;
    case "remap": page.remaps.push(action); break;
    case "disable": page.disables.push(action); break;
    case "unchanged": tally.count("unchanged"); break;
    case "skip": {
      const entry = entryFor(action, "planned");
      if (entry) page.others.push(entry);
      else tally.count("skipped");
      break;
    }
  }
}

/** Users read by id at a time: one Graph JSON batch of 20 requests of 15 ids. */
const USERS_PER_READ = 300;

/** The users whose record a page's writes created (their anchors). */
const createdBy = (entries: readonly ChangeEntry[]) => entries.flatMap((e) => (e.action === "create" && e.outcome === "applied" && e.objectId ? [e.objectId] : []));

/** The directory object id a change is about, as a key. */
const directoryKey = (change: DirectoryChange) => objectIdKey(change.kind === "upsert" ? change.user.id : change.id);

/** Work started ahead: its failure surfaces when it is awaited, never as an unhandled rejection meanwhile. */
function settled<T>(work: Promise<T>): Promise<T> {
  work.catch(() => undefined);
  return work;
}

/** Starts a full round, or continues the saved one; returns where the delta chain continues. */
function startOrContinueRound(state: OrgSyncState, tally: RunTally, scope: ScopeRead | undefined): string | undefined {
  // A scoped round continues only from a complete round's link over the same, known membership; a run that is no
  // longer scoped starts over, as users out of the old scope were never read.
  const scopeChanged = scope ? scope.before === undefined || state.cursorKind !== "delta" : state.scopeMembers !== undefined;
  if (scopeChanged) {
    startFullRound(state, tally);
    return undefined;
  }
  // This run's own full round cut off mid-chain (its message redelivered): continue it, don't start over.
  const midChain = state.cursorKind === "next" || (state.cursorKind === "list" && state.roundDeltaLink !== undefined);
  const resumingOwnRound = state.roundId === tally.runId && midChain && state.cursor !== undefined;
  if (!resumingOwnRound && (tally.mode === "full" || !state.cursor || (state.cursorKind === "list" && !midChain))) {
    startFullRound(state, tally);
    return undefined;
  }
  tally.setMode(state.cursorKind === "list" || (state.roundMode === "full" && state.cursorKind === "next") ? "full" : "incremental");
  return state.cursor;
}

function startFullRound(state: OrgSyncState, tally: RunTally): void {
  tally.setMode("full");
  if (tally.dryRun) return;
  state.cursor = undefined;
  state.cursorKind = undefined;
  state.roundDeltaLink = undefined;
  state.roundMode = "full";
  state.roundId = tally.runId;
}

/** Applies disables (after the round, or on approval) and clears them from the pending list. */
export async function applyPendingDisables(
  tally: RunTally,
  disables: PendingDisable[],
  index: UserIndex,
  deps: Pick<OrgSyncDependencies, "dataverse" | "orgState" | "recordChanges" | "now">,
  abortSignal: AbortSignal | undefined,
): Promise<void> {
  if (disables.length === 0) return;
  const actions: UserAction[] = disables.map((d) => ({
    kind: "disable", systemUserId: d.systemUserId, objectId: d.objectId, matchedBy: "objectId", reason: d.reason,
    who: { ...(d.displayName ? { displayName: d.displayName } : {}), ...(d.logon ? { logon: d.logon } : {}) },
  }));
  const applied = await applyWriteActions(deps.dataverse, index, actions, { dryRun: tally.dryRun, abortSignal, now: deps.now });
  tally.recordErrors(applied.errors);
  await deps.recordChanges(applied.entries);
  if (!tally.dryRun) {
    const done = applied.entries.filter((e) => e.outcome === "applied" || isRecordGone(e.error?.code)).map((e) => e.systemUserId!);
    await deps.orgState.removePendingDisables(tally.org, done);
  }
}
