// Scoped runs: joining a scope group does not show in users/delta, so after the delta round the run fetches the
// group members it must act on itself (contract §3, "re-enabled when it comes back").
import type { DirectoryChange, DirectoryPort } from "../directory/types.js";
import { isProtected, type UserIndex } from "./user-index.js";

/**
 * Members to fetch: every member without a record, and members with a disabled record that were not members at the
 * last scoped run (`previous`; undefined = no such run, so all are new). Users disabled in the directory stay
 * disabled, so remembering the members keeps their records from being fetched again on every run.
 * Members the round itself returned (`seen`) were already planned with the current scope.
 */
export function scopeCatchUpIds(index: UserIndex, members: ReadonlySet<string>, previous: ReadonlySet<string> | undefined, seen: ReadonlySet<string>): string[] {
  const ids: string[] = [];
  for (const id of members) {
    if (seen.has(id)) continue;
    const record = index.byObjectId(id);
    if (!record) ids.push(id);
    else if (record.disabled && !isProtected(record) && !previous?.has(id)) ids.push(id);
  }
  return ids;
}

/** Fetches users by object id, `concurrency` at a time, as upsert changes; users not found are left out. */
export async function fetchUsersAsChanges(
  directory: DirectoryPort,
  ids: readonly string[],
  select: readonly string[],
  options: { concurrency?: number; abortSignal?: AbortSignal } = {},
): Promise<DirectoryChange[]> {
  const found: (DirectoryChange | undefined)[] = new Array(ids.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < ids.length) {
      const i = next++;
      options.abortSignal?.throwIfAborted();
      try {
        const user = await directory.getUser(ids[i]!, select, { abortSignal: options.abortSignal });
        if (user) found[i] = { kind: "upsert", user };
      } catch (error) {
        failed = true; // the other workers stop taking ids
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, ids.length) }, worker));
  return found.filter((c): c is DirectoryChange => c !== undefined);
}
