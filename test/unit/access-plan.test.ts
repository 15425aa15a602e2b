import { describe, expect, it } from "vitest";
import { planAccess, type AccessModel } from "../../shared/access/plan.js";

const model: AccessModel = {
  rootUnitId: "root",
  rules: [
    { group: "sales", status: "ok", businessUnitId: "bu-sales", roles: ["salesperson"], teamIds: ["t-emea"] },
    { group: "everyone", status: "ok", roles: ["basic user"], teamIds: [] },
  ],
  roleIds: new Map([
    ["salesperson", new Map([["root", "sp-root"], ["bu-sales", "sp-sales"]])],
    ["basic user", new Map([["root", "bu-root"], ["bu-sales", "bu-sales-copy"]])],
  ]),
  roleNames: new Map([["salesperson", "Salesperson"], ["basic user", "Basic User"]]),
  unitNames: new Map([["root", "Contoso"], ["bu-sales", "Sales"]]),
  teamNames: new Map([["t-emea", "Sales EMEA"]]),
};

describe("access planner", () => {
  it("moves a new rule member, re-adds the managed roles in the new unit and names the unmanaged role lost (not counted as a removal)", () => {
    const plan = planAccess(model, new Set(["sales", "everyone"]), {
      businessUnitId: "root", roles: [{ id: "bu-root", name: "Basic User" }, { id: "aud-root", name: "Auditor" }], teamIds: ["t-default"],
    })!;
    expect(plan).toMatchObject({ moveTo: "bu-sales", removeRoles: [], addTeams: ["t-emea"], removeTeams: [], removals: 0 });
    expect(plan.addRoles.sort()).toEqual(["bu-sales-copy", "sp-sales"]);
    expect(plan.change).toEqual({
      businessUnit: { old: "Contoso", new: "Sales" }, rolesAdded: ["Salesperson"], rolesRemoved: [], teamsAdded: ["Sales EMEA"], teamsRemoved: [], rolesLostInMove: ["Auditor"],
    });
  });

  it("takes managed access away from a user who left the group, and nothing else", () => {
    const plan = planAccess(model, new Set(["everyone"]), {
      businessUnitId: "bu-sales", roles: [{ id: "sp-sales", name: "Salesperson" }, { id: "bu-sales-copy", name: "Basic User" }, { id: "aud", name: "Auditor" }], teamIds: ["t-emea", "t-other"],
    })!;
    expect(plan).toMatchObject({ addRoles: [], removeRoles: ["sp-sales"], addTeams: [], removeTeams: ["t-emea"], removals: 2 });
    expect(plan.moveTo).toBeUndefined();
    expect(plan.change).toEqual({ rolesAdded: [], rolesRemoved: ["Salesperson"], teamsAdded: [], teamsRemoved: ["Sales EMEA"] });
  });

  it("plans nothing when access already matches, and keeps what an unresolved rule names", () => {
    expect(planAccess(model, new Set(["everyone"]), { businessUnitId: "root", roles: [{ id: "bu-root", name: "basic user" }], teamIds: [] })).toBeUndefined();
    const broken: AccessModel = { ...model, rules: [{ ...model.rules[0]!, status: "unknown-group" }, model.rules[1]!] };
    expect(planAccess(broken, new Set(["everyone"]), {
      businessUnitId: "bu-sales", roles: [{ id: "sp-sales", name: "Salesperson" }, { id: "bu-sales-copy", name: "Basic User" }], teamIds: ["t-emea"],
    })).toBeUndefined();
  });
});
