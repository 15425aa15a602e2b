import { describe, expect, it } from "vitest";
import {
  chainsOf, groupsDeltaFilter, parseGroupsDeltaBody, readGroupMembersDelta,
  type GroupDeltaPage, type GroupsDeltaSource,
} from "../../shared/directory/group-members-delta.js";
import { DeltaResetError } from "../../shared/directory/types.js";

const G1 = "11111111-1111-1111-1111-111111111111";
const G2 = "22222222-2222-2222-2222-222222222222";
const user = (id: string, removed = false) => ({ id, type: "user", removed });

/** A scripted source: pages by link ("start:<groups>" for a chain's first page). */
function source(pages: Record<string, GroupDeltaPage | Error>): GroupsDeltaSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async groupsDeltaPage(link, groupIds) {
      const key = link ?? `start:${groupIds.join(",")}`;
      calls.push(key);
      const page = pages[key];
      if (!page) throw new Error(`unexpected link ${key}`);
      if (page instanceof Error) throw page;
      return page;
    },
  };
}

describe("readGroupMembersDelta", () => {
  it("reads whole memberships over pages, merging a group that spans pages and keeping users only", async () => {
    const src = source({
      [`start:${G1},${G2}`]: { groups: [{ id: G1.toUpperCase(), removed: false, members: [user("A"), user("b")] }], nextLink: "p2" },
      p2: { groups: [{ id: G1, removed: false, members: [user("c"), { id: "dev", type: "device", removed: false }] }, { id: G2, removed: false, members: [user("b")] }], deltaLink: "d1" },
    });
    const delta = await readGroupMembersDelta(src, [G2, G1, G1], undefined);
    expect(delta.groups.get(G1)).toEqual({ groupId: G1, whole: true, deleted: false, added: ["a", "b", "c"], removed: [] });
    expect(delta.groups.get(G2)?.added).toEqual(["b"]);
    expect(delta.cursor).toEqual({ chains: [{ groupIds: [G1, G2], deltaLink: "d1" }] });
    expect(delta.resets).toEqual([]);
  });

  it("reports adds and removes from the saved link, the last word on a repeated member winning", async () => {
    const src = source({
      d1: { groups: [{ id: G1, removed: false, members: [user("a", true), user("x")] }], nextLink: "p2" },
      p2: { groups: [{ id: G1, removed: false, members: [user("x", true), user("y")] }], deltaLink: "d2" },
    });
    const delta = await readGroupMembersDelta(src, [G1], { chains: [{ groupIds: [G1], deltaLink: "d1" }] });
    expect(delta.groups.get(G1)).toEqual({ groupId: G1, whole: false, deleted: false, added: ["y"], removed: ["a", "x"] });
    expect(delta.cursor.chains[0]!.deltaLink).toBe("d2");
  });

  it("reports a deleted group", async () => {
    const src = source({ d1: { groups: [{ id: G1, removed: true, members: [] }], deltaLink: "d2" } });
    const delta = await readGroupMembersDelta(src, [G1], { chains: [{ groupIds: [G1], deltaLink: "d1" }] });
    expect(delta.groups.get(G1)).toMatchObject({ deleted: true, added: [], removed: [] });
  });

  it("restarts a chain whose link expired as a whole read, once", async () => {
    const src = source({ d1: new DeltaResetError("410 Gone"), [`start:${G1}`]: { groups: [{ id: G1, removed: false, members: [user("a")] }], deltaLink: "d9" } });
    const delta = await readGroupMembersDelta(src, [G1], { chains: [{ groupIds: [G1], deltaLink: "d1" }] });
    expect(delta.resets).toEqual(["410 Gone"]);
    expect(delta.groups.get(G1)).toMatchObject({ whole: true, added: ["a"] });
    expect(src.calls).toEqual(["d1", `start:${G1}`]);
  });

  it("does not retry a failing first read, and propagates other errors", async () => {
    await expect(readGroupMembersDelta(source({ [`start:${G1}`]: new DeltaResetError("resyncRequired") }), [G1], undefined)).rejects.toBeInstanceOf(DeltaResetError);
    await expect(readGroupMembersDelta(source({ d1: new Error("boom") }), [G1], { chains: [{ groupIds: [G1], deltaLink: "d1" }] })).rejects.toThrow("boom");
  });

  it("starts over when the cursor covers other groups", async () => {
    const src = source({ [`start:${G1},${G2}`]: { groups: [], deltaLink: "d2" } });
    const delta = await readGroupMembersDelta(src, [G1, G2], { chains: [{ groupIds: [G1], deltaLink: "d1" }] });
    expect(delta.groups.get(G2)).toMatchObject({ whole: true, added: [] });
    expect(src.calls).toEqual([`start:${G1},${G2}`]);
  });

  it("splits more than 50 groups into chains", () => {
    const ids = Array.from({ length: 120 }, (_, i) => `g${String(i).padStart(3, "0")}`);
    expect(chainsOf(ids).map((c) => c.length)).toEqual([50, 50, 20]);
  });
});

describe("groups/delta body and filter", () => {
  it("parses members@delta with types and removals", () => {
    const page = parseGroupsDeltaBody({
      value: [{ id: G1, "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: "a" }, { id: "b", "@removed": { reason: "deleted" } }] }, { id: G2, "@removed": { reason: "changed" } }],
      "@odata.deltaLink": "d",
    });
    expect(page).toEqual({ groups: [{ id: G1, removed: false, members: [{ id: "a", type: "user", removed: false }, { id: "b", type: undefined, removed: true }] }, { id: G2, removed: true, members: [] }], nextLink: undefined, deltaLink: "d" });
  });

  it("builds an id filter", () => {
    expect(groupsDeltaFilter([G1, G2])).toBe(`id eq '${G1}' or id eq '${G2}'`);
  });
});
