// The two forms a systemuser's domainname takes: `user@domain` online,
// `DOMAIN\sam` on-premises / IFD. Names compare case-insensitively, as Dataverse and Entra do.
import type { SyncIdentity } from "../sync/domain.js";

const UPN_RE = /^[^@\s\\]+@[^@\s\\]+$/;
const SAM_RE = /^[^@\s\\]+\\[^\s\\]+$/;
export const MAX_DOMAINNAME = 1024;

export const sameName = (a: string | null | undefined, b: string | null | undefined): boolean =>
  !!a && !!b && a.toLowerCase() === b.toLowerCase();

export const sameId = (a: string | null | undefined, b: string | null | undefined): boolean =>
  !!a && !!b && a.toLowerCase() === b.toLowerCase();

export function nameForm(name: string): SyncIdentity | null {
  if (UPN_RE.test(name)) return "upn";
  if (SAM_RE.test(name)) return "sam";
  return null;
}

/** Why `name` cannot be a domainname under `identity`, or undefined when it can. */
export function nameProblem(name: string, identity: SyncIdentity): string | undefined {
  if (name.length > MAX_DOMAINNAME) return `is longer than ${MAX_DOMAINNAME} characters`;
  const form = nameForm(name);
  if (form === identity) return undefined;
  return identity === "upn"
    ? "must be a user principal name (user@domain) because SYNC_IDENTITY is upn"
    : "must be DOMAIN\\samAccountName because SYNC_IDENTITY is sam";
}

export function splitSam(name: string): { domain: string; sam: string } | null {
  const i = name.indexOf("\\");
  if (i <= 0 || i === name.length - 1) return null;
  return { domain: name.slice(0, i), sam: name.slice(i + 1) };
}

/** NetBIOS name from the on-premises FQDN: its first label, upper-cased (Graph exposes no NetBIOS name). */
export function netBiosName(domainFqdn: string): string {
  return (domainFqdn.split(".")[0] ?? domainFqdn).toUpperCase();
}
