// Scoped runs (SYNC_SCOPE_GROUP_IDS) read their scope from the groups, not from the tenant: the groups' membership
// changes come from groups/delta (group-members-delta.ts) against the membership saved by the last scoped run, so
// a run knows who joined and who left without listing every member again. Saved only after the run applied it.
import { normalizeGroupIds, readGroupMembersDelta, type GroupMembersCursor, type GroupsDeltaSource } from "../directory/group-members-delta.js";
import { SCOPE_MEMBERS_PER_ROW, type OrgStateStore, type OrgSyncState } from "./org-state-store.js";
import { ScopeMembership, type ScopeChanges } from "./scope-membership.js";

export interface ScopeRead {
  /** The configured groups, as stored with the membership. */
  groupsKey: string;
  /** The saved membership; undefined when there is none for these groups (the run must be a full round). */
  before: ScopeMembership | undefined;
  after: ScopeMembership;
  /** Every member now (object id keys). */
  members: ReadonlySet<string>;
  /** Joined and left since `before` (everyone joined when there is no `before`). */
  changes: ScopeChanges;
  cursor: GroupMembersCursor;
  /** Reset codes of group chains that had to be read whole again. */
  resets: string[];
  /** Some group reported anything (its saved rows must be written again; a move between groups keeps the union). */
  groupsChanged: boolean;
}

/** The membership saved by the last scoped run over these groups, if any (without it a scoped run is a full round). */
function savedScope(state: OrgSyncState, groupsKey: string): OrgSyncState["scopeMembers"] {
  return state.scopeMembers?.groups === groupsKey && state.scopeMembers.cursor ? state.scopeMembers : undefined;
}

/** Whether a scoped run over `groupIds` will be a full round (as `startOrContinueRound` decides once the scope is read). */
export function scopedRunIsFull(state: OrgSyncState, mode: string, groupIds: readonly string[]): boolean {
  return mode === "full" || !state.cursor || state.cursorKind !== "delta" || !savedScope(state, normalizeGroupIds(groupIds).join(","));
}

/** The scope now, and how it changed since the last scoped run. */
export async function readScope(
  directory: GroupsDeltaSource,
  orgState: OrgStateStore,
  state: OrgSyncState,
  groupIds: readonly string[],
  abortSignal?: AbortSignal,
): Promise<ScopeRead> {
  const groupsKey = normalizeGroupIds(groupIds).join(",");
  const saved = savedScope(state, groupsKey);
  const before = saved ? ScopeMembership.fromRows(await orgState.listScopeMembers(state.org, saved.rows)) : undefined;
  const delta = await readGroupMembersDelta(directory, groupIds, saved?.cursor, { abortSignal });
  const after = (before ?? ScopeMembership.empty()).applied(delta, groupIds);
  const changes = after.changesSince(before ?? ScopeMembership.empty());
  const groupsChanged = before === undefined || delta.groups.size > 0;
  return { groupsKey, before, after, members: after.members(), changes, cursor: delta.cursor, resets: delta.resets, groupsChanged };
}

/** Saves the membership and the groups' cursor once the run has applied them (state saved last). */
export async function saveScope(orgState: OrgStateStore, state: OrgSyncState, scope: ScopeRead): Promise<void> {
  const rows = !scope.groupsChanged && state.scopeMembers
    ? state.scopeMembers.rows
    : await orgState.saveScopeMembers(state.org, scope.after.toRows(SCOPE_MEMBERS_PER_ROW), state.scopeMembers?.rows);
  state.scopeMembers = { groups: scope.groupsKey, rows, cursor: scope.cursor };
  await orgState.save(state);
}
