// Plans what one directory change means for one org's systemusers. Pure: no I/O.
//
// Matching: by azureactivedirectoryobjectid first; else a record WITHOUT an object id whose domainname equals the
// user's mapped domainname (case-insensitively). A record holding the name but a different object id is never
// matched, and several records sharing the name are ambiguous: both plan `skip` with reason "conflict" and name the
// holder in `conflictingSystemUserId` (the operator resolves it; we never guess).
//
// Policy:
// - protected records (application users, accessmode 3/4/5) are never touched: skip "protected";
// - removed (soft-deleted "changed" / hard "deleted"), accountEnabled false, or out of scope → disable when the
//   record is enabled, else unchanged; no column updates for such users (like Entra provisioning);
// - enabled and in scope → create when unmatched, else update only differing columns, enable a disabled record, or
//   remap when the domainname changed (columns other than domainname ride along in `changes`);
// - accountEnabled not returned (partial change) never flips a record's state and never creates one.
import type { DirectoryChange, DirectoryUser } from "../directory/types.js";
import { anchorOf, belongsToOrg, type OrgIdentity } from "./identity.js";
import { DOMAIN_NAME_COLUMN, mapUser, type AttributeMap } from "./mapping.js";
import { isProtected, objectIdKey, type IndexedUser, type UserIndex } from "./user-index.js";

export interface ColumnChange {
  column: string;
  from: string | null;
  to: string | null;
}

export type DisableReason = "deleted" | "soft-deleted" | "account-disabled" | "out-of-scope" | "unlicensed";

export type SkipReason =
  | "protected"
  | "removed-no-record"
  | "disabled-no-record"
  | "out-of-scope-no-record"
  | "unmappable"
  | "conflict"
  | "account-state-unknown"
  | "unlicensed";

export type MatchedBy = "objectId" | "domainname";

interface Mapped {
  /** Mapping warnings (truncations); absent when none. */
  warnings?: readonly string[];
}

/**
 * Who an action is about, for the people reading the report (taken at plan time from the directory user and the
 * record, never looked up per row): the directory's display name and the logon (UPN, or DOMAIN\sam on premises).
 */
export interface Person {
  displayName?: string;
  logon?: string;
}

/** Longest name or logon kept on an action: the report's entries stay small. */
export const PERSON_TEXT_CAP = 256;

export type UserAction = ({ who?: Person }) & (
  | ({ kind: "create"; objectId: string; columns: Record<string, string> } & Mapped)
  | ({ kind: "update"; systemUserId: string; objectId: string; matchedBy: MatchedBy; changes: ColumnChange[] } & Mapped)
  | ({ kind: "enable"; systemUserId: string; objectId: string; matchedBy: MatchedBy; changes: ColumnChange[] } & Mapped)
  | { kind: "disable"; systemUserId: string; objectId: string; matchedBy: MatchedBy; reason: DisableReason }
  | ({
      kind: "remap";
      systemUserId: string;
      objectId: string;
      from: string | null;
      to: string;
      /** Other columns to update once remapped. */
      changes: ColumnChange[];
      /** The record is disabled and the user is enabled again: enable it too. */
      enable: boolean;
    } & Mapped)
  | ({ kind: "unchanged"; systemUserId: string; objectId: string; matchedBy: MatchedBy } & Mapped)
  | {
      kind: "skip";
      objectId: string;
      systemUserId?: string;
      reason: SkipReason;
      detail: string;
      /** For "conflict": the record holding the user's domainname. */
      conflictingSystemUserId?: string;
    });

export type UserActionKind = UserAction["kind"];

export interface PlanOptions {
  map: AttributeMap;
  /** The org's naming and anchoring rule (identity.ts). */
  identity: OrgIdentity;
  /** Scoping; absent, or answering undefined, means the user is in scope. */
  inScope?: (userId: string) => boolean | undefined;
  /** SYNC_LICENSE_SKUS (online orgs): whether the user holds a listed SKU; absent or undefined means licensed. */
  licensed?: (user: DirectoryUser) => boolean | undefined;
}

type Match =
  | { kind: "matched"; user: IndexedUser; by: MatchedBy }
  | { kind: "none" }
  | { kind: "conflict"; holder: IndexedUser; detail: string };

const NONE: Match = { kind: "none" };

/** `anchorKnown` false: the user's directory object id in this org is unknown (an on-premises user without a GUID anchor). */
function matchRecord(index: UserIndex, objectId: string, domainName: string | null | undefined, anchorKnown = true): Match {
  const byId = index.byObjectId(objectId);
  if (byId) return { kind: "matched", user: byId, by: "objectId" };
  if (!domainName) return NONE;
  const holders = index.holdersOf(domainName);
  if (holders.length === 0) return NONE;
  const holder = holders[0]!;
  if (holders.length > 1) {
    return { kind: "conflict", holder, detail: `${holders.length} records hold domainname "${domainName}"` };
  }
  if (holder.objectId !== null && anchorKnown) {
    return { kind: "conflict", holder, detail: `domainname "${domainName}" is held by record ${holder.systemUserId} of another directory object (${holder.objectId})` };
  }
  return { kind: "matched", user: holder, by: "domainname" };
}

/** Trimmed, with null and "" equal. */
function norm(value: string | null | undefined): string {
  return value == null ? "" : value.trim();
}

export function sameValue(column: string, a: string | null | undefined, b: string | null | undefined): boolean {
  const x = norm(a);
  const y = norm(b);
  if (x === y) return true;
  return column === DOMAIN_NAME_COLUMN && x.toLowerCase() === y.toLowerCase();
}

/** Column changes (domainname excluded: it moves only through a remap); null when nothing differs. */
function diffColumns(index: UserIndex, record: IndexedUser, columns: Record<string, string | null>, map: AttributeMap): ColumnChange[] | null {
  let changes: ColumnChange[] | null = null;
  for (const entry of map.entries) {
    const to = columns[entry.column];
    if (to === undefined) continue; // not returned: unknown, leave it
    const from = index.value(record, entry.column);
    if (from === undefined) continue; // not indexed (map differs from the index's): cannot compare
    if (!sameValue(entry.column, from, to)) (changes ??= []).push({ column: entry.column, from, to });
  }
  return changes;
}

function skip(objectId: string, reason: SkipReason, detail: string, systemUserId?: string, conflicting?: string): UserAction {
  const action: UserAction = { kind: "skip", objectId, reason, detail };
  if (systemUserId !== undefined) action.systemUserId = systemUserId;
  if (conflicting !== undefined) action.conflictingSystemUserId = conflicting;
  return action;
}

function protectedSkip(objectId: string, record: IndexedUser): UserAction {
  const what = record.applicationId !== null ? "an application user" : `accessmode ${record.accessMode}`;
  return skip(objectId, "protected", `record ${record.systemUserId} is ${what}; never touched`, record.systemUserId);
}

function withWarnings<T extends UserAction & Mapped>(action: T, warnings: readonly string[]): T {
  if (warnings.length > 0) action.warnings = warnings;
  return action;
}

function planRemoved(change: { id: string; reason: "changed" | "deleted" }, index: UserIndex): UserAction {
  const record = index.byObjectId(change.id);
  if (!record) return skip(change.id, "removed-no-record", `removed from the directory (${change.reason}); no record`);
  if (isProtected(record)) return protectedSkip(change.id, record);
  if (record.disabled) return { kind: "unchanged", systemUserId: record.systemUserId, objectId: change.id, matchedBy: "objectId" };
  return { kind: "disable", systemUserId: record.systemUserId, objectId: change.id, matchedBy: "objectId", reason: change.reason === "changed" ? "soft-deleted" : "deleted" };
}

/**
 * A user holding none of SYNC_LICENSE_SKUS is out of scope: no record is created (a skip the report names), an
 * enabled record is disabled, a disabled one stays so.
 */
function planUnlicensed(objectId: string, record: IndexedUser | undefined, by: MatchedBy): UserAction {
  if (!record) return skip(objectId, "unlicensed", "holds none of the SYNC_LICENSE_SKUS licences; no record created");
  if (record.disabled) return { kind: "unchanged", systemUserId: record.systemUserId, objectId, matchedBy: by };
  return { kind: "disable", systemUserId: record.systemUserId, objectId, matchedBy: by, reason: "unlicensed" };
}

function planUpsert(user: DirectoryUser, index: UserIndex, options: PlanOptions): UserAction {
  const anchor = anchorOf(user, options.identity);
  const objectId = anchor ?? user.id;
  const mapped = mapUser(user, options.map, options.identity);
  const domainName = mapped.ok ? mapped.columns[DOMAIN_NAME_COLUMN] : undefined;
  const match = matchRecord(index, objectId, domainName, anchor !== null);
  if (match.kind === "conflict") return skip(objectId, "conflict", match.detail, undefined, match.holder.systemUserId);
  const record = match.kind === "matched" ? match.user : undefined;
  const by: MatchedBy = match.kind === "matched" ? match.by : "objectId";
  if (record && isProtected(record)) return protectedSkip(objectId, record);

  const enabled = user.accountEnabled; // true, false, or not returned / null = unknown
  // Scope groups list Entra ids; an on-premises org holds only users synced from AD.
  const inScope = options.inScope?.(user.id) !== false && belongsToOrg(user, options.identity) !== false;
  if (enabled !== false && inScope && options.licensed?.(user) === false) return planUnlicensed(objectId, record, by);
  if (enabled === false || !inScope) {
    const reason: DisableReason = enabled === false ? "account-disabled" : "out-of-scope";
    if (!record) {
      return enabled === false
        ? skip(objectId, "disabled-no-record", "account disabled in the directory; no record (never created disabled)")
        : skip(objectId, "out-of-scope-no-record", "not in the sync scope; no record");
    }
    if (record.disabled) return { kind: "unchanged", systemUserId: record.systemUserId, objectId, matchedBy: by };
    return { kind: "disable", systemUserId: record.systemUserId, objectId, matchedBy: by, reason };
  }

  if (!mapped.ok) return skip(objectId, "unmappable", mapped.reason, record?.systemUserId);
  const warnings = mapped.warnings;
  if (!record) {
    if (enabled !== true) return skip(objectId, "account-state-unknown", "accountEnabled was not returned; not created");
    if (domainName == null) return skip(objectId, "unmappable", `user ${objectId}: domainname source not returned; cannot create`);
    const columns: Record<string, string> = { [DOMAIN_NAME_COLUMN]: domainName };
    for (const entry of options.map.entries) {
      const value = mapped.columns[entry.column];
      if (value != null) columns[entry.column] = value;
    }
    return withWarnings({ kind: "create", objectId, columns }, warnings);
  }

  // A disabled record whose user's state was not returned stays exactly as it is.
  if (record.disabled && enabled !== true) return withWarnings({ kind: "unchanged", systemUserId: record.systemUserId, objectId, matchedBy: by }, warnings);
  const changes = diffColumns(index, record, mapped.columns, options.map);
  const enable = record.disabled;
  if (domainName != null && !sameValue(DOMAIN_NAME_COLUMN, record.domainName, domainName)) {
    const other = index.holdersOf(domainName).find((h) => h !== record);
    if (other) {
      return skip(objectId, "conflict", `cannot remap record ${record.systemUserId} to "${domainName}": record ${other.systemUserId} holds it`, record.systemUserId, other.systemUserId);
    }
    return withWarnings({ kind: "remap", systemUserId: record.systemUserId, objectId, from: record.domainName, to: domainName, changes: changes ?? [], enable }, warnings);
  }
  if (enable) return withWarnings({ kind: "enable", systemUserId: record.systemUserId, objectId, matchedBy: by, changes: changes ?? [] }, warnings);
  if (changes) return withWarnings({ kind: "update", systemUserId: record.systemUserId, objectId, matchedBy: by, changes }, warnings);
  return withWarnings({ kind: "unchanged", systemUserId: record.systemUserId, objectId, matchedBy: by }, warnings);
}

/** SYNC_LICENSE_SKUS as a check: whether a user holds one of the SKUs (undefined when Graph did not say). */
export function licensedBy(skus: readonly string[] | undefined): ((user: DirectoryUser) => boolean | undefined) | undefined {
  if (!skus || skus.length === 0) return undefined;
  const wanted = new Set(skus.map((s) => s.toLowerCase()));
  return (user) => {
    const licenses = user.assignedLicenses;
    if (!Array.isArray(licenses)) return undefined;
    return licenses.some((l: { skuId?: unknown }) => typeof l?.skuId === "string" && wanted.has(l.skuId.toLowerCase()));
  };
}

const personText = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() ? value.trim().slice(0, PERSON_TEXT_CAP) : undefined;

function recordName(index: UserIndex, record: IndexedUser): string | undefined {
  const full = personText(index.value(record, "fullname"));
  if (full) return full;
  const parts = [index.value(record, "firstname"), index.value(record, "lastname")].map(personText).filter(Boolean);
  return parts.length ? parts.join(" ") : undefined;
}

/** Sets `who` on the action from the directory user (when there is one) and the record it is about. */
function described<T extends UserAction>(action: T, index: UserIndex, user?: DirectoryUser): T {
  const record = "systemUserId" in action && action.systemUserId ? index.get(action.systemUserId) : undefined;
  const displayName = personText(user?.displayName) ?? (record ? recordName(index, record) : undefined);
  const logon = action.kind === "create" ? personText(action.columns[DOMAIN_NAME_COLUMN])
    : action.kind === "remap" ? personText(action.to)
    : personText(record?.domainName) ?? personText(user?.userPrincipalName);
  if (displayName || logon) action.who = { ...(displayName ? { displayName } : {}), ...(logon ? { logon } : {}) };
  return action;
}

/** What one directory change means for the org. Call `applyToIndex` after applying it, so later changes see it. */
export function planChange(change: DirectoryChange, index: UserIndex, options: PlanOptions): UserAction {
  return change.kind === "removed" ? described(planRemoved(change, index), index) : described(planUpsert(change.user, index, options), index, change.user);
}

/**
 * After a FULL round: enabled, non-protected records with an object id the round did not return are gone from
 * the directory → disable ("deleted"). `seenObjectIds` holds the ids of every change of the round (any case).
 * Records without an object id are not the directory's to judge and are left alone.
 */
export function planOrphans(index: UserIndex, seenObjectIds: ReadonlySet<string>, _options?: PlanOptions): UserAction[] {
  const seen = new Set<string>();
  for (const id of seenObjectIds) seen.add(objectIdKey(id));
  const actions: UserAction[] = [];
  for (const record of index.records()) {
    if (record.objectId === null || record.disabled || isProtected(record) || seen.has(record.objectId)) continue;
    actions.push(described({ kind: "disable", systemUserId: record.systemUserId, objectId: record.objectId, matchedBy: "objectId", reason: "deleted" }, index));
  }
  return actions;
}

/**
 * After a scoped run: users removed from every scope group do not show in the users delta, so enabled,
 * non-protected records whose object id is not among the groups' members (`inScope`, as keys) → disable
 * ("out-of-scope").
 */
export function planOutOfScope(index: UserIndex, inScope: ReadonlySet<string>): UserAction[] {
  const actions: UserAction[] = [];
  for (const record of index.records()) {
    if (record.objectId === null || record.disabled || isProtected(record) || inScope.has(record.objectId)) continue;
    actions.push(described({ kind: "disable", systemUserId: record.systemUserId, objectId: record.objectId, matchedBy: "objectId", reason: "out-of-scope" }, index));
  }
  return actions;
}

export interface ApplyResult {
  /** false: the write failed, the index stays as it was. */
  ok?: boolean;
  /** For a create: the new systemuserid (a `pending:<objectId>` placeholder is used when absent, e.g. dry runs). */
  systemUserId?: string;
}

/** Brings the index in line with an applied (or, in a dry run, planned) action. */
export function applyToIndex(index: UserIndex, action: UserAction, result?: ApplyResult): void {
  if (result?.ok === false) return;
  switch (action.kind) {
    case "create": {
      index.insert({
        systemUserId: (result?.systemUserId ?? `pending:${objectIdKey(action.objectId)}`).toLowerCase(),
        objectId: objectIdKey(action.objectId),
        domainName: action.columns[DOMAIN_NAME_COLUMN] ?? null,
        disabled: false,
        accessMode: 0,
        applicationId: null,
        values: index.valuesOf(action.columns),
      });
      return;
    }
    case "update":
    case "enable":
    case "remap": {
      const record = index.get(action.systemUserId);
      if (!record) return;
      if (action.kind !== "remap") claim(index, record, action);
      for (const change of action.changes) index.setValue(record, change.column, change.to);
      if (action.kind === "remap") index.setDomainName(record, action.to);
      if (action.kind === "enable" || (action.kind === "remap" && action.enable)) record.disabled = false;
      return;
    }
    case "disable": {
      const record = index.get(action.systemUserId);
      if (!record) return;
      claim(index, record, action);
      record.disabled = true;
      return;
    }
    case "unchanged": {
      const record = index.get(action.systemUserId);
      if (record) claim(index, record, action);
      return;
    }
    case "skip":
      return;
  }
}

/**
 * A record matched by domainname belongs to that directory object for the rest of the run, so a second object
 * claiming the same name (a stale replay) meets a conflict instead of flipping the record back and forth.
 * Dataverse fills azureactivedirectoryobjectid itself (it is read-only); the next run's index re-reads it.
 */
function claim(index: UserIndex, record: IndexedUser, action: { matchedBy: MatchedBy; objectId: string }): void {
  if (action.matchedBy === "domainname" && record.objectId === null) index.linkObjectId(record, action.objectId);
}

/** True for actions that write to Dataverse. */
export function isWrite(action: UserAction): boolean {
  return action.kind !== "unchanged" && action.kind !== "skip";
}
