// Membership changes of a set of groups through Graph's `groups/delta` with `$select=members`, filtered to the
// groups by id. Generic: group ids and the saved cursor in; per group the members added and removed (or, after a
// first read or a reset, the whole membership) and the new cursor out.
//
// Graph facts this follows: a `$filter` on groups/delta takes only `id eq '…'` joined with `or`, at most 50 ids,
// so more groups are read as several chains (one delta link each). A chain pages through `@odata.nextLink`
// until `@odata.deltaLink`; members arrive in `members@delta`, removed ones carrying `@removed`; a large group
// spans pages and may repeat, so pages are merged (the last word on a member wins). A group item carrying
// `@removed` was deleted: all its members are gone. An expired or reset link (410 Gone, syncStateNotFound,
// resyncRequired: DeltaResetError from the source) restarts that chain from its start, which reports whole
// memberships again. Only direct members are reported (Graph does not expand nested groups).
import { DeltaResetError, type DirectoryRequestOptions } from "./types.js";

/** Graph's limit on `id eq` clauses in one groups/delta `$filter`. */
export const GROUPS_PER_DELTA_CHAIN = 50;

/** One member link of a groups/delta item. */
export interface GroupDeltaMember {
  id: string;
  /** `@odata.type` without the `#microsoft.graph.` prefix (`user`, `group`, `device`, …); undefined when absent. */
  type: string | undefined;
  removed: boolean;
}

/** One group of a groups/delta page. */
export interface GroupDeltaItem {
  id: string;
  /** The group itself was deleted. */
  removed: boolean;
  members: GroupDeltaMember[];
}

export interface GroupDeltaPage {
  groups: GroupDeltaItem[];
  nextLink?: string;
  deltaLink?: string;
}

/** Reads one groups/delta page: the first of a chain over `groupIds` (≤ 50) when `link` is undefined. */
export interface GroupsDeltaSource {
  /** Throws DeltaResetError when `link` is no longer valid. */
  groupsDeltaPage(link: string | undefined, groupIds: readonly string[], options?: DirectoryRequestOptions): Promise<GroupDeltaPage>;
}

/** Where each chain continues: the groups it covers (lower-cased, sorted) and its delta link. */
export interface GroupMembersCursor {
  chains: Array<{ groupIds: string[]; deltaLink: string }>;
}

export interface GroupMembersChange {
  groupId: string;
  /** `added` is the whole membership (first read or reset): members not in it are no longer members. */
  whole: boolean;
  /** The group was deleted: every member is gone. */
  deleted: boolean;
  added: string[];
  removed: string[];
}

export interface GroupMembersDelta {
  /** One entry per requested group that reported anything (every group on a whole read). */
  groups: Map<string, GroupMembersChange>;
  cursor: GroupMembersCursor;
  /** Reset codes of the chains that had to start over (empty when none did). */
  resets: string[];
}

export interface GroupMembersDeltaOptions extends DirectoryRequestOptions {
  /** Member types to report (default: users only; `any` for every type). */
  memberTypes?: readonly string[] | "any";
}

/** Lower-cased, de-duplicated, sorted ids: the form cursors compare on. */
export function normalizeGroupIds(groupIds: readonly string[]): string[] {
  return [...new Set(groupIds.map((id) => id.trim().toLowerCase()))].sort();
}

/** Splits group ids into chains of at most 50 (Graph's `$filter` limit on groups/delta). */
export function chainsOf(groupIds: readonly string[]): string[][] {
  const ids = normalizeGroupIds(groupIds);
  const chains: string[][] = [];
  for (let i = 0; i < ids.length; i += GROUPS_PER_DELTA_CHAIN) chains.push(ids.slice(i, i + GROUPS_PER_DELTA_CHAIN));
  return chains;
}

/**
 * Reads the membership changes of `groupIds` since `cursor` (undefined, or a cursor over other groups: whole
 * memberships). Every chain is followed to its delta link; the caller saves the returned cursor only once it has
 * applied the changes, so a run cut off reads them again.
 */
export async function readGroupMembersDelta(
  source: GroupsDeltaSource,
  groupIds: readonly string[],
  cursor: GroupMembersCursor | undefined,
  options: GroupMembersDeltaOptions = {},
): Promise<GroupMembersDelta> {
  const saved = new Map((cursor?.chains ?? []).map((c) => [c.groupIds.join(","), c.deltaLink]));
  const result: GroupMembersDelta = { groups: new Map(), cursor: { chains: [] }, resets: [] };
  for (const chain of chainsOf(groupIds)) {
    const link = saved.get(chain.join(","));
    const read = await readChain(source, chain, link, options);
    if (read.reset) result.resets.push(read.reset);
    for (const change of read.groups.values()) result.groups.set(change.groupId, change);
    result.cursor.chains.push({ groupIds: chain, deltaLink: read.deltaLink });
  }
  return result;
}

interface ChainRead {
  groups: Map<string, GroupMembersChange>;
  deltaLink: string;
  reset?: string;
}

/** One chain to its delta link; a reset restarts it once from its start (a whole read). */
async function readChain(source: GroupsDeltaSource, groupIds: string[], link: string | undefined, options: GroupMembersDeltaOptions): Promise<ChainRead> {
  try {
    return await followChain(source, groupIds, link, options);
  } catch (error) {
    if (!(error instanceof DeltaResetError) || link === undefined) throw error;
    return { ...(await followChain(source, groupIds, undefined, options)), reset: error.upstreamCode };
  }
}

async function followChain(source: GroupsDeltaSource, groupIds: string[], start: string | undefined, options: GroupMembersDeltaOptions): Promise<ChainRead> {
  const whole = start === undefined;
  const wanted = new Set(groupIds);
  const merged = new Map<string, { deleted: boolean; members: Map<string, boolean> }>();
  if (whole) for (const id of groupIds) merged.set(id, { deleted: false, members: new Map() });
  let link = start;
  let first = true;
  for (;;) {
    options.abortSignal?.throwIfAborted();
    const page = await source.groupsDeltaPage(first ? start : link, groupIds, { abortSignal: options.abortSignal });
    first = false;
    mergePage(merged, wanted, page, options.memberTypes ?? ["user"]);
    if (page.nextLink) {
      link = page.nextLink;
      continue;
    }
    if (!page.deltaLink) throw new Error("groups/delta ended a chain without a delta link");
    return { groups: changesOf(merged, whole), deltaLink: page.deltaLink };
  }
}

/** Folds a page into the chain's view: per group, each member's last state (true = member). */
function mergePage(merged: Map<string, { deleted: boolean; members: Map<string, boolean> }>, wanted: ReadonlySet<string>, page: GroupDeltaPage, types: readonly string[] | "any"): void {
  for (const item of page.groups) {
    const groupId = item.id.toLowerCase();
    if (!wanted.has(groupId)) continue; // Graph honours the filter; this only guards against a stray item
    let entry = merged.get(groupId);
    if (!entry) merged.set(groupId, (entry = { deleted: false, members: new Map() }));
    if (item.removed) {
      entry.deleted = true;
      entry.members.clear();
      continue;
    }
    entry.deleted = false;
    for (const member of item.members) {
      if (types !== "any" && member.type !== undefined && !types.includes(member.type)) continue;
      entry.members.set(member.id.toLowerCase(), !member.removed);
    }
  }
}

function changesOf(merged: Map<string, { deleted: boolean; members: Map<string, boolean> }>, whole: boolean): Map<string, GroupMembersChange> {
  const out = new Map<string, GroupMembersChange>();
  for (const [groupId, entry] of merged) {
    const added: string[] = [];
    const removed: string[] = [];
    for (const [id, member] of entry.members) (member ? added : removed).push(id);
    // A whole read lists members only: a removal seen in it just means "not a member", which `whole` says already.
    out.set(groupId, { groupId, whole, deleted: entry.deleted, added, removed: whole ? [] : removed });
  }
  return out;
}

/** The groups/delta `$filter` for a chain's group ids (`id eq '…' or …`); ids are GUIDs, checked by the caller. */
export function groupsDeltaFilter(groupIds: readonly string[]): string {
  return groupIds.map((id) => `id eq '${id.replace(/'/g, "''")}'`).join(" or ");
}

/** Parses one raw groups/delta page body (Graph JSON) into our terms. */
export function parseGroupsDeltaBody(body: { value?: unknown[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string }): GroupDeltaPage {
  const groups: GroupDeltaItem[] = [];
  for (const raw of body.value ?? []) {
    const item = raw as { id?: unknown; "@removed"?: unknown; "members@delta"?: unknown };
    if (typeof item.id !== "string") continue;
    const members: GroupDeltaMember[] = [];
    for (const m of Array.isArray(item["members@delta"]) ? item["members@delta"] : []) {
      const member = m as { id?: unknown; "@odata.type"?: unknown; "@removed"?: unknown };
      if (typeof member.id !== "string") continue;
      const type = typeof member["@odata.type"] === "string" ? member["@odata.type"].replace(/^#?microsoft\.graph\./, "") : undefined;
      members.push({ id: member.id, type, removed: member["@removed"] !== undefined });
    }
    groups.push({ id: item.id, removed: item["@removed"] !== undefined, members });
  }
  return { groups, nextLink: body["@odata.nextLink"], deltaLink: body["@odata.deltaLink"] };
}
