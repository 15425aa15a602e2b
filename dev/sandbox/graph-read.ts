// Plain reads of the Graph emulator: GET /users/{id|upn}, GET /users, GET /groups/{id}, GET /groups/{id}/members.
// Deleted users (soft or hard) are invisible here, as in Graph's /users.
import type { IncomingMessage } from "node:http";
import type { DirectoryUser } from "./directory.js";
import { GROUP_PROPERTIES, groupValue, nextUsers } from "./graph-delta.js";
import { compileFilter, parseFilter, type FilterNode } from "./graph-filter.js";
import {
  DEFAULT_USER_SELECT, GraphHttpError, USER_PROPERTIES, type QueryOptions, contextUrl, decodeToken, encodeToken,
  parseSelect, preferredPageSize, projectUser, userValue,
} from "./graph-odata.js";
import type { Tenant } from "./tenant.js";

/** What the read routes need of the emulator (graph.ts passes itself; a type here keeps the import one-way). */
export interface GraphReadView {
  readonly tenant: Tenant;
  readonly pageSize: number;
  /** Ids users were read by (`id eq` / `id in` filters), for tests that count by-id reads. */
  readonly usersReadById: string[];
  baseUrl(): string;
}

type Page = [Record<string, unknown>, Record<string, string>];

function notFound(id: string): GraphHttpError {
  return new GraphHttpError(404, "Request_ResourceNotFound", `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
}

/** Graph caps `in` (and `or`) at 15 expressions in a filter clause. */
const MAX_FILTER_EXPRESSIONS = 15;

/** The ids an `id eq '…'` or `id in (…)` filter names (null for any other filter). */
function idsOf(node: FilterNode): string[] | null {
  if (node.op === "in" && node.values.length > MAX_FILTER_EXPRESSIONS) {
    throw new GraphHttpError(400, "Request_UnsupportedQuery", `Too many child clauses specified in search filter expression containing 'OR' operators: ${node.values.length}. Max allowed: ${MAX_FILTER_EXPRESSIONS}.`);
  }
  if ((node.op === "in" || node.op === "eq") && node.prop.toLowerCase() === "id") {
    const values = node.op === "in" ? node.values : [node.value];
    return values.filter((v): v is string => typeof v === "string");
  }
  return null;
}

function findById(emulator: GraphReadView, id: string): DirectoryUser | undefined {
  const users = emulator.tenant.directory.users;
  return users.get(id) ?? users.get(id.toLowerCase());
}

/** `{id}`, `{upn}` or the key form `('{upn}')` with OData quote doubling. */
function resolveUser(emulator: GraphReadView, key: string): DirectoryUser {
  let wanted = key;
  const keyForm = /^\('(.*)'\)$/.exec(key);
  if (keyForm) wanted = keyForm[1]!.replace(/''/g, "'");
  const dir = emulator.tenant.directory;
  const byId = dir.users.get(wanted) ?? [...dir.users.values()].find((u) => u.id.toLowerCase() === wanted.toLowerCase());
  const user = byId?.state === "active" ? byId : dir.findByUpn(wanted);
  if (!user) throw notFound(wanted);
  return user;
}

export function getUser(emulator: GraphReadView, key: string, q: QueryOptions): Record<string, unknown> {
  const user = resolveUser(emulator, key);
  const select = parseSelect(q.get("$select"), USER_PROPERTIES);
  const base = emulator.baseUrl();
  return {
    "@odata.context": contextUrl(base, select ? `users(${select.join(",")})/$entity` : "users/$entity"),
    ...projectUser(user, select ?? DEFAULT_USER_SELECT),
  };
}

function pageSizeFor(emulator: GraphReadView, req: IncomingMessage, q: QueryOptions): { size: number; applied?: string } {
  const top = q.get("$top");
  if (top !== undefined) {
    const n = Number(top);
    if (!Number.isInteger(n) || n < 1 || n > 999) {
      throw new GraphHttpError(400, "Request_BadRequest", `Invalid page size specified: '${top}'. Must be between 1 and 999 inclusive.`);
    }
    return { size: n };
  }
  return preferredPageSize(req, emulator.pageSize, 999);
}

/** Offset paging; the nextLink keeps the request's own query options, with `$skiptoken` added. */
function paged<T>(all: T[], size: number, q: QueryOptions, url: URL, base: string): { items: T[]; nextLink?: string } {
  const skip = q.get("$skiptoken");
  const offset = skip ? decodeToken<{ k: "list"; o: number }>(skip, "list").o : 0;
  const items = all.slice(offset, offset + size);
  if (offset + size >= all.length) return { items };
  return { items, nextLink: linkWithSkipToken(url, base, { k: "list", o: offset + size }) };
}

/** The request's own link with `$skiptoken` set to `token`, as Graph's nextLinks keep the query options. */
function linkWithSkipToken(url: URL, base: string, token: object): string {
  const params = new URLSearchParams();
  for (const [k, v] of url.searchParams) if (k.toLowerCase() !== "$skiptoken") params.append(k, v);
  params.set("$skiptoken", encodeToken(token));
  return `${base}${url.pathname}?${params.toString().replace(/%24/g, "$")}`;
}

/**
 * The tenant's users a page at a time, in id order after the last id served (a page costs its own size, not the
 * tenant's, and users added or removed meanwhile do not shift the pages still to come).
 */
function pagedTenant(emulator: GraphReadView, keep: (u: DirectoryUser) => boolean, size: number, q: QueryOptions, url: URL, base: string): { items: DirectoryUser[]; nextLink?: string } {
  const skip = q.get("$skiptoken");
  const after = skip ? decodeToken<{ k: "ul"; a: string }>(skip, "ul").a : null;
  const { page, more } = nextUsers(emulator.tenant.directory.usersSortedById(), after, size, keep);
  return more ? { items: page, nextLink: linkWithSkipToken(url, base, { k: "ul", a: page[page.length - 1]!.id }) } : { items: page };
}

function rejectUnsupported(q: QueryOptions): void {
  for (const option of ["$orderby", "$search", "$expand"]) {
    if (q.has(option)) throw new GraphHttpError(400, "Request_UnsupportedQuery", `${option} is not supported by the sandbox Graph emulator.`);
  }
}

export function listUsers(emulator: GraphReadView, req: IncomingMessage, q: QueryOptions, url: URL): Page {
  rejectUnsupported(q);
  const select = parseSelect(q.get("$select"), USER_PROPERTIES);
  const filterSrc = q.get("$filter");
  const filter = filterSrc ? parseFilter(filterSrc) : null;
  const predicate = filter ? compileFilter(filter, USER_PROPERTIES) : null;
  const { size, applied } = pageSizeFor(emulator, req, q);
  // `id eq` / `id in (…)` (how clients read users by id) look the ids up instead of scanning a large tenant.
  const byId = filter ? idsOf(filter) : null;
  if (byId) emulator.usersReadById.push(...byId.map((id) => id.toLowerCase()));
  const keep = (u: DirectoryUser) => u.state === "active" && (!predicate || predicate((prop) => userValue(u, prop)));
  const base = emulator.baseUrl();
  const { items, nextLink } = byId
    ? paged(byId.flatMap((id) => findById(emulator, id) ?? []).filter(keep), size, q, url, base)
    : pagedTenant(emulator, keep, size, q, url, base);
  const body: Record<string, unknown> = { "@odata.context": contextUrl(base, select ? `users(${select.join(",")})` : "users") };
  if (nextLink) body["@odata.nextLink"] = nextLink;
  body.value = items.map((u) => projectUser(u, select ?? DEFAULT_USER_SELECT));
  return [body, applied ? { "preference-applied": applied } : {}];
}

export function getGroup(emulator: GraphReadView, id: string, q: QueryOptions): Record<string, unknown> {
  const group = emulator.tenant.directory.groups.get(id);
  if (!group) throw notFound(id);
  const select = parseSelect(q.get("$select"), GROUP_PROPERTIES, "microsoft.graph.group")?.filter((p) => p !== "members")
    ?? ["id", "displayName", "description", "mail", "mailEnabled", "mailNickname", "securityEnabled", "groupTypes"];
  const out: Record<string, unknown> = { "@odata.context": contextUrl(emulator.baseUrl(), "groups/$entity") };
  for (const prop of select) out[prop] = groupValue(group, prop);
  return out;
}

/**
 * GET /groups/{id}/members/$count (or members/microsoft.graph.user/$count): the direct members counted, as
 * `text/plain`. Graph counts directory objects only as an advanced query: without `ConsistencyLevel: eventual`
 * it answers 400.
 */
export function countGroupMembers(emulator: GraphReadView, req: IncomingMessage, groupId: string): number {
  if (String(req.headers.consistencylevel ?? "").toLowerCase() !== "eventual") {
    throw new GraphHttpError(400, "Request_BadRequest", "Count is only supported with the ConsistencyLevel header set to eventual.");
  }
  const dir = emulator.tenant.directory;
  const group = dir.groups.get(groupId);
  if (!group) throw notFound(groupId);
  return [...group.members.values()].filter((m) => m.isMember && dir.users.get(m.userId)?.state === "active").length;
}

export function listGroupMembers(emulator: GraphReadView, req: IncomingMessage, q: QueryOptions, url: URL, groupId: string): Page {
  rejectUnsupported(q);
  const dir = emulator.tenant.directory;
  const group = dir.groups.get(groupId);
  if (!group) throw notFound(groupId);
  const select = parseSelect(q.get("$select"), USER_PROPERTIES);
  const { size, applied } = pageSizeFor(emulator, req, q);
  const members = [...group.members.values()]
    .filter((m) => m.isMember)
    .map((m) => dir.users.get(m.userId))
    .filter((u): u is DirectoryUser => u?.state === "active");
  const base = emulator.baseUrl();
  const { items, nextLink } = paged(members, size, q, url, base);
  const body: Record<string, unknown> = { "@odata.context": contextUrl(base, "directoryObjects") };
  if (nextLink) body["@odata.nextLink"] = nextLink;
  body.value = items.map((u) => ({ "@odata.type": "#microsoft.graph.user", ...projectUser(u, select ?? DEFAULT_USER_SELECT) }));
  return [body, applied ? { "preference-applied": applied } : {}];
}
