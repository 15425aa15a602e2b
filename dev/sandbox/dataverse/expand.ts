// `$expand` of the systemuser N:N navigation properties, on a collection or a single row:
// `$expand=systemuserroles_association($select=roleid,name),teammembership_association($select=teamid,name;$filter=teamtype eq 0)`.
// Nested options: $select, $filter, $orderby, $top (Dataverse's set for collection-valued properties).
import { queryError } from "./errors.js";
import { matches } from "./filter.js";
import { ROLE_SCHEMA, TEAM_SCHEMA, project, type Row } from "./entity-sets.js";
import type { DataverseOrg } from "./org.js";
import { comparator, parseQuery, type QueryOptions } from "./query.js";
import type { EntitySchema } from "./schema.js";

export const NAVIGATION: Record<string, EntitySchema> = {
  systemuserroles_association: ROLE_SCHEMA,
  teammembership_association: TEAM_SCHEMA,
};

export interface ExpandSpec { nav: string; schema: EntitySchema; q: QueryOptions }

/** Splits on `sep` outside parentheses and quotes. */
function splitTop(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0, quoted = false, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === "(") depth++;
    else if (!quoted && c === ")") depth--;
    else if (!quoted && depth === 0 && c === sep) { out.push(text.slice(start, i)); start = i + 1; }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

export function parseExpand(text: string | null): ExpandSpec[] {
  if (!text) return [];
  return splitTop(text, ",").map((item) => {
    const m = /^([A-Za-z_]+)(?:\((.*)\))?$/s.exec(item);
    const schema = m ? NAVIGATION[m[1]!] : undefined;
    if (!m || !schema) throw queryError(`Could not find a property named '${m?.[1] ?? item}' on type 'Microsoft.Dynamics.CRM.systemuser'.`);
    const params = new Map<string, string>();
    for (const option of splitTop(m[2] ?? "", ";")) {
      const eq = option.indexOf("=");
      const name = option.slice(0, eq).trim();
      if (eq < 0 || !["$select", "$filter", "$orderby", "$top"].includes(name)) throw queryError(`The query option '${option}' is not supported inside $expand.`);
      params.set(name, option.slice(eq + 1));
    }
    return { nav: m[1]!, schema, q: parseQuery(params, false, schema) };
  });
}

/** The rows a user's navigation property leads to (their roles or their teams). */
export function relatedRows(org: DataverseOrg, userId: string, nav: string): Row[] {
  const access = org.access;
  if (nav === "systemuserroles_association") return access.userRoles.ofUser(userId).map((id) => access.roles.get(id) as unknown as Row);
  return access.memberships.ofUser(userId).map((id) => access.teams.get(id) as unknown as Row);
}

/** Adds each expanded navigation property to a projected systemuser row. */
export function expandInto(out: Row, userId: string, specs: ExpandSpec[], org: DataverseOrg): Row {
  for (const { nav, schema, q } of specs) {
    let rows = relatedRows(org, userId, nav).filter((r) => !q.filter || matches(q.filter, r));
    rows = rows.sort(comparator(q.orderby, schema.primaryKey));
    if (q.top !== null) rows = rows.slice(0, q.top);
    out[nav] = rows.map((r) => project(r, q.select, schema));
  }
  return out;
}

/** The `(col,nav(col))` part of an `@odata.context` for a select and its expansions. */
export function contextSelection(select: string[] | null, specs: ExpandSpec[]): string {
  const parts = [...(select ?? []), ...specs.map((s) => `${s.nav}(${s.q.select ? s.q.select.map((c) => c.name).join(",") : ""})`)];
  return parts.length ? `(${parts.join(",")})` : "";
}
