import { describe, expect, it } from "vitest";
import { GROUP_IDS_PER_CHAIN, groupMembersDeltaUrl, groupSetKey, parseGroupMembersDeltaPage, readGroupMembersDelta, type GroupMembersDeltaPageReader } from "../../shared/directory/group-members-delta.js";
import { DeltaResetError } from "../../shared/directory/types.js";

const gid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

describe("groups/delta with members", () => {
  it("parses member adds and removals, leaves out non-user members, and reports deleted groups", () => {
    const page = parseGroupMembersDeltaPage({
      "@odata.nextLink": "https://graph/next",
      value: [
        { id: "G1", "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: "U1" }, { "@odata.type": "#microsoft.graph.user", id: "u2", "@removed": { reason: "deleted" } }, { "@odata.type": "#microsoft.graph.group", id: "g9" }] },
        { id: "g2", "@removed": { reason: "changed" } },
      ],
    });
    expect(page).toEqual({
      changes: [{ groupId: "g1", memberId: "u1", removed: false }, { groupId: "g1", memberId: "u2", removed: true }],
      removedGroups: ["g2"], nextLink: "https://graph/next", deltaLink: undefined,
    });
  });

  it("filters a chain's first page by group id, escaping each literal", () => {
    expect(decodeURIComponent(groupMembersDeltaUrl("https://graph.microsoft.com/v1.0", ["a", "o'b"]))).toBe("https://graph.microsoft.com/v1.0/groups/delta?$select=members&$filter=id eq 'a' or id eq 'o''b'");
  });

  it("reads one chain per 50 groups to its delta link, and starts over when the saved cursor is reset", async () => {
    const groups = Array.from({ length: GROUP_IDS_PER_CHAIN + 1 }, (_, i) => gid(i));
    const calls: string[] = [];
    let expired = false;
    const reader: GroupMembersDeltaPageReader = async (start) => {
      if ("groupIds" in start) {
        calls.push(`start:${start.groupIds.length}`);
        return { changes: [{ groupId: start.groupIds[0]!, memberId: "u", removed: false }], removedGroups: [], nextLink: `next-${start.groupIds.length}` };
      }
      calls.push(start.link);
      if (start.link.startsWith("delta") && expired) throw new DeltaResetError("410 Gone");
      return { changes: [], removedGroups: [], deltaLink: `delta-${start.link}` };
    };
    const first = await readGroupMembersDelta(reader, groups, undefined);
    expect(first).toMatchObject({ reset: true, cursor: [`delta-next-${GROUP_IDS_PER_CHAIN}`, "delta-next-1"] });
    expect(first.changes).toHaveLength(2);
    expect(calls).toEqual([`start:${GROUP_IDS_PER_CHAIN}`, `next-${GROUP_IDS_PER_CHAIN}`, "start:1", "next-1"]);

    calls.length = 0;
    const again = await readGroupMembersDelta(reader, groups, first.cursor);
    expect(again).toMatchObject({ reset: false, changes: [] });
    expect(calls).toEqual(first.cursor);

    expired = true;
    const restarted = await readGroupMembersDelta(reader, groups, first.cursor);
    expect(restarted.reset).toBe(true);
    expect(restarted.changes).toHaveLength(2);
    expect(groupSetKey(["B", "a", "b"])).toBe("a,b");
  });
});
