// Turns planned actions into Dataverse writes and the run report's entries. Writes go in one applyWrites
// call per page ($batch, bounded concurrency); each result updates the index and gives an entry (the run's
// tally counts the entries it records).
import type { DataverseOrgPort, SystemUserWrite, ColumnValue } from "../dataverse/types.js";
import { applyToIndex, sameValue, type ColumnChange, type UserAction } from "./plan.js";
import type { ChangeEntry, RunError } from "./run-report.js";
import type { UserIndex } from "./user-index.js";

export interface AppliedPage {
  entries: ChangeEntry[];
  errors: RunError[];
}

const QUIET_SKIPS = new Set(["removed-no-record", "disabled-no-record", "out-of-scope-no-record"]);

export const columnsOf = (changes: readonly ColumnChange[]): Record<string, ColumnValue> =>
  Object.fromEntries(changes.map((c) => [c.column, c.to]));

/**
 * The columns still to write once a remap has moved the record to its new domainname. The platform refreshes
 * names and mail from the directory when a domainname changes, so the values planned from the record as it was
 * are checked against the record as it now is: PATCHing what the platform already set is a wasted write.
 */
export async function columnsLeftAfterRemap(
  dataverse: Pick<DataverseOrgPort, "getSystemUser">,
  action: Extract<UserAction, { kind: "remap" }>,
  abortSignal?: AbortSignal,
): Promise<Record<string, ColumnValue>> {
  const wanted: Record<string, ColumnValue> = { ...columnsOf(action.changes), ...(action.enable ? { isdisabled: false } : {}) };
  const columns = Object.keys(wanted);
  if (columns.length === 0) return wanted;
  const current = await dataverse.getSystemUser(action.systemUserId, columns, { abortSignal });
  if (!current) return wanted;
  return Object.fromEntries(Object.entries(wanted).filter(([column, value]) => !sameColumn(column, current[column], value)));
}

function sameColumn(column: string, current: ColumnValue | undefined, wanted: ColumnValue): boolean {
  if (typeof wanted === "string" || wanted === null) return (typeof current === "string" || current == null) && sameValue(column, current, wanted);
  return current === wanted;
}

export const describeColumns = (changes: readonly ColumnChange[]) => changes.map((c) => ({ column: c.column, old: c.from, new: c.to }));

function writeFor(action: UserAction): SystemUserWrite | undefined {
  switch (action.kind) {
    case "create":
      // No azureactivedirectoryobjectid (nor activedirectoryguid on-premises): read-only, the platform fills it by
      // resolving domainname against the directory, and a value sent for it is ignored.
      return { kind: "create", columns: { ...action.columns } };
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
  const base = { objectId: action.objectId, systemUserId: "systemUserId" in action ? action.systemUserId : undefined, ...action.who, outcome };
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

/** Applies create/update/enable/disable actions (dry run: only plans them). */
export async function applyWriteActions(
  org: DataverseOrgPort,
  index: UserIndex,
  actions: readonly UserAction[],
  options: { dryRun: boolean; abortSignal?: AbortSignal; now?: () => Date },
): Promise<AppliedPage> {
  const entries: ChangeEntry[] = [];
  const errors: RunError[] = [];
  const writes: Array<{ action: UserAction; write: SystemUserWrite }> = [];
  for (const action of actions) {
    const write = writeFor(action);
    if (write) writes.push({ action, write });
  }
  if (options.dryRun) {
    for (const { action } of writes) {
      applyToIndex(index, action);
      entries.push(entryFor(action, "planned")!);
    }
    return { entries, errors };
  }
  const results = writes.length > 0 ? await org.applyWrites(writes.map((w) => w.write), { abortSignal: options.abortSignal }) : [];
  writes.forEach(({ action }, i) => {
    const result = results[i]!;
    if (result.ok) {
      applyToIndex(index, action, { ok: true, systemUserId: result.systemUserId });
      entries.push(entryFor(action, "applied")!);
    } else {
      const error = { code: result.code, message: result.message ?? `HTTP ${result.status}` };
      entries.push({ ...entryFor(action, "failed")!, error });
      errors.push({ objectId: action.objectId, systemUserId: "systemUserId" in action ? action.systemUserId : undefined, ...error, at: (options.now?.() ?? new Date()).toISOString() });
    }
  });
  return { entries, errors };
}
