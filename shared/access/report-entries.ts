// A user's access goes on their own change entry. Access is planned at the round's end, after the user's own
// entry (create, update, enable, remap) was recorded with its page, so the access step records an entry of action
// "access" and the report folds it into the same user's entry when it is read; an access entry with no entry of
// the user before it stays on its own (the user's only change is access). Pure.
import type { ChangeEntry } from "../sync/run-report.js";

/** The action of an access-only entry (the user had no other change in the run). */
export const ACCESS_ACTION = "access";

/** The user an entry is about: the directory object id (the org's anchor), else the record. */
export function entryUserKey(entry: Pick<ChangeEntry, "objectId" | "systemUserId">): string | undefined {
  if (entry.objectId) return `o:${entry.objectId.trim().toLowerCase()}`;
  return entry.systemUserId ? `s:${entry.systemUserId.trim().toLowerCase()}` : undefined;
}

/**
 * The user's entry carrying the access change. The entry's own outcome stays; the access write's outcome and
 * error are given beside it when they differ (a user created now whose access waits for approval).
 */
export function withAccess(own: ChangeEntry, access: ChangeEntry): ChangeEntry {
  return {
    ...own,
    access: access.access,
    ...(access.outcome !== own.outcome && access.outcome !== undefined ? { accessOutcome: access.outcome } : {}),
    ...(access.error ? { accessError: access.error } : {}),
  };
}

/** Folds each access entry into the latest entry of the same user before it that carries no access yet. */
export function foldAccessEntries(changes: readonly ChangeEntry[]): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  const open = new Map<string, number>();
  for (const change of changes) {
    const key = entryUserKey(change);
    const at = change.action === ACCESS_ACTION && key !== undefined ? open.get(key) : undefined;
    if (at !== undefined) {
      out[at] = withAccess(out[at]!, change);
      open.delete(key!);
      continue;
    }
    out.push(change);
    if (key !== undefined && change.action !== ACCESS_ACTION && change.access === undefined) open.set(key, out.length - 1);
  }
  return out;
}

/**
 * True when an access entry rides on the user's own entry listed earlier in the run (`listed`: users whose own
 * entry a non-dry run listed, at most the cap's worth): it is kept beyond the change-list cap, since it joins
 * that entry when read rather than adding one, and is taken off `listed` so that it rides once.
 */
export function accessRidesOn(change: ChangeEntry, listed: Set<string>): boolean {
  const key = change.action === ACCESS_ACTION ? entryUserKey(change) : undefined;
  return key !== undefined && listed.delete(key);
}
