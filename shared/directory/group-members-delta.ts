// Membership changes of a set of groups through Graph's `groups/delta` with `$select=members`
// (learn.microsoft.com/graph/delta-query-groups): the first round lists every current direct member, later rounds
// the members added and removed since the saved delta link. Graph takes at most 50 group ids in one `$filter`, so
// larger sets are read as several chains; the cursor holds one delta link per chain, in order. An expired or reset
// cursor (410 Gone, syncStateNotFound, resyncRequired) starts the chains over: the answer says so (`reset`), and
// its changes then list every current member.
import { DeltaResetError, type DirectoryRequestOptions, type GroupMemberChange, type GroupMembersDeltaPage } from "./types.js";

export type { GroupMemberChange, GroupMembersDeltaPage } from "./types.js";
import { escapeODataString } from "../odata/literal.js";

/** Reads one page of a chain: the first page of a new chain for `groupIds`, or the page at `link`. */
export type GroupMembersDeltaPageReader = (start: { link: string } | { groupIds: readonly string[] }, options?: DirectoryRequestOptions) => Promise<GroupMembersDeltaPage>;

export interface GroupMembersDelta {
  changes: GroupMemberChange[];
  removedGroups: string[];
  /** Save this and pass it to the next read. */
  cursor: string[];
  /** The saved cursor could not be used (or was for other groups): `changes` lists every current member. */
  reset: boolean;
}

export const GROUP_IDS_PER_CHAIN = 50;

/** The first page's URL of a chain over `groupIds` (at most GROUP_IDS_PER_CHAIN). */
export function groupMembersDeltaUrl(graphRoot: string, groupIds: readonly string[]): string {
  const filter = groupIds.map((id) => `id eq ${escapeODataString(id)}`).join(" or ");
  return `${graphRoot}/groups/delta?$select=members&$filter=${encodeURIComponent(filter)}`;
}

/** A `groups/delta` response body in our terms. */
export function parseGroupMembersDeltaPage(body: unknown): GroupMembersDeltaPage {
  const page = (body ?? {}) as { value?: unknown; "@odata.nextLink"?: unknown; "@odata.deltaLink"?: unknown };
  const changes: GroupMemberChange[] = [];
  const removedGroups: string[] = [];
  for (const item of Array.isArray(page.value) ? page.value as Array<Record<string, unknown>> : []) {
    const groupId = String(item.id ?? "").toLowerCase();
    if (!groupId) continue;
    if (item["@removed"]) removedGroups.push(groupId);
    const members = Array.isArray(item["members@delta"]) ? item["members@delta"] as Array<Record<string, unknown>> : [];
    for (const member of members) {
      const type = member["@odata.type"];
      if (typeof member.id !== "string" || (type !== undefined && type !== "#microsoft.graph.user")) continue;
      changes.push({ groupId, memberId: member.id.toLowerCase(), removed: member["@removed"] !== undefined });
    }
  }
  const link = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return { changes, removedGroups, nextLink: link(page["@odata.nextLink"]), deltaLink: link(page["@odata.deltaLink"]) };
}

/**
 * Follows every chain from the saved cursor to its delta link; without a usable cursor (none, or one that does not
 * fit the chains) from the start. Keep the cursor with `groupSetKey(groupIds)` and pass it only for the same groups.
 */
export async function readGroupMembersDelta(
  readPage: GroupMembersDeltaPageReader,
  groupIds: readonly string[],
  cursor: readonly string[] | undefined,
  options: DirectoryRequestOptions = {},
): Promise<GroupMembersDelta> {
  const chains = chunk([...new Set(groupIds.map((id) => id.toLowerCase()))].sort(), GROUP_IDS_PER_CHAIN);
  const usable = cursor !== undefined && cursor.length === chains.length;
  try {
    return await readChains(readPage, chains, usable ? cursor : undefined, options);
  } catch (error) {
    if (!(error instanceof DeltaResetError) || !usable) throw error;
    return readChains(readPage, chains, undefined, options);
  }
}

async function readChains(readPage: GroupMembersDeltaPageReader, chains: string[][], cursor: readonly string[] | undefined, options: DirectoryRequestOptions): Promise<GroupMembersDelta> {
  const out: GroupMembersDelta = { changes: [], removedGroups: [], cursor: [], reset: cursor === undefined };
  for (const [i, groupIds] of chains.entries()) {
    let page = await readPage(cursor ? { link: cursor[i]! } : { groupIds }, options);
    for (;;) {
      out.changes.push(...page.changes);
      out.removedGroups.push(...page.removedGroups);
      if (!page.nextLink) break;
      page = await readPage({ link: page.nextLink }, options);
    }
    if (!page.deltaLink) throw new Error("Microsoft Graph ended a groups/delta round without a delta link");
    out.cursor.push(page.deltaLink);
  }
  return out;
}

/** A stable key of a group set: a saved cursor is used only for the same groups. */
export function groupSetKey(groupIds: readonly string[]): string {
  return [...new Set(groupIds.map((id) => id.toLowerCase()))].sort().join(",");
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
