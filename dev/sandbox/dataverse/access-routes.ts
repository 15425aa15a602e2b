// Web API routes of the access tables: the entity sets businessunits, roles, teams,
// systemuserrolescollection and teammemberships; the N:N navigation properties read from either side
// (`systemusers(<u>)/systemuserroles_association`, `teams(<t>)/teammembership_association`); and `$ref`
// association writes, which join a change set's journal like any other write.
import type { OpResponse } from "./batch-codec.js";
import { DataverseError, notFound } from "./errors.js";
import {
  BUSINESSUNIT_SCHEMA, collection, mapSource, project, ROLE_SCHEMA, SYSTEMUSERROLES_SCHEMA, TEAM_SCHEMA, TEAMMEMBERSHIP_SCHEMA,
  type Row, type RowSource,
} from "./entity-sets.js";
import { NAVIGATION } from "./expand.js";
import { parsePrefer, type Operation, type OpContext } from "./context.js";
import type { Links } from "./links.js";
import { parseQuery, parseQueryString } from "./query.js";
import { SYSTEMUSER_SCHEMA, type EntitySchema } from "./schema.js";

const GUID = "\\{?([0-9a-fA-F-]{36})\\}?";
const SET_RE = /^(businessunits|roles|teams|systemuserrolescollection|teammemberships)(?:\((.*)\))?$/;
const NAV_RE = new RegExp(`^(systemusers|teams|roles)\\(${GUID}\\)/(systemuserroles_association|teammembership_association)(?:\\(${GUID}\\))?(/\\$ref)?$`);
/** Which navigation property each side has. */
const NAV_OF: Record<string, string> = { roles: "systemuserroles_association", teams: "teammembership_association" };

const methodNotAllowed = (method: string) => new DataverseError(405, "0x80060888", `The requested resource does not support http method '${method}'.`);
const noContent = (): OpResponse => ({ status: 204, headers: { "OData-Version": "4.0" } });

/** Answers an access route, or returns null when the path is not one. */
export function routeAccess(op: Operation, ctx: OpContext): OpResponse | null {
  const set = SET_RE.exec(op.path);
  if (set) {
    if (op.method !== "GET") throw methodNotAllowed(op.method);
    return readSet(set[1]!, set[2], op, ctx);
  }
  const nav = NAV_RE.exec(op.path);
  if (!nav) return null;
  const [, side, rawId, property, rawInner, ref] = nav;
  if (side !== "systemusers" && NAV_OF[side!] !== property) {
    throw new DataverseError(404, "0x80060888", `Resource not found for the segment '${property}'.`);
  }
  const id = rawId!.toLowerCase();
  const inner = rawInner?.toLowerCase();
  if (!ref) {
    if (op.method !== "GET" || inner) throw methodNotAllowed(op.method);
    return readNavigation(side!, id, property!, op, ctx);
  }
  if (op.method === "POST" && !inner) return writeRef(side!, id, property!, referencedId(op.body, ctx), "add", ctx);
  if (op.method === "DELETE") return writeRef(side!, id, property!, inner ?? idParameter(op.query), "remove", ctx);
  throw methodNotAllowed(op.method);
}

function sourceOf(name: string, ctx: OpContext): { source: RowSource; schema: EntitySchema } {
  const access = ctx.org.access;
  switch (name) {
    case "businessunits": return { source: mapSource(access.units), schema: BUSINESSUNIT_SCHEMA };
    case "roles": return { source: mapSource(access.roles), schema: ROLE_SCHEMA };
    case "teams": return { source: mapSource(access.teams), schema: TEAM_SCHEMA };
    case "systemuserrolescollection": return { source: linkSource(access.userRoles), schema: SYSTEMUSERROLES_SCHEMA };
    default: return { source: linkSource(access.memberships), schema: TEAMMEMBERSHIP_SCHEMA };
  }
}

const linkSource = (links: Links): RowSource =>
  ({ get: (id) => links.rows.get(id), sortedIds: () => links.sortedIds(), lookup: links.lookup });

function readSet(name: string, key: string | undefined, op: Operation, ctx: OpContext): OpResponse {
  const { source, schema } = sourceOf(name, ctx);
  if (key === undefined) return respond(source, schema, op, ctx);
  const id = /^\{?([0-9a-fA-F-]{36})\}?$/.exec(key)?.[1]?.toLowerCase();
  const row = id ? source.get(id) : undefined;
  if (!row) throw new DataverseError(404, "0x80040217", `${schema.entity} With Id = ${id ?? key} Does Not Exist`);
  const q = parseQuery(parseQueryString(op.query), true, schema);
  const body = { "@odata.context": `${ctx.org.apiBase}$metadata#${schema.set}/$entity`, ...project(row, q.select, schema) };
  return { status: 200, headers: { "Content-Type": "application/json; odata.metadata=minimal", "OData-Version": "4.0" }, body: JSON.stringify(body) };
}

function respond(source: RowSource, schema: EntitySchema, op: Operation, ctx: OpContext): OpResponse {
  const q = parseQuery(parseQueryString(op.query), false, schema);
  const maxPageSize = parsePrefer(op.headers.prefer).maxPageSize;
  return collection(source, q, schema, { apiBase: ctx.org.apiBase, path: op.path, query: op.query, maxPageSize, inBatch: ctx.inBatch });
}

/** `systemusers(<u>)/<nav>` lists the user's roles or teams; `teams(<t>)/…` and `roles(<r>)/…` list users. */
function readNavigation(side: string, id: string, property: string, op: Operation, ctx: OpContext): OpResponse {
  const org = ctx.org;
  const access = org.access;
  if (side === "systemusers") {
    if (!org.get(id)) throw notFound(id);
    const links = property === "systemuserroles_association" ? access.userRoles : access.memberships;
    const table = property === "systemuserroles_association" ? access.roles : access.teams;
    const ids = links.ofUser(id).sort();
    return respond({ get: (k) => table.get(k) as Row | undefined, sortedIds: () => ids }, NAVIGATION[property]!, op, ctx);
  }
  const links = side === "roles" ? access.userRoles : access.memberships;
  if (!(side === "roles" ? access.roles : access.teams).has(id)) throw new DataverseError(404, "0x80040217", `${side.slice(0, -1)} With Id = ${id} Does Not Exist`);
  const ids = links.ofOther(id).sort();
  return respond({ get: (k) => org.get(k) as unknown as Row | undefined, sortedIds: () => ids }, SYSTEMUSER_SCHEMA, op, ctx);
}

/** The id in a `$ref` body: `{"@odata.id": "<org>/api/data/v9.2/roles(<id>)"}` (absolute, relative, or `$n` in a change set). */
function referencedId(body: string, ctx?: OpContext): { set: string; id: string } {
  let ref: unknown;
  try { ref = (JSON.parse(body) as Record<string, unknown>)["@odata.id"]; } catch { ref = undefined; }
  const contentId = typeof ref === "string" ? /^\$([^/]+)$/.exec(ref)?.[1] : undefined;
  if (contentId !== undefined) {
    ref = ctx?.contentIds?.get(contentId);
    if (ref === undefined) throw new DataverseError(400, "0x80060888", `Content-ID Reference: '$${contentId}' does not exist in the batch context.`);
  }
  const m = typeof ref === "string" ? new RegExp(`(?:^|/)([a-z]+)\\(${GUID}\\)\\s*$`).exec(ref) : null;
  if (!m) throw new DataverseError(400, "0x80060888", "The request body must contain an @odata.id naming the entity to associate, e.g. roles(<id>).");
  return { set: m[1]!, id: m[2]!.toLowerCase() };
}

/** `DELETE …/<nav>/$ref?$id=<org>/api/data/v9.2/roles(<id>)`. */
function idParameter(query: string): { set: string; id: string } {
  const value = parseQueryString(query).get("$id");
  if (!value) throw new DataverseError(400, "0x80060888", "A DELETE of a collection-valued $ref needs the related key in the URL or a $id parameter.");
  return referencedId(JSON.stringify({ "@odata.id": value }));
}

/** Adds or removes one association, from whichever side the URL names. */
function writeRef(side: string, id: string, property: string, other: string | { set: string; id: string }, change: "add" | "remove", ctx: OpContext): OpResponse {
  const expected = side === "systemusers" ? NAVIGATION[property]!.set : "systemusers";
  const target = typeof other === "string" ? { set: expected, id: other } : other;
  if (target.set !== expected) throw new DataverseError(400, "0x80060888", `The @odata.id must name ${expected}(<id>) for ${property}, not ${target.set}.`);
  const [userId, otherId] = side === "systemusers" ? [id, target.id] : [target.id, id];
  const user = ctx.org.get(userId);
  if (!user) throw notFound(userId);
  const access = ctx.org.access;
  const stats = ctx.org.stats;
  let changed = true;
  if (property === "systemuserroles_association") {
    if (change === "add") access.associateRole(user, otherId, ctx.journal);
    else changed = access.disassociateRole(userId, otherId, ctx.journal);
    if (changed) stats.access[change === "add" ? "roleAssociate" : "roleDisassociate"]++;
  } else {
    if (change === "add") access.addMember(otherId, userId, ctx.journal);
    else changed = access.removeMember(otherId, userId, ctx.journal);
    if (changed) stats.access[change === "add" ? "teamAdd" : "teamRemove"]++;
  }
  if (changed) stats.writes++;
  return noContent();
}
