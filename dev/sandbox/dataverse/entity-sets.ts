// The access tables as queryable entity sets: businessunits, roles, teams and the intersect sets
// systemuserrolescollection and teammemberships, with the same $select/$filter/$orderby/$top/paging rules as
// systemusers (query.ts, filter.ts).
import type { OpResponse } from "./batch-codec.js";
import { candidates, matches, type IndexLookup } from "./filter.js";
import { comparator, encodeCookie, keyOf, MAX_PAGE_SIZE, upperBound, type QueryOptions } from "./query.js";
import type { Column, ColumnType, EntitySchema } from "./schema.js";

const JSON_TYPE = "application/json; odata.metadata=minimal";

const col = (name: string, type: ColumnType): Column => ({ name, type, create: false, update: false });
const schema = (entity: string, set: string, primaryKey: string, columns: Column[]): EntitySchema =>
  ({ entity, set, primaryKey, columns: new Map(columns.map((c) => [c.name, c])) });

export const BUSINESSUNIT_SCHEMA = schema("businessunit", "businessunits", "businessunitid",
  [col("businessunitid", "guid"), col("name", "string"), col("_parentbusinessunitid_value", "lookup")]);
export const ROLE_SCHEMA = schema("role", "roles", "roleid",
  [col("roleid", "guid"), col("name", "string"), col("_businessunitid_value", "lookup"), col("_parentrootroleid_value", "lookup")]);
export const TEAM_SCHEMA = schema("team", "teams", "teamid", [
  col("teamid", "guid"), col("name", "string"), col("teamtype", "int"), col("isdefault", "boolean"), col("_businessunitid_value", "lookup"),
  col("azureactivedirectoryobjectid", "guid"), col("membershiptype", "int"),
]);
export const SYSTEMUSERROLES_SCHEMA = schema("systemuserroles", "systemuserrolescollection", "systemuserroleid",
  [col("systemuserroleid", "guid"), col("systemuserid", "guid"), col("roleid", "guid")]);
export const TEAMMEMBERSHIP_SCHEMA = schema("teammembership", "teammemberships", "teammembershipid",
  [col("teammembershipid", "guid"), col("systemuserid", "guid"), col("teamid", "guid")]);

export type Row = Record<string, unknown>;

/** Rows of a set; `ids` in key order plus `lookup` let a filter on an indexed column skip the scan. */
export interface RowSource {
  get(id: string): Row | undefined;
  sortedIds(): string[];
  lookup?: IndexLookup;
}

export function mapSource(map: Map<string, object>): RowSource {
  return { get: (id) => map.get(id) as Row | undefined, sortedIds: () => [...map.keys()].sort() };
}

/** A row as Dataverse returns it: etag, the selected columns (all when none), and always the key. */
export function project(row: Row, select: Column[] | null, schema: EntitySchema): Row {
  const out: Row = { "@odata.etag": `W/"${String(row.versionnumber ?? 1)}"` };
  for (const c of select ?? schema.columns.values()) out[c.name] = row[c.name] ?? null;
  out[schema.primaryKey] = row[schema.primaryKey];
  return out;
}

export interface Page { rows: Row[]; next: Record<string, unknown> | null; page: number }

/** One page of a query: filtered, ordered (by $orderby, then key), from the cookie on. */
export function pageOf(source: RowSource, q: QueryOptions, pageSize: number, schema: EntitySchema): Page {
  const pk = schema.primaryKey;
  const narrowed = q.filter && source.lookup ? candidates(q.filter, source.lookup) : null;
  const ids = narrowed ? [...narrowed].sort() : source.sortedIds();
  const cmp = comparator(q.orderby, pk);
  const pass = (r: Row | undefined): r is Row => !!r && (!q.filter || matches(q.filter, r));
  let page: Row[] = [];
  if (q.orderby.length === 0) {
    // Key order: start after the cookie's key and read only as far as the page needs (large intersect sets).
    let i = q.cookie ? upperBound(ids, q.cookie.last, cmp, (id) => ({ [pk]: id })) : 0;
    for (; i < ids.length && page.length <= pageSize; i++) {
      const row = source.get(ids[i]!);
      if (pass(row)) page.push(row);
    }
  } else {
    const rows = ids.map((id) => source.get(id)).filter(pass).sort(cmp);
    const start = q.cookie ? upperBound(rows, q.cookie.last, cmp, (r) => r) : 0;
    page = rows.slice(start, start + pageSize + 1);
  }
  const more = page.length > pageSize;
  if (more) page.length = pageSize;
  const last = page[page.length - 1];
  return { rows: page, next: more && last ? keyOf(last, q.orderby, pk) : null, page: (q.cookie?.page ?? 1) + 1 };
}

function countOf(source: RowSource, q: QueryOptions): number {
  let n = 0;
  for (const id of source.sortedIds()) {
    const row = source.get(id);
    if (row && (!q.filter || matches(q.filter, row))) n++;
  }
  return n;
}

/** A collection response with Dataverse's paging (`Prefer: odata.maxpagesize`, else `$top`, else 5,000). */
export function collection(source: RowSource, q: QueryOptions, schema: EntitySchema, init: { apiBase: string; path: string; query: string; maxPageSize?: number; inBatch: boolean }): OpResponse {
  let pageSize = MAX_PAGE_SIZE;
  let paged = true;
  const headers: Record<string, string> = {};
  if (init.maxPageSize !== undefined) {
    pageSize = Math.max(1, Math.min(init.maxPageSize, MAX_PAGE_SIZE));
    headers["Preference-Applied"] = `odata.maxpagesize=${pageSize}`;
  } else if (q.top !== null) {
    pageSize = Math.min(q.top, MAX_PAGE_SIZE);
    paged = false;
  }
  const result = pageSize === 0 ? { rows: [], next: null, page: 1 } : pageOf(source, q, pageSize, schema);
  const selected = q.select ? `(${q.select.map((c) => c.name).join(",")})` : "";
  const body: Row = { "@odata.context": `${init.apiBase}$metadata#${schema.set}${selected}` };
  // Dataverse caps @odata.count at 5000.
  if (q.count) body["@odata.count"] = Math.min(countOf(source, q), MAX_PAGE_SIZE);
  body.value = result.rows.map((r) => project(r, q.select, schema));
  if (paged && result.next) {
    const kept = init.query.split("&").filter((p) => p && !/^(\$|%24)skiptoken=/i.test(p));
    kept.push(`$skiptoken=${encodeCookie({ page: result.page, last: result.next }, schema)}`);
    body["@odata.nextLink"] = `${init.apiBase}${init.path}?${kept.join("&")}`;
  }
  const contentType = init.inBatch ? `${JSON_TYPE}; odata.streaming=true` : JSON_TYPE;
  return { status: 200, headers: { "Content-Type": contentType, "OData-Version": "4.0", ...headers }, body: JSON.stringify(body) };
}
