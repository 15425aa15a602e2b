import { describe, expect, it } from "vitest";
import type { AccessOrgPort, RoleCopy, Team } from "../../shared/access/dataverse-access.js";
import { resolveOrgAccess } from "../../shared/access/resolve.js";
import type { AccessRule } from "../../shared/config/access-rules.js";

const units = [
  { id: "root", name: "Contoso", parentId: null },
  { id: "sales", name: "Sales", parentId: "root" },
  { id: "twin-1", name: "Twin", parentId: "root" },
  { id: "twin-2", name: "twin", parentId: "root" },
];
const roles: Record<string, RoleCopy[]> = {
  salesperson: [{ id: "sp-root", name: "Salesperson", businessUnitId: "root" }, { id: "sp-sales", name: "Salesperson", businessUnitId: "sales" }],
  "sales only": [{ id: "so-sales", name: "Sales Only", businessUnitId: "sales" }],
};
const teams: Record<string, Team[]> = {
  owners: [{ id: "t-owners", name: "Owners", teamType: 0, isDefault: false }],
  contoso: [{ id: "t-default", name: "Contoso", teamType: 0, isDefault: true }],
  shared: [{ id: "t-access", name: "Shared", teamType: 1, isDefault: false }],
  viewers: [{ id: "t-group", name: "Viewers", teamType: 2, isDefault: false }],
};
const port = {
  orgUrl: "https://org.example",
  listBusinessUnits: async () => units,
  findRoles: async (names: string[]) => names.flatMap((name) => roles[name.toLowerCase()] ?? []),
  findTeams: async (names: string[]) => names.flatMap((name) => teams[name.toLowerCase()] ?? []),
} as unknown as AccessOrgPort;
const rule = (r: Partial<AccessRule>): AccessRule => ({ group: "g", roles: [], teams: [], ...r });

describe("access rule resolution", () => {
  it("resolves names to ids (the role copy of the rule's unit) and builds the planner's model", async () => {
    const rules = [rule({ businessUnit: "sales", roles: ["Salesperson", "Sales Only"], teams: ["Owners"] }), rule({ group: "h", roles: ["salesperson"] })];
    const r = await resolveOrgAccess(port, rules, (x) => rules.indexOf(x), async () => ({ name: "G", members: 3 }));
    expect(r.problems).toEqual([]);
    expect(r.rules[0]).toMatchObject({ status: "ok", businessUnit: { id: "sales" }, roles: [{ id: "sp-sales" }, { id: "so-sales" }], teams: [{ id: "t-owners" }] });
    expect(r.rules[1]!.roles).toEqual([{ name: "salesperson", id: "sp-root" }]);
    expect(r.model.rules[0]).toEqual({ group: "g", status: "ok", businessUnitId: "sales", roles: ["salesperson", "sales only"], teamIds: ["t-owners"] });
    expect(r.model.roleIds.get("salesperson")).toEqual(new Map([["root", "sp-root"], ["sales", "sp-sales"]]));
    expect(r.model.rootUnitId).toBe("root");
  });

  it("names each problem with its fix, and marks the rule partial (or its group unknown)", async () => {
    const rules = [
      rule({ businessUnit: "Twin", roles: ["Sales Only", "Nope"], teams: ["Contoso", "Shared", "Viewers", "Missing"] }),
      rule({ group: "gone", roles: ["Sales Only"] }),
    ];
    const r = await resolveOrgAccess(port, rules, (x) => rules.indexOf(x), async (g) => (g === "gone" ? null : { name: "G", members: 1 }));
    expect(r.rules.map((x) => x.status)).toEqual(["partial", "unknown-group"]);
    const text = r.problems.join("\n");
    expect(text).toMatch(/ACCESS_RULES\[0\]: 2 business units are named "Twin"/);
    expect(text).toMatch(/ACCESS_RULES\[0\]: security role "Nope" does not exist; create it in the root business unit/);
    expect(text).toMatch(/ACCESS_RULES\[0\]: team "Contoso" is a business unit's default team/);
    expect(text).toMatch(/ACCESS_RULES\[0\]: team "Shared" is an access team/);
    expect(text).toMatch(/ACCESS_RULES\[0\]: team "Viewers" is a Microsoft Entra ID security group team/);
    expect(text).toMatch(/ACCESS_RULES\[0\]: team "Missing" does not exist/);
    expect(text).toMatch(/ACCESS_RULES\[1\]: group gone was not found in the directory/);
    // The role exists only in Sales: a rule without a unit needs it in the root unit.
    expect(text).toMatch(/ACCESS_RULES\[1\]: security role "Sales Only" has no copy in business unit "Contoso"/);
    expect(r.model.rules[0]).toMatchObject({ businessUnitId: null, teamIds: [] });
  });
});
