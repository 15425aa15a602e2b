// Set lookups against systemusers: many values per query (`or` of escaped equalities, in chunks so the
// URL stays short) instead of one GET per user.
import { eq, or } from "../dataverse/odata.js";
import { isGuid } from "../dataverse/odata.js";
import type { DataverseOrgPort, SystemUser } from "../dataverse/types.js";

export const USER_COLUMNS = ["systemuserid", "domainname", "azureactivedirectoryobjectid", "activedirectoryguid", "applicationid", "accessmode", "fullname", "isdisabled"] as const;
const CHUNK = 40;

/** Rows whose column equals any of the values. */
export async function findUsersByValues(
  port: DataverseOrgPort,
  column: "domainname" | "azureactivedirectoryobjectid" | "activedirectoryguid" | "systemuserid",
  values: readonly string[],
  options: { abortSignal?: AbortSignal } = {},
): Promise<SystemUser[]> {
  const wanted = [...new Set(values.map((v) => v.toLowerCase()))].filter((v) => column === "domainname" || isGuid(v));
  const rows = new Map<string, SystemUser>();
  for (let i = 0; i < wanted.length; i += CHUNK) {
    const clauses = wanted.slice(i, i + CHUNK).map((v) => (column === "domainname" ? eq(column, v) : eq(column, { guid: v })));
    const filter = clauses.length === 1 ? clauses[0]! : or(...clauses);
    for await (const page of port.listSystemUsers(USER_COLUMNS, { filter, abortSignal: options.abortSignal })) {
      for (const row of page) rows.set(row.systemuserid.toLowerCase(), row);
    }
  }
  return [...rows.values()];
}

/** Application users and support / non-interactive / delegated-admin records are never remapped. */
export function notRemappableReason(row: SystemUser): string | undefined {
  if (row.applicationid) return "it is an application user";
  if (row.accessmode === 3 || row.accessmode === 4 || row.accessmode === 5) return `its access mode is ${row.accessmode} (support, non-interactive or delegated admin)`;
  return undefined;
}

export function describeUser(row: SystemUser): { systemUserId: string; domainName: string | null; fullName: string | null } {
  return { systemUserId: row.systemuserid, domainName: row.domainname ?? null, fullName: typeof row.fullname === "string" ? row.fullname : null };
}
