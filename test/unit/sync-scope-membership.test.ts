import { describe, expect, it } from "vitest";
import type { GroupMembersChange, GroupMembersDelta } from "../../shared/directory/group-members-delta.js";
import { ScopeMembership } from "../../shared/sync/scope-membership.js";

const delta = (...changes: Array<Partial<GroupMembersChange> & { groupId: string }>): GroupMembersDelta => ({
  groups: new Map(changes.map((c) => [c.groupId, { whole: false, deleted: false, added: [], removed: [], ...c }])),
  cursor: { chains: [] },
  resets: [],
});

describe("ScopeMembership", () => {
  const saved = ScopeMembership.fromRows([{ group: "a", ids: ["u1", "u2"] }, { group: "b", ids: ["u2", "u3"] }, { group: "b", ids: ["u4"] }]);

  it("keeps a user who leaves one group but stays in another, and reports who joined and left the union", () => {
    const after = saved.applied(delta({ groupId: "a", removed: ["u2", "u1"] }, { groupId: "b", added: ["U5"] }), ["a", "b"]);
    expect([...after.members()].sort()).toEqual(["u2", "u3", "u4", "u5"]);
    expect(after.changesSince(saved)).toEqual({ joined: ["u5"], left: ["u1"] });
  });

  it("replaces a group read whole, empties a deleted group, and drops groups no longer configured", () => {
    const after = saved.applied(delta({ groupId: "a", whole: true, added: ["u9"] }, { groupId: "b", deleted: true }), ["a", "b"]);
    expect([...after.members()].sort()).toEqual(["u9"]);
    const fewer = saved.applied(delta(), ["A"]);
    expect([...fewer.members()].sort()).toEqual(["u1", "u2"]);
  });

  it("round-trips through rows of bounded size, keeping empty groups", () => {
    const withEmpty = saved.applied(delta({ groupId: "c", whole: true }), ["a", "b", "c"]);
    const rows = withEmpty.toRows(2);
    expect(rows.every((r) => r.ids.length <= 2)).toBe(true);
    expect(rows).toContainEqual({ group: "c", ids: [] });
    const back = ScopeMembership.fromRows(rows);
    expect(back.changesSince(withEmpty)).toEqual({ joined: [], left: [] });
    expect([...back.members()].sort()).toEqual(["u1", "u2", "u3", "u4"]);
  });
});
