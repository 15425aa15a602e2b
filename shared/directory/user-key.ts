// The user keys the admin API accepts for a directory user: an object id (GUID) or a UPN-shaped value. Anything
// else (`delta()`, `me`, `../groups`, …) would name another Graph resource once put in a path, so it is refused
// before any Graph call.
import { isGuid } from "../dataverse/odata.js";

/**
 * Entra UPN: alias of A–Z a–z 0–9 ' . - _ ! # ^ ~ (guests add `#EXT#` and the home address, so the alias may run
 * past the 64 characters of a member's), `@`, a DNS domain of at least two labels.
 */
const UPN_RE = /^[A-Za-z0-9'._!#^~+&$%*=?{}|`-]{1,160}@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isUpnShaped(value: string): boolean {
  return UPN_RE.test(value);
}

/** An object id or a UPN-shaped value. */
export function isUserKey(value: string): boolean {
  return isGuid(value) || isUpnShaped(value);
}
