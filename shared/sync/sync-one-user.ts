// Provision on demand (POST /api/users/{objectIdOrUpn}/sync): one directory user, every org, applied now.
// Same planning core as the scheduled sync; a single disable is applied at once (no threshold for one user).
import type { DataverseOrgPort } from "../dataverse/types.js";
import { isGuid } from "../dataverse/odata.js";
import type { DirectoryChange, DirectoryPort, DirectoryUser } from "../directory/types.js";
import { isUserKey } from "../directory/user-key.js";
import { AppError } from "../errors/app-error.js";
import { applyWriteActions, entryFor } from "./apply-actions.js";
import { applyRemap } from "./apply-remap.js";
import { graphSelect, mapUser } from "./mapping.js";
import { licensedBy, planChange } from "./plan.js";
import { applyAccessToUser, type MemberSource, type OrgAccessSettings } from "../access/run-access.js";
import type { AccessOrgPort } from "../access/dataverse-access.js";
import { previewUserAccess, type UserAccessPreview } from "../access/user-access.js";
import type { RemapPort } from "./remap-port.js";
import { holdCreatesUnderRemap } from "./remap-pending.js";
import { withAccess } from "../access/report-entries.js";
import type { ChangeEntry } from "./run-report.js";
import type { SyncSettings } from "./run-org-sync.js";
import { indexSelect, objectIdKey, UserIndex } from "./user-index.js";
import { anchorColumn, anchorOf, type OrgIdentity } from "./identity.js";

export interface OneUserResult {
  user: { id: string; userPrincipalName: string | null; found: boolean };
  /** Per org, what changed: the user's entry, carrying `access` when their access changed too. */
  orgs: Array<{ org: string; change: OneUserChange }>;
}

/** An org's access rules and port, and (online orgs) its licence SKUs (SYNC_LICENSE_SKUS). */
export interface OrgAccessScope {
  /** `members`: where the rule groups' members come from (default: each group read whole). */
  access?: { settings: OrgAccessSettings; port: AccessOrgPort; members?: MemberSource };
  licenseSkus?: readonly string[];
}

export interface OneUserDependencies {
  directory: DirectoryPort;
  /** `identity`: the org's rule when it differs from `settings.identity` (on-premises orgs). */
  orgs: Array<{ org: string; dataverse: DataverseOrgPort; identity?: OrgIdentity } & OrgAccessScope>;
  settings: SyncSettings;
  remap?: RemapPort;
  requestedBy: string;
}

export async function syncOneUser(idOrUpn: string, deps: OneUserDependencies, abortSignal?: AbortSignal): Promise<OneUserResult> {
  const { settings } = deps;
  const { user, change, objectId, inScope } = await directorySide(idOrUpn, deps, abortSignal);

  const results: OneUserResult["orgs"] = [];
  for (const target of deps.orgs) {
    const { org, dataverse, identity = settings.identity } = target;
    const { index } = await recordsOf(user, objectId, dataverse, settings, identity, abortSignal);
    const action = planChange(change, index, { map: settings.map, identity, inScope, licensed: licensedBy(target.licenseSkus) });
    const result = await applyOne(action, index, target, deps, abortSignal);
    const record = user ? index.byObjectId(anchorOf(user, identity) ?? objectId) : undefined;
    const access = target.access && record && !record.disabled && !record.systemUserId.startsWith("pending:")
      ? await applyAccessToUser(target.access.settings, { directory: deps.directory, access: target.access.port, members: target.access.members }, { systemUserId: record.systemUserId, objectId }, abortSignal)
      : undefined;
    results.push({ org, change: access ? withAccessOf(result, access) : result });
  }
  return { user: { id: user?.id ?? idOrUpn, userPrincipalName: user?.userPrincipalName ?? null, found: Boolean(user) }, orgs: results };
}

/** The user's entry carrying their access change; the access entry itself when nothing else changed. */
function withAccessOf(change: OneUserChange, access: ChangeEntry): ChangeEntry {
  return isNoChange(change) ? access : withAccess(change, access);
}

type OneUserChange = ChangeEntry | { action: "unchanged" | "none" };

const isNoChange = (change: OneUserChange): change is { action: "unchanged" | "none" } => change.action === "unchanged" || change.action === "none";

/**
 * Applies one planned action now (a remap through the remap procedure); what it changed, or why nothing. A create
 * waits while an open remap has the user's record on its temporary account, as in a run (remap-pending.ts).
 */
async function applyOne(action: ReturnType<typeof planChange>, index: UserIndex, target: OneUserDependencies["orgs"][number], deps: OneUserDependencies, abortSignal?: AbortSignal): Promise<OneUserResult["orgs"][number]["change"]> {
  const { org, dataverse } = target;
  if (action.kind === "unchanged") return { action: "unchanged" };
  if (action.kind === "skip") return entryFor(action, "planned") ?? { action: "none" };
  if (action.kind === "remap") return (await applyRemap(action, { org, dataverse, remap: deps.remap, requestedBy: deps.requestedBy }, abortSignal)).entry;
  if (action.kind === "create" && deps.remap) {
    const held = holdCreatesUnderRemap([action], await deps.remap.pendingTargets(org, { abortSignal }), new Date());
    if (held.entries.length > 0) return held.entries[0]!;
  }
  const applied = await applyWriteActions(dataverse, index, [action], { dryRun: false, abortSignal });
  return applied.entries[0]!;
}

/**
 * The directory side of one user: the user (a GUID that is no longer in the directory stands for a deleted user),
 * the change it amounts to, its object id key and whether it is in scope.
 */
async function directorySide(idOrUpn: string, deps: Pick<OneUserDependencies, "directory" | "orgs" | "settings">, abortSignal?: AbortSignal) {
  if (!isUserKey(idOrUpn)) throw invalidUserKey(idOrUpn);
  const user = await deps.directory.getUser(idOrUpn, directorySelect(deps), { abortSignal });
  if (!user && !isGuid(idOrUpn)) throw new AppError(`No directory user "${idOrUpn}".`, 404, "user_not_found");
  const change: DirectoryChange = user ? { kind: "upsert", user } : { kind: "removed", id: idOrUpn, reason: "deleted" };
  const objectId = objectIdKey(user?.id ?? idOrUpn);
  return { user, change, objectId, inScope: await scopeOf(objectId, deps, abortSignal) };
}

const invalidUserKey = (key: string) =>
  new AppError(`"${key.slice(0, 80)}" is neither a directory object id (GUID) nor a user principal name.`, 400, "invalid_user_key");

/** The Graph attributes every org's rule needs. */
function directorySelect(deps: Pick<OneUserDependencies, "orgs" | "settings">): string[] {
  const { settings } = deps;
  const licences = deps.orgs.some((o) => (o.licenseSkus?.length ?? 0) > 0) ? ["assignedLicenses"] : [];
  return [...new Set([settings.identity, ...deps.orgs.map((o) => o.identity ?? settings.identity)].flatMap((i) => graphSelect(settings.map, i)).concat(licences))];
}

/** With SYNC_SCOPE_GROUP_IDS, whether the user is a direct member of one of the groups; undefined = all users in scope. */
async function scopeOf(objectId: string, deps: Pick<OneUserDependencies, "directory" | "settings">, abortSignal?: AbortSignal): Promise<((id: string) => boolean) | undefined> {
  if (deps.settings.scopeGroupIds.length === 0) return undefined;
  let member = false;
  for (const groupId of deps.settings.scopeGroupIds) {
    if ((await deps.directory.listGroupMemberIds(groupId, { abortSignal })).has(objectId)) { member = true; break; }
  }
  return () => member;
}

/** The user's Dataverse records in one org (by the org's anchor, then by the mapped logon name), indexed for planning. */
async function recordsOf(user: DirectoryUser | null | undefined, objectId: string, dataverse: DataverseOrgPort, settings: SyncSettings, identity: OrgIdentity, abortSignal?: AbortSignal) {
  const anchor = anchorColumn(identity);
  const index = new UserIndex(settings.map, anchor);
  const select = indexSelect(settings.map, anchor);
  const anchorId = user ? anchorOf(user, identity) : objectId;
  const rows = anchorId ? await dataverse.findSystemUsers(anchor, objectIdKey(anchorId), select, { abortSignal }) : [];
  const mapped = user ? mapUser(user, settings.map, identity) : undefined;
  const name = mapped?.ok ? mapped.columns.domainname : undefined;
  if (name) rows.push(...(await dataverse.findSystemUsers("domainname", name, select, { abortSignal })).filter((r) => !rows.some((o) => o.systemuserid === r.systemuserid)));
  index.addPage(rows);
  return { index, rows, mapped };
}

export interface UserLookup {
  user: { id: string; userPrincipalName: string | null; found: boolean; columns: Record<string, string | null> | null };
  orgs: Array<{ org: string; records: Array<Record<string, unknown>>; planned: ChangeEntry | { action: "unchanged" | "none" }; access?: UserAccessPreview }>;
}

/** GET /api/users/{objectIdOrUpn}: the directory user as mapped, each org's records, and what a sync would do. Writes nothing. */
export async function lookUpUser(idOrUpn: string, deps: Omit<OneUserDependencies, "remap" | "requestedBy">, abortSignal?: AbortSignal): Promise<UserLookup> {
  const { settings } = deps;
  const { user, change, objectId, inScope } = await directorySide(idOrUpn, deps, abortSignal);
  const orgs: UserLookup["orgs"] = [];
  let columns: Record<string, string | null> | null = null;
  for (const target of deps.orgs) {
    const { org, dataverse, identity = settings.identity } = target;
    const { index, rows, mapped } = await recordsOf(user, objectId, dataverse, settings, identity, abortSignal);
    if (mapped?.ok) columns ??= mapped.columns;
    const action = planChange(change, index, { map: settings.map, identity, inScope, licensed: licensedBy(target.licenseSkus) });
    const planned = action.kind === "unchanged" ? { action: "unchanged" as const } : entryFor(action, "planned") ?? { action: "none" as const };
    const record = user ? index.byObjectId(anchorOf(user, identity) ?? objectId) : undefined;
    const access = target.access?.settings.rules.length && record && !record.systemUserId.startsWith("pending:")
      ? await previewUserAccess(target.access.settings, { directory: deps.directory, access: target.access.port, members: target.access.members }, { systemUserId: record.systemUserId, objectId }, abortSignal)
      : undefined;
    orgs.push({ org, records: rows.map((r) => ({ ...r })), planned, ...(access ? { access } : {}) });
  }
  return { user: { id: user?.id ?? idOrUpn, userPrincipalName: user?.userPrincipalName ?? null, found: Boolean(user), columns }, orgs };
}
