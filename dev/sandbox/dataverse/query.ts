// Collection queries: system query options, projection and paging. Paging is by `$skiptoken` holding a
// paging cookie like Dataverse's (last key values of the page), so pages stay stable under inserts and
// a page is found by binary search, not by counting rows.
import { queryError, unknownProperty } from "./errors.js";
import { candidates, matches, norm, parseFilter, type FilterExpr } from "./filter.js";
import type { DataverseOrg } from "./org.js";
import { COLUMNS, PRIMARY_KEY, SYSTEMUSER_SCHEMA, type Column, type EntitySchema, type SystemUserRecord } from "./schema.js";

export const MAX_PAGE_SIZE = 5000;

export interface OrderBy { col: Column; desc: boolean }
export interface QueryOptions {
  select: Column[] | null;
  filter: FilterExpr | null;
  orderby: OrderBy[];
  top: number | null;
  count: boolean;
  cookie: Cookie | null;
  /** Raw `$expand` (systemusers only; expand.ts reads it). */
  expand: string | null;
}
/** Key values of the last row of the previous page (order columns, then systemuserid). */
export interface Cookie { page: number; last: Record<string, unknown> }

/** OData query string split without form decoding (`+` stays a plus, as OData servers read it). */
export function parseQueryString(qs: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of qs.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    params.set(key, decode(eq < 0 ? "" : part.slice(eq + 1)));
  }
  return params;
}

function decode(s: string): string {
  try { return decodeURIComponent(s); } catch { throw queryError(`The query string '${s}' is not valid.`); }
}

const SUPPORTED = new Set(["$select", "$filter", "$orderby", "$top", "$count", "$skiptoken", "$expand"]);

export function parseQuery(params: Map<string, string>, single = false, schema: EntitySchema = SYSTEMUSER_SCHEMA): QueryOptions {
  for (const key of params.keys()) {
    if (key.startsWith("$") && !SUPPORTED.has(key)) throw queryError(`The query parameter ${key} is not supported`);
  }
  const expand = params.get("$expand") || null;
  if (expand && schema !== SYSTEMUSER_SCHEMA) throw queryError(`The sandbox expands systemusers only, not ${schema.set}.`);
  const select = params.has("$select") ? parseSelect(params.get("$select")!, schema) : null;
  if (single) return { select, filter: null, orderby: [], top: null, count: false, cookie: null, expand };
  const filter = params.get("$filter") ? parseFilter(params.get("$filter")!, schema) : null;
  const orderby = params.get("$orderby") ? parseOrderBy(params.get("$orderby")!, schema) : [];
  let top: number | null = null;
  if (params.has("$top")) {
    top = Number(params.get("$top"));
    if (!Number.isInteger(top) || top < 0) throw queryError(`Invalid value '${params.get("$top")}' for $top query option found. The $top query option requires a non-negative integer value.`);
  }
  const count = params.get("$count") === "true";
  const cookie = params.has("$skiptoken") ? decodeCookie(params.get("$skiptoken")!, schema) : null;
  return { select, filter, orderby, top, count, cookie, expand };
}

export function parseSelect(text: string, schema: EntitySchema = SYSTEMUSER_SCHEMA): Column[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean).map((name) => {
    const col = schema.columns.get(name);
    if (!col) throw unknownProperty(name, schema.entity);
    return col;
  });
}

export function parseOrderBy(text: string, schema: EntitySchema = SYSTEMUSER_SCHEMA): OrderBy[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean).map((item) => {
    const [name, dir, extra] = item.split(/\s+/);
    const col = schema.columns.get(name!);
    if (!col) throw unknownProperty(name!, schema.entity);
    if (extra !== undefined || (dir !== undefined && dir !== "asc" && dir !== "desc")) throw queryError(`Syntax error at position ${item.length} in '${text}'.`);
    return { col, desc: dir === "desc" };
  });
}

export function projection(rec: SystemUserRecord, select: Column[] | null, annotate: boolean, org: DataverseOrg): Record<string, unknown> {
  const row = rec as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { "@odata.etag": `W/"${rec.versionnumber}"` };
  const cols = select ?? COLUMNS;
  for (const col of cols) {
    if (annotate) annotations(col, rec, out, org);
    out[col.name] = row[col.name] ?? null;
  }
  if (select && !select.some((c) => c.name === PRIMARY_KEY)) out[PRIMARY_KEY] = rec.systemuserid;
  return out;
}

const ACCESS_MODES = ["Read-Write", "Administrative", "Read", "Support User", "Non-interactive", "Delegated Admin"];
const FORMATTED = "@OData.Community.Display.V1.FormattedValue";

/** `Prefer: odata.include-annotations` extras for the columns that have them. */
function annotations(col: Column, rec: SystemUserRecord, out: Record<string, unknown>, org: DataverseOrg): void {
  const name = col.name;
  if (name === "isdisabled") out[name + FORMATTED] = rec.isdisabled ? "Disabled" : "Enabled";
  else if (name === "accessmode") out[name + FORMATTED] = ACCESS_MODES[rec.accessmode] ?? String(rec.accessmode);
  else if (col.type === "lookup" && col.nav) {
    const value = (rec as unknown as Record<string, string | null>)[name];
    if (!value) return;
    out[name + FORMATTED] = col.nav.entity === "businessunit" ? org.access.units.get(value)?.name ?? null : org.get(value)?.fullname ?? null;
    out[name + "@Microsoft.Dynamics.CRM.associatednavigationproperty"] = col.nav.property;
    out[name + "@Microsoft.Dynamics.CRM.lookuplogicalname"] = col.nav.entity;
  }
}

export function comparator(orderby: OrderBy[], primaryKey = PRIMARY_KEY): (a: Record<string, unknown>, b: Record<string, unknown>) => number {
  return (a, b) => {
    for (const { col, desc } of orderby) {
      const c = compareValues(norm(a[col.name]), norm(b[col.name]));
      if (c !== 0) return desc ? -c : c;
    }
    const x = a[primaryKey] as string, y = b[primaryKey] as string;
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

/** Nulls first, as SQL Server sorts ascending. */
function compareValues(x: unknown, y: unknown): number {
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  return (x as number) < (y as number) ? -1 : 1;
}

/** First index whose row sorts after `key` (binary search). */
export function upperBound<T>(list: T[], key: Record<string, unknown>, cmp: (a: Record<string, unknown>, b: Record<string, unknown>) => number, row: (t: T) => Record<string, unknown>): number {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(row(list[mid]!), key) <= 0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export interface QueryResult { rows: SystemUserRecord[]; next: Cookie | null; count?: number }

export function runQuery(org: DataverseOrg, q: QueryOptions, pageSize: number): QueryResult {
  const cmp = comparator(q.orderby);
  const asRow = (r: SystemUserRecord) => r as unknown as Record<string, unknown>;
  const pass = (r: SystemUserRecord) => !q.filter || matches(q.filter, asRow(r));
  const ids = q.filter ? candidates(q.filter, org.lookup) : null;
  let page: SystemUserRecord[];
  let count: number | undefined;

  if (!ids && q.orderby.length === 0) {
    // Primary-key order over the cached sorted id list: no sort, scan only as far as the page needs.
    const all = org.sortedIds();
    let i = q.cookie ? upperBound(all, q.cookie.last, cmp, (id) => ({ [PRIMARY_KEY]: id })) : 0;
    page = [];
    for (; i < all.length && page.length <= pageSize; i++) {
      const rec = org.users.get(all[i]!)!;
      if (pass(rec)) page.push(rec);
    }
    if (q.count) count = q.filter ? countMatches(org, pass) : org.users.size;
  } else {
    const source = ids ? [...ids].map((id) => org.users.get(id)!).filter(Boolean) : [...org.users.values()];
    const list = source.filter(pass).sort((a, b) => cmp(asRow(a), asRow(b)));
    const start = q.cookie ? upperBound(list, q.cookie.last, cmp, asRow) : 0;
    page = list.slice(start, start + pageSize + 1);
    count = q.count ? list.length : undefined;
  }

  const more = page.length > pageSize;
  if (more) page.length = pageSize;
  const last = page[page.length - 1];
  const next = more && last ? { page: (q.cookie?.page ?? 1) + 1, last: keyOf(last as unknown as Record<string, unknown>, q.orderby) } : null;
  // Dataverse caps @odata.count at 5000.
  return { rows: page, next, ...(count !== undefined ? { count: Math.min(count, MAX_PAGE_SIZE) } : {}) };
}

function countMatches(org: DataverseOrg, pass: (r: SystemUserRecord) => boolean): number {
  let n = 0;
  for (const rec of org.users.values()) if (pass(rec)) n++;
  return n;
}

export function keyOf(row: Record<string, unknown>, orderby: OrderBy[], primaryKey = PRIMARY_KEY): Record<string, unknown> {
  const key: Record<string, unknown> = {};
  for (const { col } of orderby) key[col.name] = row[col.name] ?? null;
  key[primaryKey] = row[primaryKey];
  return key;
}

// Cookie text mirrors Dataverse: <cookie pagenumber="2" pagingcookie="%3ccookie%20page%3d%221%22%3e…" istracking="False" />
const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const xmlUnescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&amp;/g, "&");
const lowerHex = (s: string) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

function cookieValue(col: Column, v: unknown): string {
  if (col.type === "guid" || col.type === "lookup") return `{${String(v).toUpperCase()}}`;
  return xmlEscape(String(v));
}

export function encodeCookie(cookie: Cookie, schema: EntitySchema = SYSTEMUSER_SCHEMA): string {
  const parts = Object.entries(cookie.last).map(([name, v]) =>
    v === null ? `<${name} />` : `<${name} last="${cookieValue(schema.columns.get(name)!, v)}" />`);
  const inner = `<cookie page="${cookie.page - 1}">${parts.join("")}</cookie>`;
  const outer = `<cookie pagenumber="${cookie.page}" pagingcookie="${lowerHex(inner)}" istracking="False" />`;
  return encodeURIComponent(outer).replace(/%3D/g, "=");
}

export function decodeCookie(text: string, schema: EntitySchema = SYSTEMUSER_SCHEMA): Cookie {
  const bad = () => queryError("The $skiptoken value is not valid.");
  const outer = /^<cookie pagenumber="(\d+)" pagingcookie="([^"]*)"/.exec(text);
  if (!outer) throw bad();
  let inner: string;
  try { inner = decodeURIComponent(outer[2]!); } catch { throw bad(); }
  const last: Record<string, unknown> = {};
  for (const m of inner.matchAll(/<(\w+)(?: last="([^"]*)")?[^>]*\/>/g)) {
    const col = schema.columns.get(m[1]!);
    if (!col) throw bad();
    last[col.name] = m[2] === undefined ? null : typed(col, xmlUnescape(m[2]));
  }
  if (typeof last[schema.primaryKey] !== "string") throw bad();
  return { page: Number(outer[1]), last };
}

function typed(col: Column, s: string): unknown {
  switch (col.type) {
    case "guid": case "lookup": return s.replace(/[{}]/g, "").toLowerCase();
    case "int": case "bigint": return Number(s);
    case "boolean": return s === "true";
    default: return s;
  }
}
