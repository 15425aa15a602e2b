// Graph user → Dataverse systemuser column mapping. Pure: no I/O.
//
// The map itself (SYNC_ATTRIBUTE_MAP, its format and parser) lives in attribute-map.ts.
//
// Value semantics: an attribute ABSENT from the Graph object (not returned) leaves the column unknown, so it is
// left out of `columns` and never written; an attribute returned as null/empty/blank maps to null (clear it).
import type { DirectoryUser } from "../directory/types.js";
import { COLUMN_MAX_LENGTH, DOMAIN_NAME_COLUMN, type AttributeMap, type SourceRef } from "./attribute-map.js";
import { identityAttributes, isOnPremises, nameFormOf, netbiosOf, type OrgIdentity } from "./identity.js";

export {
  AttributeMapError,
  COLUMN_MAX_LENGTH,
  DEFAULT_ATTRIBUTE_MAP,
  DOMAIN_NAME_COLUMN,
  parseAttributeMap,
  type AttributeMap,
  type AttributeMapping,
  type SourceRef,
} from "./attribute-map.js";

/** The Graph `$select` for the map and identity: id, accountEnabled, userPrincipalName, displayName (for the report), every mapped source. */
export function graphSelect(map: AttributeMap, identity: OrgIdentity): string[] {
  const select = new Set(["id", "accountEnabled", "userPrincipalName", "displayName", ...identityAttributes(identity)]);
  for (const entry of map.entries) for (const source of entry.sources) select.add(source.top);
  return [...select];
}

/** Graph value → trimmed string, null for empty/blank/non-scalar, undefined when the attribute was not returned. */
function coerce(value: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    const trimmed = value.trim();
    return trimmed === "" ? null : trimmed;
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    // Multi-valued attributes (businessPhones, otherMails): the first non-empty entry.
    for (const item of value) {
      const v = typeof item === "string" ? item.trim() : "";
      if (v !== "") return v;
    }
  }
  return null;
}

function readSource(user: DirectoryUser, source: SourceRef): string | null | undefined {
  const top = user[source.top];
  if (source.sub === undefined) return coerce(top);
  if (top === undefined) return undefined;
  if (top === null || typeof top !== "object") return null;
  // A complex attribute is returned whole, so a missing property inside it is empty, not unknown.
  return coerce((top as Record<string, unknown>)[source.sub]) ?? null;
}

/** Cuts to `max` UTF-16 units (Dataverse's length), never splitting a surrogate pair. */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return value.slice(0, end).trimEnd();
}

export type MappedUser =
  | {
      ok: true;
      /** Column → value; null = clear it; a column left out is unknown (its source was not returned). */
      columns: Record<string, string | null>;
      warnings: readonly string[];
    }
  | { ok: false; reason: string; warnings: readonly string[] };

const NO_WARNINGS: readonly string[] = Object.freeze([]);

/** The domain name per identity: a string, undefined (sources not returned) or a reason it cannot be built. */
function mapDomainName(user: DirectoryUser, identity: OrgIdentity): { value?: string; problem?: string } {
  if (nameFormOf(identity) === "upn") {
    const upn = coerce(user.userPrincipalName);
    if (upn === null) return { problem: "has no userPrincipalName" };
    return upn === undefined ? {} : { value: upn };
  }
  const sam = coerce(user.onPremisesSamAccountName);
  const domain = coerce(user.onPremisesDomainName);
  const why = isOnPremises(identity) ? "the org is on-premises" : "SYNC_IDENTITY is sam";
  if (sam === null) return { problem: `has no onPremisesSamAccountName (${why})` };
  if (domain === null) return { problem: `has no onPremisesDomainName (${why})` };
  if (sam === undefined || domain === undefined) return {};
  const netbios = netbiosOf(identity, domain);
  if (netbios === "") return { problem: `has an onPremisesDomainName without a first label ("${domain}")` };
  return { value: `${netbios}\\${sam}` };
}

/** Maps one directory user to systemuser columns (domainname included when known). */
export function mapUser(user: DirectoryUser, map: AttributeMap, identity: OrgIdentity): MappedUser {
  let warnings: string[] | undefined;
  const domain = mapDomainName(user, identity);
  if (domain.problem !== undefined) return { ok: false, reason: `user ${user.id} ${domain.problem}`, warnings: NO_WARNINGS };
  const columns: Record<string, string | null> = {};
  if (domain.value !== undefined) {
    // A truncated logon name would point at someone else: refuse instead.
    if (domain.value.length > COLUMN_MAX_LENGTH.domainname!) {
      return { ok: false, reason: `user ${user.id} has a domainname longer than ${COLUMN_MAX_LENGTH.domainname} characters`, warnings: NO_WARNINGS };
    }
    columns[DOMAIN_NAME_COLUMN] = domain.value;
  }
  for (const entry of map.entries) {
    let value: string | null | undefined = null;
    for (const source of entry.sources) {
      value = readSource(user, source);
      if (value !== null) break; // a value, or unknown (an earlier fallback was not returned)
    }
    if (value === undefined) continue;
    if (value !== null && value.length > entry.maxLength) {
      (warnings ??= []).push(`user ${user.id}: ${entry.column} truncated from ${value.length} to ${entry.maxLength} characters`);
      value = truncate(value, entry.maxLength);
    }
    columns[entry.column] = value;
  }
  return { ok: true, columns, warnings: warnings ?? NO_WARNINGS };
}
