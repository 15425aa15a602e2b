// How one org names and recognizes its users. Pure. One rule per org kind:
// - online: `domainname` per SYNC_IDENTITY (`upn`, or `sam` for IFD orgs on Entra), record anchored by
//   `azureactivedirectoryobjectid` = the Entra object id;
// - on-premises: only users synced from AD, `domainname` = `NETBIOS\sAMAccountName` (NetBIOS from the org's
//   netbiosDomains, else the DNS name's first label), record anchored by `activedirectoryguid` = the AD
//   objectGUID recovered from onPremisesImmutableId. For such an org the "object id" of a directory user (in
//   plans, reports and the run's seen set) is that AD GUID.
import type { OrgDescriptor } from "../config/dataverse-orgs.js";
import { normalizeOrgUrl } from "../config/org-url.js";
import { guidFromImmutableId } from "../directory/immutable-id.js";
import type { DirectoryChange, DirectoryUser } from "../directory/types.js";
import type { SyncIdentity } from "./domain.js";

export interface OnPremisesIdentity {
  kind: "onpremises";
  /** AD DNS domain (lower-case) → NetBIOS name. */
  netbiosDomains: Readonly<Record<string, string>>;
}

/** A SYNC_IDENTITY form for an online org, or the on-premises rule. */
export type OrgIdentity = SyncIdentity | OnPremisesIdentity;

export const ONLINE_ANCHOR = "azureactivedirectoryobjectid";
export const ON_PREMISES_ANCHOR = "activedirectoryguid";
export type AnchorColumn = typeof ONLINE_ANCHOR | typeof ON_PREMISES_ANCHOR;

export function isOnPremises(identity: OrgIdentity): identity is OnPremisesIdentity {
  return typeof identity === "object";
}

/** The form `domainname` takes. */
export function nameFormOf(identity: OrgIdentity): SyncIdentity {
  return isOnPremises(identity) ? "sam" : identity;
}

/** The systemuser column that ties a record to its directory object. */
export function anchorColumn(identity: OrgIdentity): AnchorColumn {
  return isOnPremises(identity) ? ON_PREMISES_ANCHOR : ONLINE_ANCHOR;
}

/** The identity rule of one configured org. */
export function identityOf(org: OrgDescriptor | undefined, onlineForm: SyncIdentity): OrgIdentity {
  return org?.kind === "onpremises" ? { kind: "onpremises", netbiosDomains: org.netbiosDomains } : onlineForm;
}

/** The identity rule of an org by URL, from the configuration. */
export function orgIdentity(config: { orgs: readonly OrgDescriptor[]; sync: { identity: SyncIdentity } }, orgUrl: string): OrgIdentity {
  const key = normalizeOrgUrl(orgUrl);
  return identityOf(config.orgs.find((o) => o.url === key), config.sync.identity);
}

/** NetBIOS name of an AD DNS domain: the org's map first, else the first label upper-cased (Graph has no NetBIOS name). */
export function netbiosOf(identity: OrgIdentity, domainFqdn: string): string {
  const mapped = isOnPremises(identity) ? identity.netbiosDomains[domainFqdn.trim().toLowerCase()] : undefined;
  return mapped ?? (domainFqdn.trim().split(".")[0] ?? domainFqdn).toUpperCase();
}

/** The directory object id a record of this org is anchored to: the Entra id online, the AD GUID on-premises. */
export function anchorOf(user: DirectoryUser, identity: OrgIdentity): string | null {
  if (!isOnPremises(identity)) return user.id;
  return guidFromImmutableId(typeof user.onPremisesImmutableId === "string" ? user.onPremisesImmutableId : null);
}

/** The key a change is known by in this org (plans, seen sets); the Entra id when the anchor is unknown. */
export function changeKey(change: DirectoryChange, identity: OrgIdentity): string {
  if (change.kind === "removed") return change.id.toLowerCase();
  return (anchorOf(change.user, identity) ?? change.user.id).toLowerCase();
}

/**
 * Whether the user can have a record in this org at all: on-premises orgs only hold AD accounts (synced by
 * Entra Connect). `undefined` when the attribute was not returned (a partial change): decided elsewhere.
 */
export function belongsToOrg(user: DirectoryUser, identity: OrgIdentity): boolean | undefined {
  if (!isOnPremises(identity)) return true;
  const synced = user.onPremisesSyncEnabled;
  if (synced === undefined) return undefined;
  return synced === true;
}

/**
 * The directory object a systemuser is linked to, whatever the org's kind: the platform fills
 * azureactivedirectoryobjectid online and activedirectoryguid on-premises (the other stays empty).
 */
export function recordAnchor(row: { azureactivedirectoryobjectid?: unknown; activedirectoryguid?: unknown }): string | null {
  const value = row.azureactivedirectoryobjectid || row.activedirectoryguid;
  return typeof value === "string" && value !== "" ? value.toLowerCase() : null;
}

/** Graph attributes an org's rule reads besides the attribute map. */
export function identityAttributes(identity: OrgIdentity): string[] {
  if (isOnPremises(identity)) return ["onPremisesSyncEnabled", "onPremisesSamAccountName", "onPremisesDomainName", "onPremisesImmutableId"];
  return identity === "sam" ? ["onPremisesSamAccountName", "onPremisesDomainName"] : [];
}
