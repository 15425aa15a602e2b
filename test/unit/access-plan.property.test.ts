// Property-based tests of the access planner: convergence, the managed set, moves, rule order, unresolved rules.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { applyAccessPlan, managedSets, planAccess, type AccessModel, type ModelRule, type UserAccess } from "../../shared/access/plan.js";

const UNITS = ["u-root", "u-sales", "u-service"];
const GROUPS = ["g1", "g2", "g3"];
const MANAGEABLE_ROLES = ["salesperson", "basic user", "service rep"];
const UNMANAGED_ROLES = ["auditor", "system customizer"];
const TEAMS = ["t-emea", "t-apac", "t-gold"];
const OTHER_TEAMS = ["t-default-root", "t-hand-made"];

const roleId = (name: string, unit: string) => `${name}@${unit}`;

const rule: fc.Arbitrary<ModelRule> = fc.record({
  group: fc.constantFrom(...GROUPS),
  status: fc.constantFrom<ModelRule["status"]>("ok", "ok", "ok", "partial", "unknown-group"),
  businessUnitId: fc.option(fc.constantFrom<string | null>(...UNITS, null), { nil: undefined }),
  roles: fc.subarray(MANAGEABLE_ROLES),
  teamIds: fc.subarray(TEAMS),
});

/** A model whose managed roles may lack a copy in some unit (a rule problem the planner must live with). */
const model: fc.Arbitrary<AccessModel> = fc.record({
  rules: fc.array(rule, { maxLength: 5 }),
  missing: fc.subarray(MANAGEABLE_ROLES.flatMap((n) => UNITS.map((u) => roleId(n, u))), { maxLength: 2 }),
}).map(({ rules, missing }) => {
  const roleIds = new Map<string, Map<string, string>>();
  for (const name of MANAGEABLE_ROLES) roleIds.set(name, new Map(UNITS.filter((u) => !missing.includes(roleId(name, u))).map((u) => [u, roleId(name, u)])));
  return {
    rootUnitId: "u-root",
    rules,
    roleIds,
    roleNames: new Map([...MANAGEABLE_ROLES].map((n) => [n, n.toUpperCase()])),
    unitNames: new Map(UNITS.map((u) => [u, u.slice(2)])),
    teamNames: new Map(TEAMS.map((t) => [t, t.slice(2)])),
  };
});

const user: fc.Arbitrary<UserAccess> = fc.record({
  unit: fc.constantFrom(...UNITS),
  roles: fc.subarray([...MANAGEABLE_ROLES, ...UNMANAGED_ROLES]),
  teams: fc.subarray([...TEAMS, ...OTHER_TEAMS]),
}).map(({ unit, roles, teams }) => ({ businessUnitId: unit, roles: roles.map((n) => ({ id: roleId(n, unit), name: n.toUpperCase() })), teamIds: teams }));

const groups = fc.subarray(GROUPS).map((g) => new Set(g));
const names = (u: UserAccess) => new Set(u.roles.map((r) => r.name.toLowerCase()));
const roleName = (id: string) => id.split("@")[0]!;

describe("access planner properties", () => {
  it("planning again after applying a plan yields nothing", () => {
    fc.assert(fc.property(model, groups, user, (m, g, u) => {
      const after = applyAccessPlan(m, u, planAccess(m, g, u));
      expect(planAccess(m, g, after)).toBeUndefined();
    }), { numRuns: 2000 });
  });

  it("never adds or removes a role or team outside the managed set; unmanaged access survives unless a move costs it", () => {
    fc.assert(fc.property(model, groups, user, (m, g, u) => {
      const plan = planAccess(m, g, u);
      if (!plan) return;
      const managed = managedSets(m);
      for (const id of [...plan.addRoles, ...plan.removeRoles]) expect(managed.roleNames.has(roleName(id))).toBe(true);
      for (const id of [...plan.addTeams, ...plan.removeTeams]) expect(managed.teamIds.has(id)).toBe(true);
      const after = applyAccessPlan(m, u, plan);
      for (const team of u.teamIds) if (!managed.teamIds.has(team)) expect(after.teamIds).toContain(team);
      const unmanaged = [...MANAGEABLE_ROLES, ...UNMANAGED_ROLES].filter((n) => !managed.roleNames.has(n));
      const lost = unmanaged.filter((n) => names(u).has(n) && !names(after).has(n));
      if (!plan.moveTo) expect(lost).toEqual([]);
      else expect(plan.change.rolesLostInMove!.map((n) => n.toLowerCase()).sort()).toEqual(lost.sort());
      // The threshold counts what the rules take away, not the unmanaged roles a move costs.
      expect(plan.removals).toBe(plan.change.rolesRemoved.length + plan.change.teamsRemoved.length);
    }), { numRuns: 2000 });
  });

  it("a move re-adds, in the new unit, every role the matched rules give", () => {
    fc.assert(fc.property(model, groups, user, (m, g, u) => {
      const plan = planAccess(m, g, u);
      if (!plan?.moveTo) return;
      const after = applyAccessPlan(m, u, plan);
      const given = m.rules.filter((r) => r.status !== "unknown-group" && g.has(r.group)).flatMap((r) => r.roles);
      for (const name of given) {
        const copy = m.roleIds.get(name)!.get(plan.moveTo);
        if (copy) expect(after.roles.map((r) => r.id)).toContain(copy);
      }
      for (const role of after.roles) expect(role.id.endsWith(`@${plan.moveTo}`)).toBe(true);
    }), { numRuns: 2000 });
  });

  it("the first matching rule naming a business unit decides it; a user matching none stays put", () => {
    fc.assert(fc.property(model, groups, user, (m, g, u) => {
      const after = applyAccessPlan(m, u, planAccess(m, g, u));
      const first = m.rules.find((r) => r.status !== "unknown-group" && g.has(r.group) && r.businessUnitId !== undefined);
      expect(after.businessUnitId).toBe(first?.businessUnitId ?? u.businessUnitId);
    }), { numRuns: 2000 });
  });

  it("a rule that did not resolve takes nothing it names away", () => {
    fc.assert(fc.property(model, groups, user, (m, g, u) => {
      const plan = planAccess(m, g, u);
      const after = applyAccessPlan(m, u, plan);
      const unresolved = m.rules.filter((r) => r.status === "unknown-group" || (r.status === "partial" && g.has(r.group)));
      for (const r of unresolved) {
        for (const team of r.teamIds) if (u.teamIds.includes(team)) expect(after.teamIds).toContain(team);
        for (const name of r.roles) {
          const copyExists = m.roleIds.get(name)!.has(after.businessUnitId);
          if (names(u).has(name) && copyExists) expect(names(after).has(name)).toBe(true);
        }
      }
    }), { numRuns: 2000 });
  });
});
