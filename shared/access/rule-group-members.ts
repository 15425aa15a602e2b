// The rule groups' direct members, kept per org (Table rows, like the scope members) and moved on by Graph's
// groups/delta, so a run neither re-reads whole groups nor misses a membership change: the delta names the users
// whose memberships changed, and the saved sets plus the delta give everyone's memberships now. A chain read whole
// (first read, reset cursor, changed rule groups) or a group deleted means who left is unknown: `reset`, and the
// run plans every user.
import { readGroupMembersDelta, type GroupMembersChange, type GroupMembersCursor, type GroupsDeltaSource } from "../directory/group-members-delta.js";
import type { OrgStateStore, OrgSyncState } from "../sync/org-state-store.js";
import { objectIdKey } from "../sync/user-index.js";

export class RuleGroupMembers {
  private constructor(
    private readonly members: Map<string, Set<string>>,
    private readonly changedGroups: ReadonlySet<string>,
    readonly cursor: GroupMembersCursor,
    /** Users whose membership of a rule group changed since the saved cursor. */
    readonly changedUsers: readonly string[],
    readonly reset: boolean,
  ) {}

  /** Reads the changes since the saved cursor and applies them to the saved member sets. */
  static async read(orgState: Pick<OrgStateStore, "listGroupMembers">, state: OrgSyncState, source: GroupsDeltaSource, groupIds: readonly string[], signal?: AbortSignal): Promise<RuleGroupMembers> {
    const saved = state.accessMembers ?? {};
    // Sets never saved (a new rule group, or state from before) need a whole read.
    const cursor = groupIds.every((g) => saved[g] !== undefined) ? state.accessGroups : undefined;
    const delta = await readGroupMembersDelta(source, groupIds, cursor, { abortSignal: signal });
    // The saved sets are read concurrently (one Table query each).
    const sets = await Promise.all(groupIds.map(async (group) => {
      const change = delta.groups.get(group);
      const base = change?.whole || change?.deleted ? new Set<string>() : await orgState.listGroupMembers(state.org, group, saved[group] ?? 0);
      return [group, applyChange(base, change)] as const;
    }));
    const members = new Map<string, Set<string>>(sets);
    const changes = [...delta.groups.values()];
    const reset = delta.resets.length > 0 || changes.some((c) => c.whole || c.deleted);
    const changedUsers = reset ? [] : changes.flatMap((c) => [...c.added, ...c.removed]).map(objectIdKey);
    return new RuleGroupMembers(members, new Set(delta.groups.keys()), delta.cursor, changedUsers, reset);
  }

  /** Direct members of a rule group (object id keys); undefined for a group not read. */
  of(groupId: string): ReadonlySet<string> | undefined {
    return this.members.get(groupId);
  }

  /** Saves the changed groups' sets, then the cursor, in the org's state (call once their access is applied). */
  async save(orgState: Pick<OrgStateStore, "get" | "saveGroupMembers" | "update">, org: string): Promise<void> {
    const state = await orgState.get(org);
    const saved = await Promise.all([...this.members].map(async ([group, set]) => {
      const previous = state.accessMembers?.[group];
      return [group, this.changedGroups.has(group) || previous === undefined ? await orgState.saveGroupMembers(org, group, [...set], previous ?? 0) : previous] as const;
    }));
    const rows: Record<string, number> = Object.fromEntries(saved);
    await orgState.update(org, (s) => { s.accessMembers = rows; s.accessGroups = this.cursor; });
  }
}

function applyChange(base: Set<string>, change: GroupMembersChange | undefined): Set<string> {
  if (!change) return base;
  for (const id of change.added) base.add(objectIdKey(id));
  for (const id of change.removed) base.delete(objectIdKey(id));
  return base;
}
