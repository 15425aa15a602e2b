// The sandbox's seeded access: every name the suggested rules use exists in each org where a rule needs it,
// the rule groups have licensed members, and the teams a rule must not name are of the kinds it must refuse.
import { beforeAll, describe, expect, it } from "vitest";
import { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import { seedDemo } from "../../dev/sandbox/seed.js";
import {
  DYNAMICS_CUSTOMER_SERVICE_SKU, DYNAMICS_SALES_SKU, SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules, seededAccessIds,
} from "../../dev/sandbox/seed-access.js";
import { Tenant } from "../../dev/sandbox/tenant.js";

let tenant: Tenant;
let orgs: DataverseOrg[];

beforeAll(async () => {
  tenant = await Tenant.create();
  orgs = [new DataverseOrg(tenant, "org1"), new DataverseOrg(tenant, "org2")];
  orgs.forEach((org, i) => { org.url = `https://org${i + 1}.sandbox.test`; });
  seedDemo(tenant, orgs);
});

describe("seeded access", () => {
  it("resolves every unit, role and team of the suggested rules in every org", () => {
    const rules = sandboxAccessRules();
    expect(rules).toHaveLength(2);
    for (const org of orgs) {
      const ids = seededAccessIds(org);
      for (const rule of rules) {
        const unit = ids.units[rule.businessUnit!]!;
        expect(unit).toBeDefined();
        for (const role of rule.roles!) expect(org.access.roleInUnit(role, unit)?._parentrootroleid_value).toBe(ids.rootRoles[role]);
        for (const team of rule.teams!) expect(org.access.teams.get(ids.teams[team]!)).toMatchObject({ teamtype: 0, isdefault: false });
      }
      expect(org.access.teams.get(ids.teams[SANDBOX_ACCESS.accessTeam]!)!.teamtype).toBe(1);
      expect(org.access.teams.get(ids.teams[SANDBOX_ACCESS.groupTeam]!)).toMatchObject({ teamtype: 2, azureactivedirectoryobjectid: SANDBOX_GROUPS.viewers.id });
    }
    expect(sandboxAccessRules(orgs[0]!.url).every((r) => r.orgs?.[0] === orgs[0]!.url)).toBe(true);
  });

  it("gives the rule groups licensed members and the tenant both Dynamics SKUs", () => {
    const dir = tenant.directory;
    const licensed = (id: string) => dir.users.get(id)!.assignedLicenses.map((l) => l.skuId);
    expect(dir.membersOf(SANDBOX_GROUPS.sales.id)).toHaveLength(4);
    expect(dir.membersOf(SANDBOX_GROUPS.service.id)).toHaveLength(3);
    for (const id of dir.membersOf(SANDBOX_GROUPS.sales.id)) expect(licensed(id)).toEqual([DYNAMICS_SALES_SKU]);
    for (const id of dir.membersOf(SANDBOX_GROUPS.service.id)) expect(licensed(id)).toEqual([DYNAMICS_CUSTOMER_SERVICE_SKU]);
    const unlicensed = [...dir.users.values()].filter((u) => u.assignedLicenses.length === 0);
    expect(unlicensed.length).toBeGreaterThan(0);
    expect([...dir.subscribedSkus.keys()].sort()).toEqual([DYNAMICS_CUSTOMER_SERVICE_SKU, DYNAMICS_SALES_SKU].sort());
  });
});
