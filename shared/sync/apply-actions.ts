// Turns planned actions into Dataverse writes and the run report's entries. Writes go in one applyWrites
// call per page ($batch, bounded concurrency); each result updates the index and the counts.
import type { DataverseOrgPort, SystemUserWrite, ColumnValue } from "../dataverse/types.js";
import { applyToIndex, type ColumnChange, type UserAction } from "./plan.js";
import type { ChangeEntry, RunCounts, RunError } from "./run-report.js";
import type { UserIndex } from "./user-index.js";
import { isOnPremises, type OrgIdentity } from "./identity.js";

export interface AppliedPage {
  entries: ChangeEntry[];
  errors: RunError[];
}

const QUIET_SKIPS = new Set(["removed-no-record", "disabled-no-record", "out-of-scope-no-record"]);

export const columnsOf = (changes: readonly ColumnChange[]): Record<string, ColumnValue> =>
  Object.fromEntries(changes.map((c) => [c.column, c.to]));

export const describeColumns = (changes: readonly ColumnChange[]) => changes.map((c) => ({ column: c.column, old: c.from, new: c.to }));

function writeFor(action: UserAction, identity: OrgIdentity | undefined): SystemUserWrite | undefined {
  switch (action.kind) {
    case "create":
      // On-premises the platform fills activedirectoryguid from the domainname's AD account; nothing to send.
      if (identity !== undefined && isOnPremises(identity)) return { kind: "create", columns: { ...action.columns } };
      return { kind: "create", columns: { ...action.columns, azureactivedirectoryobjectid: action.objectId } };
    case "update":
      return { kind: "update", systemUserId: action.systemUserId, columns: columnsOf(action.changes) };
    case "enable":
      return { kind: "update", systemUserId: action.systemUserId, columns: { ...columnsOf(action.changes), isdisabled: false } };
    case "disable":
      return { kind: "update", systemUserId: action.systemUserId, columns: { isdisabled: true } };
    default:
      return undefined;
  }
}

export function entryFor(action: UserAction, outcome: ChangeEntry["outcome"]): ChangeEntry | undefined {
  const base = { objectId: action.objectId, systemUserId: "systemUserId" in action ? action.systemUserId : undefined, outcome };
  switch (action.kind) {
    case "create":
      return { ...base, action: "create", columns: Object.entries(action.columns).map(([column, value]) => ({ column, old: null, new: value })) };
    case "update":
    case "enable":
      return { ...base, action: action.kind, columns: describeColumns(action.changes) };
    case "disable":
      return { ...base, action: "disable", reason: action.reason };
    case "remap":
      return { ...base, action: "remap", columns: [{ column: "domainname", old: action.from, new: action.to }, ...describeColumns(action.changes)] };
    case "skip":
      return QUIET_SKIPS.has(action.reason) ? undefined : { ...base, action: "skip", reason: `${action.reason}: ${action.detail}` };
    case "unchanged":
      return undefined;
  }
}

const COUNTER: Partial<Record<UserAction["kind"], keyof RunCounts>> = { create: "created", update: "updated", enable: "enabled", disable: "disabled" };

/** Applies create/update/enable/disable actions (dry run: only plans them). */
export async function applyWriteActions(
  org: DataverseOrgPort,
  index: UserIndex,
  actions: readonly UserAction[],
  counts: RunCounts,
  options: { dryRun: boolean; abortSignal?: AbortSignal; now?: () => Date; identity?: OrgIdentity },
): Promise<AppliedPage> {
  const entries: ChangeEntry[] = [];
  const errors: RunError[] = [];
  const writes: Array<{ action: UserAction; write: SystemUserWrite }> = [];
  for (const action of actions) {
    const write = writeFor(action, options.identity);
    if (write) writes.push({ action, write });
  }
  if (options.dryRun) {
    for (const { action } of writes) {
      applyToIndex(index, action);
      counts[COUNTER[action.kind]!]++;
      entries.push(entryFor(action, "planned")!);
    }
    return { entries, errors };
  }
  const results = writes.length > 0 ? await org.applyWrites(writes.map((w) => w.write), { abortSignal: options.abortSignal }) : [];
  writes.forEach(({ action }, i) => {
    const result = results[i]!;
    if (result.ok) {
      applyToIndex(index, action, { ok: true, systemUserId: result.systemUserId });
      counts[COUNTER[action.kind]!]++;
      entries.push(entryFor(action, "applied")!);
    } else {
      counts.failed++;
      const error = { code: result.code, message: result.message ?? `HTTP ${result.status}` };
      entries.push({ ...entryFor(action, "failed")!, error });
      errors.push({ objectId: action.objectId, systemUserId: "systemUserId" in action ? action.systemUserId : undefined, ...error, at: (options.now?.() ?? new Date()).toISOString() });
    }
  });
  return { entries, errors };
}
