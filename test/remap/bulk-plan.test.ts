// Pure planning of bulk remaps: rules, conflicts, already-done users.
import { describe, expect, it } from "vitest";
import { buildPlan, rewriteByRule, type PlanFacts, type UserRow } from "../../shared/remap/bulk-plan.js";

const row = (id: string, name: string | null, oid: string | null, extra: Partial<UserRow> = {}): UserRow => ({ systemUserId: id, domainName: name, objectId: oid, fullName: null, ...extra });

describe("rewriteByRule", () => {
  it("rewrites suffixes and prefixes ignoring case, keeping the rest", () => {
    expect(rewriteByRule("Ada.L@Contoso.com", { fromSuffix: "@contoso.com", toSuffix: "@fabrikam.com" })).toBe("Ada.L@fabrikam.com");
    expect(rewriteByRule("ada@other.com", { fromSuffix: "@contoso.com", toSuffix: "@fabrikam.com" })).toBeNull();
    expect(rewriteByRule("CONTOSO\\ada", { fromPrefix: "contoso\\", toPrefix: "FABRIKAM\\" })).toBe("FABRIKAM\\ada");
  });
});

describe("buildPlan", () => {
  const facts = (over: Partial<PlanFacts>): PlanFacts => ({
    requests: [], holdersByName: new Map(), holdersByObject: new Map(), directory: new Map(), identity: "upn", ...over,
  });

  it("plans a remap, a no-op and every kind of conflict", () => {
    const a = row("a", "a@contoso.com", "oa");
    const b = row("b", "b@contoso.com", "ob");
    const c = row("c", "c@fabrikam.com", "oc");
    const d = row("d", "d@contoso.com", "od");
    const stale = row("s", "stale@x.com", "od2");
    const app = row("app", "app@contoso.com", "oapp", { notRemappable: "it is an application user" });
    const plan = buildPlan(facts({
      requests: [
        { user: "a@contoso.com", to: "a@fabrikam.com", row: a },
        { user: "b@contoso.com", to: "b@fabrikam.com", row: b },
        { user: "c@fabrikam.com", to: "c@fabrikam.com", row: c },
        { user: "d@contoso.com", to: "d@fabrikam.com", row: d },
        { user: "gone@contoso.com", to: "gone@fabrikam.com", row: null },
        { user: "app@contoso.com", to: "app@fabrikam.com", row: app },
        { user: "x", to: "same@fabrikam.com", row: row("x", "x@contoso.com", "ox") },
        { user: "y", to: "same@fabrikam.com", row: row("y", "y@contoso.com", "oy") },
      ],
      directory: new Map([
        ["a@fabrikam.com", { objectId: "oa", name: "a@fabrikam.com" }],
        ["c@fabrikam.com", { objectId: "oc", name: "c@fabrikam.com" }],
        ["d@fabrikam.com", { objectId: "od2", name: "d@fabrikam.com" }],
        ["app@fabrikam.com", { objectId: "oapp", name: "app@fabrikam.com" }],
        ["same@fabrikam.com", { objectId: "osame", name: "same@fabrikam.com" }],
      ]),
      holdersByName: new Map([["c@fabrikam.com", [c]]]),
      holdersByObject: new Map([["oa", [a]], ["oc", [c]], ["od2", [stale]]]),
    }));
    expect(plan.map((p) => [p.user, p.action, p.conflicts.map((x) => x.code)])).toEqual([
      ["a@contoso.com", "remap", []],
      ["b@contoso.com", "skip", ["not_in_directory"]],
      ["c@fabrikam.com", "none", []],
      ["d@contoso.com", "skip", ["object_taken"]],
      ["gone@contoso.com", "skip", ["user_not_found"]],
      ["app@contoso.com", "skip", ["not_remappable"]],
      ["x", "skip", ["duplicate_target"]],
      ["y", "skip", ["duplicate_target"]],
    ]);
    expect(plan[0]).toMatchObject({ systemUserId: "a", from: "a@contoso.com", to: "a@fabrikam.com", objectId: "oa" });
    expect(plan[3]!.conflicts[0]).toMatchObject({ systemUserId: "s", domainName: "stale@x.com" });
  });

  it("flags a name held by another record, a repeated user and a name in the wrong form", () => {
    const a = row("a", "a@contoso.com", "oa");
    const other = row("o", "a@fabrikam.com", "zz");
    const plan = buildPlan(facts({
      requests: [
        { user: "a@contoso.com", to: "a@fabrikam.com", row: a },
        { user: "a", to: "b@fabrikam.com", row: a },
        { user: "a", to: "CONTOSO\\a", row: a },
      ],
      directory: new Map([["a@fabrikam.com", { objectId: "oa", name: "a@fabrikam.com" }], ["b@fabrikam.com", { objectId: "ob", name: "b@fabrikam.com" }]]),
      holdersByName: new Map([["a@fabrikam.com", [other]]]),
    }));
    expect(plan[0]!.conflicts.map((c) => [c.code, c.systemUserId])).toEqual([["name_taken", "o"]]);
    expect(plan[1]!.conflicts.map((c) => c.code)).toEqual(["duplicate_user"]);
    expect(plan[2]!.conflicts.map((c) => c.code)).toEqual(["duplicate_user", "invalid_name"]);
  });
});
