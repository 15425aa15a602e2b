// Access in the sandbox: each org gets two business units under its root, three root roles (copied into every
// unit), an owner team per unit, an access team and an Entra group team; the directory gets the rule groups,
// Dynamics licences on most users and the tenant's subscribed SKUs. Names and ids are exported for tests and
// for the sandbox's access rules (sandboxAccessRules).
import type { DataverseOrg } from "./dataverse/index.js";
import type { DirectoryUser } from "./directory.js";
import type { Tenant } from "./tenant.js";

/** Dynamics 365 Sales Enterprise (DYN365_ENTERPRISE_SALES) and Customer Service Enterprise (DYN365_ENTERPRISE_CUSTOMER_SERVICE). */
export const DYNAMICS_SALES_SKU = "1e1a282c-9c54-43a2-9310-98ef728faace";
export const DYNAMICS_CUSTOMER_SERVICE_SKU = "749742bf-0d37-4158-a120-33567104deeb";

/** Fixed ids, so rules written once keep working across sandbox runs. */
export const SANDBOX_GROUPS = {
  sales: { id: "5a1e5000-0000-4000-8000-0000000000a1", displayName: "Dynamics Sales" },
  service: { id: "5e41ce00-0000-4000-8000-0000000000a2", displayName: "Dynamics Service" },
  /** The group behind the Entra group team (its membership is the platform's business, not a rule's). */
  viewers: { id: "41e0e400-0000-4000-8000-0000000000a3", displayName: "Dynamics Viewers" },
} as const;

export const SANDBOX_ACCESS = {
  units: { sales: "Sales", service: "Service" },
  roles: { salesperson: "Salesperson", customerService: "Customer Service Representative", basicUser: "Basic User" },
  /** Owner teams (teamtype 0) a rule may name. */
  teams: { sales: "Sales Team", service: "Service Team" },
  /** Teams a rule must not name: an access team and an Entra group team. */
  accessTeam: "Shared Records",
  groupTeam: "Dynamics Viewers",
} as const;

/** Members of each rule group, counted from the start of the directory's demo users. */
const SALES_MEMBERS = 4;
const SERVICE_MEMBERS = 3;

export interface AccessRule {
  group: string;
  orgs?: string[];
  businessUnit?: string;
  roles?: string[];
  teams?: string[];
}

/** A suggested ACCESS_RULES for the sandbox: Sales and Service members get their unit, roles and owner team. */
export function sandboxAccessRules(orgUrl?: string | string[]): AccessRule[] {
  const orgs = orgUrl === undefined ? {} : { orgs: Array.isArray(orgUrl) ? orgUrl : [orgUrl] };
  const { units, roles, teams } = SANDBOX_ACCESS;
  return [
    { group: SANDBOX_GROUPS.sales.id, ...orgs, businessUnit: units.sales, roles: [roles.salesperson, roles.basicUser], teams: [teams.sales] },
    { group: SANDBOX_GROUPS.service.id, ...orgs, businessUnit: units.service, roles: [roles.customerService, roles.basicUser], teams: [teams.service] },
  ];
}

export function seedAccess(tenant: Tenant, orgs: DataverseOrg[], users: DirectoryUser[]): void {
  seedDirectoryAccess(tenant, users);
  for (const org of orgs) seedOrgAccess(org);
}

/** Rule groups with a few members, the viewers group, licences on four users in five, and the tenant's SKUs. */
function seedDirectoryAccess(tenant: Tenant, users: DirectoryUser[]): void {
  const dir = tenant.directory;
  dir.addSubscribedSku("DYN365_ENTERPRISE_SALES", DYNAMICS_SALES_SKU);
  dir.addSubscribedSku("DYN365_ENTERPRISE_CUSTOMER_SERVICE", DYNAMICS_CUSTOMER_SERVICE_SKU);
  for (const group of Object.values(SANDBOX_GROUPS)) dir.addGroup(group.displayName, group.id);
  users.forEach((user, i) => {
    if (i < SALES_MEMBERS) dir.addGroupMember(SANDBOX_GROUPS.sales.id, user.id);
    else if (i < SALES_MEMBERS + SERVICE_MEMBERS) dir.addGroupMember(SANDBOX_GROUPS.service.id, user.id);
    if (i % 3 === 0) dir.addGroupMember(SANDBOX_GROUPS.viewers.id, user.id);
    // Rule-group members are always licensed; of the others, every fifth user holds no Dynamics licence.
    const sales = i < SALES_MEMBERS || (i >= SALES_MEMBERS + SERVICE_MEMBERS && i % 2 === 0);
    if (i < SALES_MEMBERS + SERVICE_MEMBERS || i % 5 !== 4) dir.assignLicense(user.id, sales ? DYNAMICS_SALES_SKU : DYNAMICS_CUSTOMER_SERVICE_SKU);
  });
}

/** An org's units, root roles and teams (online and on-premises orgs alike: both have them). */
export function seedOrgAccess(org: DataverseOrg): void {
  const { units, roles, teams } = SANDBOX_ACCESS;
  for (const name of Object.values(roles)) org.addRole(name);
  const sales = org.addBusinessUnit(units.sales).businessunitid;
  const service = org.addBusinessUnit(units.service).businessunitid;
  org.addTeam({ name: teams.sales, businessunitid: sales });
  org.addTeam({ name: teams.service, businessunitid: service });
  org.addTeam({ name: SANDBOX_ACCESS.accessTeam, teamtype: 1 });
  org.addTeam({ name: SANDBOX_ACCESS.groupTeam, teamtype: 2, azureactivedirectoryobjectid: SANDBOX_GROUPS.viewers.id, membershiptype: 0 });
}

/** The ids an org gave the seeded units, root roles and teams, by name. */
export function seededAccessIds(org: DataverseOrg): { units: Record<string, string>; rootRoles: Record<string, string>; teams: Record<string, string> } {
  const access = org.access;
  const byName = <T>(rows: Iterable<T>, name: (r: T) => string, id: (r: T) => string) => Object.fromEntries([...rows].map((r) => [name(r), id(r)]));
  return {
    units: byName(access.units.values(), (u) => u.name, (u) => u.businessunitid),
    rootRoles: byName([...access.roles.values()].filter((r) => r._businessunitid_value === org.businessUnitId), (r) => r.name, (r) => r.roleid),
    teams: byName([...access.teams.values()].filter((t) => !t.isdefault), (t) => t.name, (t) => t.teamid),
  };
}
