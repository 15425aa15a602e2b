// Creates held back while a remap has the user's record on its temporary account. In that window the record
// carries the temporary account's name and object id, so the user looks new to the planner; creating a record
// then gives the user two, and the remap's step 2 is refused (the new record holds the user), leaving the old
// one on the temporary account. Held creates fail with `remap_pending` and are carried forward: the next run
// finds the record on its new name.
import { entryFor } from "./apply-actions.js";
import type { UserAction } from "./plan.js";
import type { ChangeEntry, RunError } from "./run-report.js";
import { objectIdKey } from "./user-index.js";

export const REMAP_PENDING = "remap_pending";

export interface HeldCreates {
  writes: UserAction[];
  entries: ChangeEntry[];
  errors: RunError[];
}

/** Splits off the creates of users in `pendingTargets` (directory anchors of open remaps, any case). */
export function holdCreatesUnderRemap(writes: readonly UserAction[], pendingTargets: ReadonlySet<string>, at: Date): HeldCreates {
  const pending = new Set([...pendingTargets].map(objectIdKey));
  const isHeld = (a: UserAction) => a.kind === "create" && pending.has(objectIdKey(a.objectId));
  const held = writes.filter(isHeld);
  const error = {
    code: REMAP_PENDING,
    message: "a remap has this user's record on its temporary account; the user is retried on the next run",
  };
  return {
    writes: writes.filter((a) => !isHeld(a)),
    entries: held.map((a) => ({ ...entryFor(a, "failed")!, error })),
    errors: held.map((a) => ({ objectId: a.objectId, ...error, at: at.toISOString() })),
  };
}
