// Delta query for users and groups (learn.microsoft.com/graph/delta-query-overview), over the Directory's
// change versions. A chain (initial sync or one round from a deltaLink) reports the changes in the window
// (since, upTo], upTo fixed when the chain starts; pages walk the ids in order (keyset), so changes made
// mid-chain never shift or lose items: they are left to the next round. Tokens are opaque and carry
// every query option, so options on follow-up requests are ignored, as in Graph.
import type { IncomingMessage } from "node:http";
import type { Directory, DirectoryGroup, DirectoryUser, GroupMembership } from "./directory.js";
import { deltaIdFilter } from "./graph-filter.js";
import {
  DEFAULT_USER_SELECT, GraphHttpError, USER_PROPERTIES, type QueryOptions, contextUrl, decodeToken, encodeToken,
  parseSelect, preferredPageSize, projectUser,
} from "./graph-odata.js";

export type DeltaFault = "gone" | "resyncRequired" | "syncStateNotFound";

export interface DeltaContext {
  directory: Directory;
  base: string;
  /** Distinguishes this emulator instance: tokens from an earlier sandbox run are unknown sync states. */
  epoch: string;
  pageSize: number;
  /** Largest page a `Prefer: odata.maxpagesize` may ask for (Graph: 200 on delta). */
  maxPageSize: number;
  memberLinksPerPage: number;
  /** Consumes one injected failure for a request that carries a token, if any is pending. */
  takeFault(): DeltaFault | null;
}

export interface DeltaResult {
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

interface ChainState {
  e: string;
  /** Changes after this version (0 with `i` = initial sync: everything that exists). */
  s: number;
  /** Up to this version (fixed at chain start). */
  v: number;
  i: boolean;
  sel: string[] | null;
  f: string[] | null;
}
interface UserSkip extends ChainState { k: "uds"; a: string | null }
interface UserDelta { k: "udd"; e: string; s: number; sel: string[] | null; f: string[] | null }
interface GroupSkip extends ChainState { k: "gds"; g: string; m: string | null }
interface GroupDelta { k: "gdd"; e: string; s: number; sel: string[] | null; f: string[] | null }


/** A group's member links for one chain window (see `groupsDelta`); dropped with the group. */
const memberLinkCache = new WeakMap<DirectoryGroup, { key: string; links: GroupMembership[] }>();

function rejectUnsupported(q: QueryOptions, allowExpandMembers: boolean): void {
  if (q.has("$orderby")) throw new GraphHttpError(400, "Request_UnsupportedQuery", "$orderby is not supported on delta queries.");
  const expand = q.get("$expand");
  if (expand !== undefined && !(allowExpandMembers && expand.trim().toLowerCase() === "members")) {
    throw new GraphHttpError(400, "Request_UnsupportedQuery", "$expand is not supported on this delta query.");
  }
  // `$top` is silently ignored on directory delta (per a Graph docs maintainer); page size comes from Prefer.
}

function checkState(ctx: DeltaContext, epoch: string, issuedAt: number): void {
  if (epoch !== ctx.epoch || issuedAt < ctx.directory.oldestValidVersion || issuedAt > ctx.directory.version) {
    throw new GraphHttpError(400, "syncStateNotFound", "The sync state generation is not found. Please restart the sync with an empty token.");
  }
}

function faultError(fault: DeltaFault, resetLink: string): GraphHttpError {
  if (fault === "gone") {
    return new GraphHttpError(410, "resyncRequired", "Resync required. Replace any local cached data with the data from a full synchronization.", { location: resetLink });
  }
  if (fault === "resyncRequired") return new GraphHttpError(400, "resyncRequired", "Resync required. Restart the synchronization with an empty token.");
  return new GraphHttpError(400, "syncStateNotFound", "The sync state generation is not found. Please restart the sync with an empty token.");
}

function resetLink(base: string, path: string, sel: string[] | null, f: string[] | null): string {
  let link = `${base}/v1.0/${path}?$deltatoken=`;
  if (sel) link += `&$select=${sel.join(",")}`;
  if (f) link += `&$filter=${encodeURIComponent(f.map((id) => `id eq '${id}'`).join(" or "))}`;
  return link;
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Up to `size` users after id `after` (id order) that pass `keep`, and whether more follow: a page costs its own size, not the directory's. */
export function nextUsers(sorted: readonly DirectoryUser[], after: string | null, size: number, keep: (u: DirectoryUser) => boolean): { page: DirectoryUser[]; more: boolean } {
  let lo = 0;
  if (after !== null) {
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]!.id <= after) lo = mid + 1;
      else hi = mid;
    }
  }
  const page: DirectoryUser[] = [];
  for (let i = lo; i < sorted.length; i++) {
    if (!keep(sorted[i]!)) continue;
    if (page.length === size) return { page, more: true };
    page.push(sorted[i]!);
  }
  return { page, more: false };
}

export function usersDelta(req: IncomingMessage, q: QueryOptions, ctx: DeltaContext): DeltaResult {
  const dir = ctx.directory;
  const skip = q.get("$skiptoken");
  const delta = q.get("$deltatoken");
  let chain: UserSkip;
  if (skip) {
    chain = decodeToken<UserSkip>(skip, "uds");
    const fault = ctx.takeFault();
    if (fault) throw faultError(fault, resetLink(ctx.base, "users/delta", chain.sel, chain.f));
    checkState(ctx, chain.e, chain.v);
  } else if (delta && delta.toLowerCase() !== "latest") {
    const token = decodeToken<UserDelta>(delta, "udd");
    const fault = ctx.takeFault();
    if (fault) throw faultError(fault, resetLink(ctx.base, "users/delta", token.sel, token.f));
    checkState(ctx, token.e, token.s);
    chain = { k: "uds", e: ctx.epoch, s: token.s, v: dir.version, i: false, sel: token.sel, f: token.f, a: null };
  } else {
    rejectUnsupported(q, false);
    const sel = parseSelect(q.get("$select"), USER_PROPERTIES);
    const f = deltaIdFilter(q.get("$filter"), "User");
    chain = { k: "uds", e: ctx.epoch, s: 0, v: dir.version, i: true, sel, f, a: null };
    if (delta?.toLowerCase() === "latest") return userPage(ctx, chain, [], null);
  }

  const { size, applied } = preferredPageSize(req, ctx.pageSize, ctx.maxPageSize);
  const wanted = chain.f ? new Set(chain.f.map((id) => id.toLowerCase())) : null;
  const inChain = (u: DirectoryUser) => u.version <= chain.v && (chain.i ? u.state === "active" : u.version > chain.s) && (!wanted || wanted.has(u.id.toLowerCase()));
  // A round from a delta link walks only the users changed in its window (the directory's change log).
  const candidates = chain.i ? dir.usersSortedById() : dir.usersChangedBetween(chain.s, chain.v);
  const { page, more } = nextUsers(candidates, chain.a, size, inChain);
  const next = more ? { ...chain, a: page[page.length - 1]!.id } : null;
  const result = userPage(ctx, chain, page, next);
  if (applied) result.headers["preference-applied"] = applied;
  return result;
}

function userPage(ctx: DeltaContext, chain: UserSkip, page: DirectoryUser[], next: UserSkip | null): DeltaResult {
  const select = chain.sel ?? DEFAULT_USER_SELECT;
  const value = page.map((u) => {
    if (u.state === "softDeleted") return { id: u.id, "@removed": { reason: "changed" } };
    if (u.state === "hardDeleted") return { id: u.id, "@removed": { reason: "deleted" } };
    return { ...projectUser(u, select.filter((p) => p !== "id")), id: u.id };
  });
  const body: Record<string, unknown> = { "@odata.context": contextUrl(ctx.base, `users(${select.join(",")})`) };
  if (next) body["@odata.nextLink"] = `${ctx.base}/v1.0/users/delta?$skiptoken=${encodeToken(next)}`;
  body.value = value;
  if (!next) {
    const token: UserDelta = { k: "udd", e: ctx.epoch, s: chain.v, sel: chain.sel, f: chain.f };
    body["@odata.deltaLink"] = `${ctx.base}/v1.0/users/delta?$deltatoken=${encodeToken(token)}`;
  }
  return { body, headers: {} };
}

const GROUP_DEFAULTS: Record<string, unknown> = {
  description: null, mail: null, mailEnabled: false, mailNickname: null, securityEnabled: true, groupTypes: [],
};
export const GROUP_PROPERTIES = new Set(["id", "displayName", "members", ...Object.keys(GROUP_DEFAULTS)]);
const DEFAULT_GROUP_SELECT = ["displayName", "description", "mailEnabled", "securityEnabled", "groupTypes"];

export function groupValue(group: DirectoryGroup, prop: string): unknown {
  if (prop === "id") return group.id;
  if (prop === "displayName") return group.displayName;
  return GROUP_DEFAULTS[prop];
}

export function groupsDelta(req: IncomingMessage, q: QueryOptions, ctx: DeltaContext): DeltaResult {
  const dir = ctx.directory;
  const skip = q.get("$skiptoken");
  const delta = q.get("$deltatoken");
  let chain: GroupSkip;
  if (skip) {
    chain = decodeToken<GroupSkip>(skip, "gds");
    const fault = ctx.takeFault();
    if (fault) throw faultError(fault, resetLink(ctx.base, "groups/delta", chain.sel, chain.f));
    checkState(ctx, chain.e, chain.v);
  } else if (delta && delta.toLowerCase() !== "latest") {
    const token = decodeToken<GroupDelta>(delta, "gdd");
    const fault = ctx.takeFault();
    if (fault) throw faultError(fault, resetLink(ctx.base, "groups/delta", token.sel, token.f));
    checkState(ctx, token.e, token.s);
    chain = { k: "gds", e: ctx.epoch, s: token.s, v: dir.version, i: false, sel: token.sel, f: token.f, g: "", m: null };
  } else {
    rejectUnsupported(q, true);
    let sel = parseSelect(q.get("$select"), GROUP_PROPERTIES, "microsoft.graph.group");
    // `$expand=members` is the older spelling of tracking members.
    if (q.get("$expand")) sel = [...(sel ?? DEFAULT_GROUP_SELECT), "members"];
    const f = deltaIdFilter(q.get("$filter"), "Group");
    chain = { k: "gds", e: ctx.epoch, s: 0, v: dir.version, i: true, sel, f, g: "", m: null };
    if (delta?.toLowerCase() === "latest") return groupPage(ctx, chain, [], null);
  }

  const { size, applied } = preferredPageSize(req, ctx.pageSize, ctx.maxPageSize);
  const trackMembers = chain.sel?.includes("members") ?? false;
  const inWindow = (m: GroupMembership) => m.version <= chain.v && m.version > chain.s;
  // Every page of a chain needs a group's sorted member links: computed once per chain window and group state.
  const memberDeltas = (g: DirectoryGroup): GroupMembership[] => {
    const key = `${chain.e}:${chain.s}:${chain.v}:${chain.i}:${g.version}:${g.members.size}`;
    const cached = memberLinkCache.get(g);
    if (cached?.key === key) return cached.links;
    const links = [...g.members.values()]
      .filter((m) => chain.i
        ? m.isMember && m.version <= chain.v && dir.users.get(m.userId)?.state === "active"
        : inWindow(m))
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    memberLinkCache.set(g, { key, links });
    return links;
  };
  const wanted = chain.f ? new Set(chain.f.map((id) => id.toLowerCase())) : null;
  const groups = [...dir.groups.values()]
    .filter((g) => !wanted || wanted.has(g.id.toLowerCase()))
    .filter((g) => chain.i || (g.version > chain.s && g.version <= chain.v) || [...g.members.values()].some(inWindow))
    .filter((g) => g.id >= chain.g)
    .sort(byId);

  const items: Array<{ group: DirectoryGroup; members: GroupMembership[] }> = [];
  let links = 0;
  let next: GroupSkip | null = null;
  let gi = 0;
  for (; gi < groups.length && items.length < size; gi++) {
    const group = groups[gi]!;
    const after = group.id === chain.g ? chain.m : null;
    const pending = trackMembers ? memberDeltas(group).filter((m) => after === null || m.userId > after) : [];
    const room = ctx.memberLinksPerPage - links;
    if (room <= 0 && pending.length > 0) { next = { ...chain, g: group.id, m: after }; break; }
    const chunk = pending.slice(0, room);
    items.push({ group, members: chunk });
    links += chunk.length;
    if (chunk.length < pending.length) { next = { ...chain, g: group.id, m: chunk[chunk.length - 1]!.userId }; break; }
  }
  if (!next && gi < groups.length) next = { ...chain, g: groups[gi]!.id, m: null };
  const result = groupPage(ctx, chain, items, next);
  if (applied) result.headers["preference-applied"] = applied;
  return result;
}

function groupPage(ctx: DeltaContext, chain: GroupSkip, items: Array<{ group: DirectoryGroup; members: GroupMembership[] }>, next: GroupSkip | null): DeltaResult {
  const select = chain.sel ?? DEFAULT_GROUP_SELECT;
  const value = items.map(({ group, members }) => {
    const item: Record<string, unknown> = {};
    for (const prop of select) if (prop !== "members" && prop !== "id") item[prop] = groupValue(group, prop);
    item.id = group.id;
    if (select.includes("members")) {
      // A member whose user is deleted is gone from the group (Entra puts them back on a restore).
      item["members@delta"] = members.map((m) => m.isMember && ctx.directory.users.get(m.userId)?.state === "active"
        ? { "@odata.type": "#microsoft.graph.user", id: m.userId }
        : { "@odata.type": "#microsoft.graph.user", id: m.userId, "@removed": { reason: "deleted" } });
    }
    return item;
  });
  const body: Record<string, unknown> = { "@odata.context": contextUrl(ctx.base, `groups(${select.join(",")})`) };
  if (next) body["@odata.nextLink"] = `${ctx.base}/v1.0/groups/delta?$skiptoken=${encodeToken(next)}`;
  body.value = value;
  if (!next) {
    const token: GroupDelta = { k: "gdd", e: ctx.epoch, s: chain.v, sel: chain.sel, f: chain.f };
    body["@odata.deltaLink"] = `${ctx.base}/v1.0/groups/delta?$deltatoken=${encodeToken(token)}`;
  }
  return { body, headers: {} };
}
