// The scope groups' direct members (SYNC_SCOPE_GROUP_IDS), kept per group so that leaving one group while staying
// in another keeps a user in scope. Built from the saved membership and the groups' delta (group-members-delta.ts):
// a whole read replaces a group's members, a delta adds and removes, a deleted group has none. Pure: no I/O.
import type { GroupMembersDelta } from "../directory/group-members-delta.js";
import { objectIdKey } from "./user-index.js";

export interface ScopeChanges {
  /** Members now who were not before (new, or back in scope). */
  joined: string[];
  /** Members before who are in no scope group now. */
  left: string[];
}

export class ScopeMembership {
  private constructor(private readonly groups: Map<string, Set<string>>) {}

  /** From saved rows (one group's members, or part of them, per row). */
  static fromRows(rows: Iterable<{ group: string; ids: readonly string[] }>): ScopeMembership {
    const groups = new Map<string, Set<string>>();
    for (const row of rows) {
      const members = groups.get(row.group) ?? new Set<string>();
      for (const id of row.ids) members.add(id);
      groups.set(row.group, members);
    }
    return new ScopeMembership(groups);
  }

  static empty(): ScopeMembership {
    return new ScopeMembership(new Map());
  }

  /** A copy with `delta` applied, limited to `groupIds` (groups no longer configured are dropped). */
  applied(delta: GroupMembersDelta, groupIds: readonly string[]): ScopeMembership {
    const groups = new Map<string, Set<string>>();
    for (const raw of groupIds) {
      const groupId = objectIdKey(raw);
      const change = delta.groups.get(groupId);
      const members = new Set(change?.whole || change?.deleted ? [] : (this.groups.get(groupId) ?? []));
      if (change && !change.deleted) {
        for (const id of change.added) members.add(objectIdKey(id));
        for (const id of change.removed) members.delete(objectIdKey(id));
      }
      groups.set(groupId, members);
    }
    return new ScopeMembership(groups);
  }

  /** Every member of any group (object id keys). */
  members(): Set<string> {
    const all = new Set<string>();
    for (const members of this.groups.values()) for (const id of members) all.add(id);
    return all;
  }

  /** Who joined and who left compared with `before`. */
  changesSince(before: ScopeMembership): ScopeChanges {
    const now = this.members();
    const then = before.members();
    return { joined: [...now].filter((id) => !then.has(id)), left: [...then].filter((id) => !now.has(id)) };
  }

  /** Rows of at most `perRow` ids, one group each, for storage. */
  toRows(perRow: number): Array<{ group: string; ids: string[] }> {
    const rows: Array<{ group: string; ids: string[] }> = [];
    for (const [group, members] of this.groups) {
      const ids = [...members];
      if (ids.length === 0) rows.push({ group, ids: [] });
      for (let i = 0; i < ids.length; i += perRow) rows.push({ group, ids: ids.slice(i, i + perRow) });
    }
    return rows;
  }
}
