// Security roles of the emulated org (federation-adfs-telemetry.md §2): `roles` (per business unit) and the
// `systemuserroles_association` N:N relationship between systemusers and roles, as the Web API exposes them:
// GET roles?$select=roleid,name&$filter=name eq 'X' and _businessunitid_value eq <bu>,
// GET systemusers(<id>)/systemuserroles_association, POST systemusers(<id>)/systemuserroles_association/$ref.
import type { OpResponse } from "./batch-codec.js";
import { DataverseError, notFound, queryError } from "./errors.js";
import type { DataverseOrg } from "./org.js";
import { GUID_RE } from "./schema.js";

export interface RoleRecord {
  roleid: string;
  name: string;
  businessunitid: string;
}

const JSON_TYPE = "application/json; odata.metadata=minimal";
const json = (body: unknown): OpResponse => ({ status: 200, headers: { "Content-Type": JSON_TYPE, "OData-Version": "4.0" }, body: JSON.stringify(body) });
const view = (r: RoleRecord) => ({ "@odata.etag": 'W/"1"', roleid: r.roleid, name: r.name, _businessunitid_value: r.businessunitid });

/** `name eq 'X'`, `_businessunitid_value eq <guid>` and `roleid eq <guid>`, joined with `and`. */
function roleFilter(filter: string | null): (r: RoleRecord) => boolean {
  if (!filter) return () => true;
  const tests = filter.split(/\s+and\s+/i).map((clause) => {
    const m = /^\s*(name|_businessunitid_value|roleid)\s+eq\s+(?:'((?:[^']|'')*)'|([0-9a-f-]{36}))\s*$/i.exec(clause);
    if (!m) throw queryError(`The sandbox understands roles?$filter with name eq '…', _businessunitid_value eq <guid> and roleid eq <guid> only, not "${clause}".`);
    const column = m[1]!.toLowerCase();
    if (column === "name") {
      if (m[2] === undefined) throw queryError("A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Guid' for operator kind 'Equal'.");
      const name = m[2].replace(/''/g, "'");
      return (r: RoleRecord) => r.name.toLowerCase() === name.toLowerCase();
    }
    if (m[3] === undefined) throw queryError("A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'.");
    const id = m[3].toLowerCase();
    return column === "roleid" ? (r: RoleRecord) => r.roleid === id : (r: RoleRecord) => r.businessunitid === id;
  });
  return (r) => tests.every((t) => t(r));
}

export function listRoles(org: DataverseOrg, query: string): OpResponse {
  const matches = roleFilter(new URLSearchParams(query).get("$filter"));
  return json({ "@odata.context": `${org.apiBase}$metadata#roles`, value: [...org.roles.values()].filter(matches).map(view) });
}

export function userRoles(org: DataverseOrg, userId: string): OpResponse {
  if (!org.get(userId)) throw notFound(userId);
  const roles = [...(org.userRoles.get(userId) ?? [])].map((id) => org.roles.get(id)!).filter(Boolean);
  return json({ "@odata.context": `${org.apiBase}$metadata#roles`, value: roles.map(view) });
}

/** Associates a role; it must belong to the user's business unit. */
export function associateRole(org: DataverseOrg, userId: string, body: string): OpResponse {
  const user = org.get(userId);
  if (!user) throw notFound(userId);
  let ref: unknown;
  try {
    ref = (JSON.parse(body) as Record<string, unknown>)["@odata.id"];
  } catch {
    ref = undefined;
  }
  const roleId = typeof ref === "string" ? /roles\(([^)]+)\)\s*$/.exec(ref)?.[1]?.toLowerCase() : undefined;
  if (!roleId || !GUID_RE.test(roleId)) throw new DataverseError(400, "0x80060888", "The request body must contain an @odata.id naming roles(<roleid>).");
  const role = org.roles.get(roleId);
  if (!role) throw new DataverseError(404, "0x80040217", `role With Id = ${roleId} Does Not Exist`);
  if (role.businessunitid !== user._businessunitid_value) {
    throw new DataverseError(400, "0x80040356", "The role and the user must belong to the same business unit.");
  }
  const set = org.userRoles.get(user.systemuserid) ?? new Set<string>();
  if (set.has(roleId)) throw new DataverseError(400, "0x80040237", "Cannot insert duplicate key.");
  set.add(roleId);
  org.userRoles.set(user.systemuserid, set);
  org.stats.writes++;
  return { status: 204, headers: { "OData-Version": "4.0" } };
}
