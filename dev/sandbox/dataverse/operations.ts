// One Web API operation (top-level or a `$batch` part) against the org: routing, conditional headers,
// upsert semantics (§4) and the response Dataverse would give. Errors become error responses here.
import { randomUUID } from "node:crypto";
import type { OpResponse } from "./batch-codec.js";
import { DataverseError, notFound, queryError } from "./errors.js";
import { parsePrefer, type Operation, type OpContext } from "./context.js";
import { parseChanges, parseJsonBody } from "./payload.js";
import { encodeCookie, MAX_PAGE_SIZE, parseQuery, parseQueryString, projection, runQuery } from "./query.js";
import { routeAccess } from "./access-routes.js";
import { contextSelection, expandInto, parseExpand, type ExpandSpec } from "./expand.js";
import { GUID_RE, type Column, type SystemUserRecord } from "./schema.js";

export { parsePrefer, type Operation, type OpContext } from "./context.js";

export const JSON_TYPE = "application/json; odata.metadata=minimal";

export function errorResponse(err: DataverseError): OpResponse {
  return {
    status: err.status,
    headers: { "REQ_ID": randomUUID(), "Content-Type": JSON_TYPE, "OData-Version": "4.0", ...err.headers },
    body: JSON.stringify(err.body),
  };
}

const keyError = () => queryError(
  "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.systemuser'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.systemuser'.");

export function execute(op: Operation, ctx: OpContext): OpResponse {
  try {
    return route(op, ctx);
  } catch (err) {
    if (err instanceof DataverseError) return errorResponse(err);
    throw err;
  }
}

function route(op: Operation, ctx: OpContext): OpResponse {
  if (/^whoami(\(\))?$/i.test(op.path)) {
    if (op.method !== "GET") throw methodNotAllowed(op.method);
    return json(200, {
      "@odata.context": `${ctx.org.apiBase}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: ctx.caller._businessunitid_value, UserId: ctx.caller.systemuserid, OrganizationId: ctx.org.organizationId,
    });
  }
  const access = routeAccess(op, ctx);
  if (access) return access;
  const m = /^systemusers(?:\((.*)\))?$/.exec(op.path);
  if (!m) throw new DataverseError(404, "0x80060888", `Resource not found for the segment '${op.path.split(/[/(]/)[0]}'.`);
  if (m[1] === undefined) {
    if (op.method === "GET") return list(op, ctx);
    if (op.method === "POST") return create(op, ctx);
    throw methodNotAllowed(op.method);
  }
  const key = m[1].replace(/^\{|\}$/g, "");
  // Only the primary key works: systemuser inherits `ownerid` as its key and has no alternate key (§3).
  if (!GUID_RE.test(key)) throw keyError();
  const id = key.toLowerCase();
  switch (op.method) {
    case "GET": return retrieve(id, op, ctx);
    case "PATCH": return patch(id, op, ctx);
    case "DELETE": return remove(id, op, ctx);
    default: throw methodNotAllowed(op.method);
  }
}

const methodNotAllowed = (method: string) => new DataverseError(405, "0x80060888", `The requested resource does not support http method '${method}'.`);

function json(status: number, body: unknown, headers: Record<string, string> = {}, contentType = JSON_TYPE): OpResponse {
  return { status, headers: { "Content-Type": contentType, "OData-Version": "4.0", ...headers }, body: JSON.stringify(body) };
}

const etagOf = (rec: SystemUserRecord) => `W/"${rec.versionnumber}"`;
const contextFor = (ctx: OpContext, select: Column[] | null, entity: boolean, expand: ExpandSpec[] = []) =>
  `${ctx.org.apiBase}$metadata#systemusers${contextSelection(select?.map((c) => c.name) ?? null, expand)}${entity ? "/$entity" : ""}`;

function list(op: Operation, ctx: OpContext): OpResponse {
  const q = parseQuery(parseQueryString(op.query));
  const expand = parseExpand(q.expand);
  const prefs = parsePrefer(op.headers.prefer);
  const applied: string[] = [];
  let pageSize = MAX_PAGE_SIZE;
  let paged = true;
  if (prefs.maxPageSize !== undefined) {
    // "If you include both, $top is ignored."
    pageSize = Math.max(1, Math.min(prefs.maxPageSize, MAX_PAGE_SIZE));
    applied.push(`odata.maxpagesize=${pageSize}`);
  } else if (q.top !== null) {
    pageSize = Math.min(q.top, MAX_PAGE_SIZE);
    paged = false;
  }
  if (prefs.annotations) applied.push(`odata.include-annotations="${prefs.annotations}"`);
  const result = pageSize === 0 ? { rows: [], next: null } : runQuery(ctx.org, q, pageSize);
  const body: Record<string, unknown> = { "@odata.context": contextFor(ctx, q.select, false, expand) };
  if ("count" in result && result.count !== undefined) body["@odata.count"] = result.count;
  body.value = result.rows.map((r) => expandInto(projection(r, q.select, !!prefs.annotations, ctx.org), r.systemuserid, expand, ctx.org));
  if (paged && result.next) {
    const kept = op.query.split("&").filter((p) => p && !/^(\$|%24)skiptoken=/i.test(p));
    kept.push(`$skiptoken=${encodeCookie(result.next)}`);
    body["@odata.nextLink"] = `${ctx.org.apiBase}systemusers?${kept.join("&")}`;
  }
  const headers: Record<string, string> = applied.length ? { "Preference-Applied": applied.join(",") } : {};
  return json(200, body, headers, ctx.inBatch ? `${JSON_TYPE}; odata.streaming=true` : JSON_TYPE);
}

function retrieve(id: string, op: Operation, ctx: OpContext): OpResponse {
  const q = parseQuery(parseQueryString(op.query), true);
  const expand = parseExpand(q.expand);
  const rec = ctx.org.get(id);
  if (!rec) throw notFound(id);
  const prefs = parsePrefer(op.headers.prefer);
  const etag = etagOf(rec);
  // Not with annotations or $expand (reference §4): Dataverse then always answers in full.
  if (op.headers["if-none-match"] === etag && !prefs.annotations && !expand.length) return { status: 304, headers: { "OData-Version": "4.0", ETag: etag } };
  const row = expandInto(projection(rec, q.select, !!prefs.annotations, ctx.org), rec.systemuserid, expand, ctx.org);
  const body = { "@odata.context": contextFor(ctx, q.select, true, expand), ...row };
  return json(200, body, { ETag: etag, ...(prefs.annotations ? { "Preference-Applied": `odata.include-annotations="${prefs.annotations}"` } : {}) });
}

function resolveRef(ctx: OpContext): (ref: string) => string {
  return (ref) => {
    const m = /^\$([^/]+)(.*)$/.exec(ref);
    if (!m) return ref;
    const url = ctx.contentIds?.get(m[1]!);
    if (!url) throw new DataverseError(400, "0x80060888", `Content-ID Reference: '$${m[1]}' does not exist in the batch context.`);
    return url + m[2];
  };
}

function written(rec: SystemUserRecord, status: 200 | 201 | 204, op: Operation, ctx: OpContext): OpResponse {
  const entityId = ctx.org.entityUrl(rec.systemuserid);
  const headers: Record<string, string> = { "OData-Version": "4.0", ETag: etagOf(rec), "OData-EntityId": entityId };
  if (ctx.inBatch) headers.Location = entityId;
  if (status === 204) return { status, headers };
  const q = parseQuery(parseQueryString(op.query), true);
  const body = { "@odata.context": contextFor(ctx, q.select, true), ...projection(rec, q.select, false, ctx.org) };
  return { status, headers: { "Content-Type": JSON_TYPE, ...headers, "Preference-Applied": "return=representation" }, body: JSON.stringify(body) };
}

/** Counts values sent for columns the platform ignores (read-only ones), per column, in the org's stats. */
const noteIgnored = (ctx: OpContext) => (column: string) => {
  const ignored = ctx.org.stats.ignoredColumns;
  ignored[column] = (ignored[column] ?? 0) + 1;
};

function create(op: Operation, ctx: OpContext): OpResponse {
  const changes = parseChanges(parseJsonBody(op.body), "create", resolveRef(ctx), noteIgnored(ctx));
  const rec = ctx.org.create(changes, ctx.journal);
  ctx.created?.(rec.systemuserid);
  return written(rec, parsePrefer(op.headers.prefer).representation ? 201 : 204, op, ctx);
}

const header = (v: string | undefined) => (v === undefined || v === "null" ? undefined : v.trim());

function patch(id: string, op: Operation, ctx: OpContext): OpResponse {
  const org = ctx.org;
  const existing = org.get(id);
  const ifMatch = header(op.headers["if-match"]);
  const ifNoneMatch = header(op.headers["if-none-match"]);
  const representation = parsePrefer(op.headers.prefer).representation;
  const body = parseJsonBody(op.body);
  if (ifNoneMatch === "*" && existing) throw new DataverseError(412, "", "A record with matching key values already exists.");
  if (ifMatch !== undefined) {
    if (!existing) throw notFound(id);
    if (ifMatch !== "*" && ifMatch !== etagOf(existing)) {
      throw new DataverseError(412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided.");
    }
  }
  if (!existing) {
    // Upsert (no If-Match) or create-only (If-None-Match: *): the key in the URL is the new row's id.
    const rec = org.create({ ...parseChanges(body, "create", resolveRef(ctx), noteIgnored(ctx)), systemuserid: id }, ctx.journal);
    ctx.created?.(rec.systemuserid);
    return written(rec, representation ? 201 : 204, op, ctx);
  }
  const rec = org.update(id, parseChanges(body, "update", resolveRef(ctx), noteIgnored(ctx)), ctx.journal);
  return written(rec, representation ? 200 : 204, op, ctx);
}

function remove(id: string, op: Operation, ctx: OpContext): OpResponse {
  const existing = ctx.org.get(id);
  if (!existing) throw notFound(id);
  const ifMatch = header(op.headers["if-match"]);
  if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== etagOf(existing)) {
    throw new DataverseError(412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided.");
  }
  ctx.org.remove(id, ctx.journal);
  return { status: 204, headers: { "OData-Version": "4.0" } };
}
