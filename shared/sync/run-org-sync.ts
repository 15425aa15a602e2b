// One org's sync run (contract §3): read the org's systemusers once into an index, then for each Graph delta
// page plan every change (pure core), apply the writes, journal disables, and save the cursor after the page
// is applied. At the end of the round, disables are checked against the threshold and applied, or the run
// halts for approval. A run cut off anywhere resumes from the saved cursor with nothing lost.
// Incremental runs without scope groups read no full index: each page looks up only its own records
// (page-lookup.ts); full rounds and scoped runs need every record (orphans, out-of-scope users). Scoped runs
// also fetch the members who joined a scope group since the last scoped run (scope-catch-up.ts).
// Nothing is lost to a failed write or a failed save: a page's outcome (changes, report, carried-forward
// failures) is durable before its cursor moves on, and users whose writes failed are carried forward to the
// next run (see carryForward below).
import type { DataverseOrgPort } from "../dataverse/types.js";
import { DeltaResetError, type DeltaPage, type DirectoryChange, type DirectoryPort } from "../directory/types.js";
import type { DisableThreshold } from "./domain.js";
import { anchorColumn, changeKey, isOnPremises, type OrgIdentity } from "./identity.js";
import { applyWriteActions, columnsLeftAfterRemap, entryFor } from "./apply-actions.js";
import { graphSelect, type AttributeMap } from "./mapping.js";
import { applyToIndex, planChange, planOrphans, type PlanOptions, type UserAction } from "./plan.js";
import { describeDisableThreshold } from "./threshold.js";
import { countManagedEnabled, PageLookup } from "./page-lookup.js";
import { fetchUsersAsChanges, scopeCatchUpIds } from "./scope-catch-up.js";
import { indexSelect, isProtected, objectIdKey, UserIndex } from "./user-index.js";
import type { OrgStateStore, OrgSyncState, PendingDisable } from "./org-state-store.js";
import type { RunStore } from "./run-store.js";
import type { RemapPort } from "./remap-port.js";
import { recordErrors, type ChangeEntry, type RunReport } from "./run-report.js";

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
  const now = deps.now ?? (() => new Date());
  const org = report.org;
  // A redelivered run appends after what its earlier attempt recorded: that attempt wrote fewer chunk rows than
  // changes, so numbering from the change count never overwrites one (and keeps the order).
  const recorded = { count: report.changes.length, chunk: report.changes.length };
  const record = async (entries: ChangeEntry[]) => deps.runs.appendChanges(report, recorded, entries);

  if (deps.remap && !report.dryRun) await deps.remap.recover(org, { abortSignal });

  const state = await deps.orgState.get(org);
  // Users whose writes failed in earlier runs (carried forward); a dry run neither reads nor changes them.
  const retrySet = new Set(report.dryRun ? [] : await deps.orgState.listRetries(org));
  // Users whose write failed in this run (the error list is capped, so it cannot be the source of truth).
  const failedThisRun = new Set<string>();
  const inScope = await scopeOf(deps.directory, settings.scopeGroupIds, abortSignal);
  const plan: PlanOptions = { map: settings.map, identity: settings.identity, inScope: inScope ? (id) => inScope.has(objectIdKey(id)) : undefined };
  const select = graphSelect(settings.map, settings.identity);

  // Disables wait (durably) until the round ends; a later change in the round may cancel them.
  const pending = new Map<string, PendingDisable>();
  for (const p of await deps.orgState.listPendingDisables(org)) pending.set(p.systemUserId, p);

  let link: string | undefined;
  // This run's own full round cut off mid-chain (its message redelivered): continue it, don't start over.
  const resumingOwnRound = state.roundId === report.runId && state.cursorKind === "next" && state.cursor !== undefined;
  if (!resumingOwnRound && (report.mode === "full" || !state.cursor)) {
    startFullRound(state, report);
  } else {
    link = state.cursor;
    report.mode = state.roundMode === "full" && state.cursorKind === "next" ? "full" : "incremental";
  }
  const anchor = anchorColumn(settings.identity);
  let index = new UserIndex(settings.map, anchor);
  // Lookup mode until the run turns into a full round. On-premises orgs always read the whole org: their records
  // are found by AD GUID, which only the directory user (not a removal) carries.
  let lookup: PageLookup | undefined;
  if (report.mode === "incremental" && !inScope && !isOnPremises(settings.identity)) lookup = new PageLookup(deps.dataverse, index, settings.map, settings.identity);
  else index = await readIndex(deps.dataverse, settings.map, anchor, abortSignal);
  const seenThisRun = new Set<string>();
  const scopeKey = [...settings.scopeGroupIds].map(objectIdKey).sort().join(",");
  // The saved members belong to a scoped run over the same groups; a run without scope voids them.
  if (!inScope && !report.dryRun) state.scopeMembers = undefined;
  let page = 0;
  let reset = false;
  // Graph's delta chain is sequential: the next page is fetched while this one is applied (read-ahead of one).
  let ahead: Promise<DeltaPage> | undefined;

  await retryCarriedForward();

  for (;;) {
    abortSignal?.throwIfAborted();
    let delta;
    try {
      delta = await (ahead ?? deps.directory.usersDeltaPage(link, select, { abortSignal }));
      ahead = delta.nextLink ? readAhead(deps.directory.usersDeltaPage(delta.nextLink, select, { abortSignal })) : undefined;
    } catch (error) {
      ahead = undefined;
      if (!(error instanceof DeltaResetError) || reset) throw error;
      // Expired or reset cursor: start a full round by itself (contract §3).
      reset = true;
      report.resync = error.code;
      deps.log(`sync ${org}: delta cursor reset (${error.code}); starting a full round`);
      startFullRound(state, report);
      if (lookup) {
        // The round needs every record now; what the run already knows is its newer view and stays.
        const full = await readIndex(deps.dataverse, settings.map, anchor, abortSignal);
        for (const record of index.records()) full.insert(record);
        index = full;
        lookup = undefined;
      }
      link = undefined;
      continue;
    }
    page++;
    const { matchedElsewise, failed } = await applyPage(delta.changes);
    const ids = [...delta.changes.map((c) => changeKey(c, settings.identity)), ...matchedElsewise];
    const handled = delta.changes.map(directoryKey);
    for (const id of ids) seenThisRun.add(id);
    if (report.mode === "full" && !report.dryRun) await deps.orgState.addSeenIds(state.roundId!, Date.now() * 1000 + page, ids);
    if (!report.dryRun) {
      // The page's outcome first (failures carried forward, then the report), the cursor last: a save that
      // fails leaves the cursor on this page, so the retry re-applies it instead of skipping it.
      await carryForward(handled, failed);
      await deps.runs.save(report);
      state.cursor = delta.nextLink ?? delta.deltaLink;
      state.cursorKind = delta.nextLink ? "next" : "delta";
      state.cursorSavedAt = now().toISOString();
      state.roundMode = report.mode;
      await deps.orgState.save(state);
    }
    if (!delta.nextLink) break;
    link = delta.nextLink;
  }

  let seen: ReadonlySet<string> = seenThisRun;
  if (report.mode === "full") {
    if (!report.dryRun) seen = new Set([...seenThisRun, ...(await deps.orgState.listSeenIds(state.roundId!))]);
    await queueDisables(planOrphans(index, seen, plan));
  }
  if (inScope) {
    await catchUpScope(inScope, seen);
    await queueDisables(outOfScope(index, inScope));
  }
  await finishRound();

  /** Plans and applies the members the round did not return who need a record or may need enabling. */
  async function catchUpScope(members: ReadonlySet<string>, seen: ReadonlySet<string>): Promise<void> {
    const saved = state.scopeMembers?.groups === scopeKey ? state.scopeMembers : undefined;
    const previous = saved ? await deps.orgState.listScopeMembers(org, saved.rows) : undefined;
    const ids = scopeCatchUpIds(index, members, previous, seen);
    if (ids.length > 0) deps.log(`sync ${org}: fetching ${ids.length} scope member(s) the round did not return`);
    for (let i = 0; i < ids.length; i += 200) {
      abortSignal?.throwIfAborted();
      const batch = ids.slice(i, i + 200);
      const { failed } = await applyPage(await fetchUsersAsChanges(deps.directory, batch, select, { concurrency: 4, abortSignal }));
      if (!report.dryRun) await carryForward(batch, failed);
    }
    if (report.dryRun) return;
    // A member whose write failed is left out, so the next run treats it as new and tries again.
    const remembered = [...members].filter((id) => !failedThisRun.has(id));
    const rows = await deps.orgState.saveScopeMembers(org, remembered, state.scopeMembers?.rows);
    state.scopeMembers = { groups: scopeKey, rows };
    await deps.orgState.save(state);
  }

  /**
   * Why carry failed users forward rather than hold the cursor: the delta cursor is one position for the whole
   * org, so holding it for one user whose write keeps failing (a missing licence, a privilege) would stall
   * every other change behind it, and Graph's delta never returns an unchanged user again once the cursor is
   * past it. So the cursor moves on, and the failed users' object ids are kept per org (OrgStateStore retries,
   * written before the cursor); each later run fetches them by id first and plans them again, until their
   * write succeeds, they need no write, or they left the directory.
   */
  async function retryCarriedForward(): Promise<void> {
    if (retrySet.size === 0) return;
    const ids = [...retrySet];
    deps.log(`sync ${org}: retrying ${ids.length} user(s) whose writes failed in an earlier run`);
    for (let i = 0; i < ids.length; i += 200) {
      abortSignal?.throwIfAborted();
      const batch = ids.slice(i, i + 200);
      const { failed } = await applyPage(await fetchUsersAsChanges(deps.directory, batch, select, { concurrency: 4, abortSignal }));
      // Users not found (left the directory) are handled too: the delta reports their removal.
      await carryForward(batch, failed);
    }
    await deps.runs.save(report);
  }

  /** Records which of the `handled` users still need a retry (`failed`) and which no longer do. */
  async function carryForward(handled: readonly string[], failed: ReadonlySet<string>): Promise<void> {
    const added = [...failed].filter((id) => !retrySet.has(id));
    const settled = handled.filter((id) => retrySet.has(id) && !failed.has(id));
    await deps.orgState.addRetries(org, added);
    await deps.orgState.removeRetries(org, settled);
    for (const id of added) retrySet.add(id);
    for (const id of settled) retrySet.delete(id);
  }

  /**
   * Plans and applies one page. Returns the directory object ids (keys) whose write failed, and the anchors of
   * records matched under another key than their change's (on-premises users without a GUID anchor, matched by
   * domainname), so a full round counts them as seen.
   */
  async function applyPage(changes: readonly DirectoryChange[]): Promise<{ failed: Set<string>; matchedElsewise: string[] }> {
    const matchedElsewise: string[] = [];
    const writes: UserAction[] = [];
    const remaps: Extract<UserAction, { kind: "remap" }>[] = [];
    const disables: UserAction[] = [];
    const others: ChangeEntry[] = [];
    if (lookup) await lookup.load(changes, { abortSignal });
    for (const change of changes) {
      report.counts.scanned++;
      const action = planChange(change, index, plan);
      const anchor = "systemUserId" in action && action.systemUserId ? index.get(action.systemUserId)?.objectId : undefined;
      if (anchor && anchor !== changeKey(change, settings.identity)) matchedElsewise.push(anchor);
      if (action.kind !== "disable" && "systemUserId" in action && action.systemUserId && pending.has(action.systemUserId)) {
        // Back (restored, re-enabled, in scope again) before the round ended: the disable is void.
        pending.delete(action.systemUserId);
        if (!report.dryRun) await deps.orgState.removePendingDisables(org, [action.systemUserId]);
      }
      switch (action.kind) {
        case "create": case "update": case "enable": writes.push(action); break;
        case "remap": remaps.push(action); break;
        case "disable": disables.push(action); break;
        case "unchanged": report.counts.unchanged++; break;
        case "skip": {
          report.counts.skipped++;
          const entry = entryFor(action, "planned");
          if (entry) others.push(entry);
          break;
        }
      }
    }
    const applied = await applyWriteActions(deps.dataverse, index, writes, report.counts, { dryRun: report.dryRun, abortSignal, now });
    recordErrors(report, applied.errors);
    for (const action of remaps) applied.entries.push(await applyRemap(action));
    await queueDisables(disables);
    await record([...applied.entries, ...others]);
    // Entries name the org's anchor (the AD GUID on-premises); retries fetch by directory object id.
    const directoryIdOf = new Map(changes.map((c) => [changeKey(c, settings.identity), directoryKey(c)]));
    const failed = new Set(applied.entries.flatMap((e) => (e.outcome === "failed" && e.objectId ? [directoryIdOf.get(objectIdKey(e.objectId)) ?? objectIdKey(e.objectId)] : [])));
    for (const id of failed) failedThisRun.add(id);
    return { failed, matchedElsewise };
  }

  async function applyRemap(action: Extract<UserAction, { kind: "remap" }>): Promise<ChangeEntry> {
    const entry = entryFor(action, report.dryRun ? "planned" : "applied")!;
    if (report.dryRun) {
      applyToIndex(index, action);
      report.counts.remapped++;
      return entry;
    }
    if (!deps.remap) {
      report.counts.skipped++;
      return { ...entry, action: "remap-needed", outcome: "planned", reason: "the remap procedure is not available" };
    }
    const outcome = await deps.remap.remap({ org, systemUserId: action.systemUserId, objectId: action.objectId, from: action.from, to: action.to, requestedBy: `sync:${report.runId}`, abortSignal });
    if (!outcome.ok) {
      report.counts.failed++;
      recordErrors(report, [{ objectId: action.objectId, systemUserId: action.systemUserId, code: outcome.code, message: outcome.message, at: now().toISOString() }]);
      return { ...entry, outcome: "failed", error: { code: outcome.code, message: outcome.message } };
    }
    const rest = await columnsLeftAfterRemap(deps.dataverse, action, abortSignal);
    if (Object.keys(rest).length > 0) await deps.dataverse.updateSystemUser(action.systemUserId, rest, { abortSignal });
    applyToIndex(index, action);
    report.counts.remapped++;
    return entry;
  }

  async function queueDisables(actions: readonly UserAction[]): Promise<void> {
    const added: PendingDisable[] = [];
    for (const action of actions) {
      if (action.kind !== "disable" || pending.has(action.systemUserId)) continue;
      const item = { systemUserId: action.systemUserId, objectId: action.objectId, reason: action.reason, runId: report.runId };
      pending.set(action.systemUserId, item);
      added.push(item);
    }
    if (!report.dryRun) await deps.orgState.addPendingDisables(org, added);
  }

  async function finishRound(): Promise<void> {
    const check = describeDisableThreshold(pending.size, await managedEnabled(), settings.threshold);
    if (check.exceeded && report.halt?.approvedBy === undefined) {
      report.halt = { pendingDisables: pending.size, limit: check.limit, threshold: check.threshold };
      report.state = "halted";
      deps.log(`sync ${org}: ${check.message}`);
      await record([...pending.values()].map((p) => ({ objectId: p.objectId, systemUserId: p.systemUserId, action: "disable", reason: p.reason, outcome: "pending-approval" as const })));
      return;
    }
    await applyPendingDisables(report, [...pending.values()], index, deps, abortSignal, record);
    report.state = "succeeded";
  }

  /** The base of a percentage threshold; counted from Dataverse only when a lookup-mode run has disables to weigh. */
  async function managedEnabled(): Promise<number> {
    if (!lookup) return index.stats().managedEnabled;
    if (pending.size === 0 || !("percent" in settings.threshold)) return 0;
    return countManagedEnabled(deps.dataverse, { abortSignal });
  }
}

/** Users removed from every scope group do not show in the users delta: disable them from the membership read. */
function outOfScope(index: UserIndex, inScope: ReadonlySet<string>): UserAction[] {
  const actions: UserAction[] = [];
  for (const record of index.records()) {
    if (record.objectId === null || record.disabled || isProtected(record) || inScope.has(record.objectId)) continue;
    actions.push({ kind: "disable", systemUserId: record.systemUserId, objectId: record.objectId, matchedBy: "objectId", reason: "out-of-scope" });
  }
  return actions;
}

/** The directory object id a change is about, as a key. */
const directoryKey = (change: DirectoryChange) => objectIdKey(change.kind === "upsert" ? change.user.id : change.id);

/** A page fetched ahead: its failure surfaces when it is awaited, never as an unhandled rejection meanwhile. */
function readAhead(page: Promise<DeltaPage>): Promise<DeltaPage> {
  page.catch(() => undefined);
  return page;
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
    const done = applied.entries.filter((e) => e.outcome === "applied" || e.error?.code === "0x80040217").map((e) => e.systemUserId!);
    await deps.orgState.removePendingDisables(report.org, done);
  }
}

async function readIndex(dataverse: DataverseOrgPort, map: AttributeMap, anchor: string, abortSignal?: AbortSignal): Promise<UserIndex> {
  const index = new UserIndex(map, anchor);
  for await (const page of dataverse.listSystemUsers(indexSelect(map, anchor), { abortSignal })) index.addPage(page);
  return index;
}

async function scopeOf(directory: DirectoryPort, groupIds: readonly string[], abortSignal?: AbortSignal): Promise<Set<string> | undefined> {
  if (groupIds.length === 0) return undefined;
  const members = new Set<string>();
  for (const groupId of groupIds) for (const id of await directory.listGroupMemberIds(groupId, { abortSignal })) members.add(objectIdKey(id));
  return members;
}
