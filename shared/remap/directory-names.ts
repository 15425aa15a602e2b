// Resolves domainnames to directory objects: UPNs by userPrincipalName, `DOMAIN\sam` by
// onPremisesSamAccountName (an advanced query in Graph) checked against the NetBIOS name of
// onPremisesDomainName. Many names go in chunks of 15 with `in` (Graph's default limit per `in`).
import { anchorOf, isOnPremises, nameFormOf, netbiosOf, type OrgIdentity } from "../sync/identity.js";
import { escapeODataString } from "../odata/literal.js";
import type { DirectoryPort, DirectoryUser } from "../directory/types.js";
import { nameForm, splitSam } from "./names.js";

export interface ResolvedName {
  /** The directory object the org links records to: Entra object id, or the AD objectGUID on-premises. */
  objectId: string;
  /** The name in the requested form, as the directory spells it. */
  name: string;
  userPrincipalName: string | null;
  accountEnabled: boolean | null;
}

export const DIRECTORY_SELECT = ["id", "userPrincipalName", "accountEnabled", "onPremisesSamAccountName", "onPremisesDomainName", "onPremisesSyncEnabled", "onPremisesImmutableId"] as const;
const IN_CHUNK = 15;

export function samNameOf(user: DirectoryUser, identity: OrgIdentity = "sam"): string | null {
  if (!user.onPremisesSamAccountName || !user.onPremisesDomainName) return null;
  return `${netbiosOf(identity, user.onPremisesDomainName)}\\${user.onPremisesSamAccountName}`;
}

/** The user's domainname under `identity`, or null when it has none (no on-premises account for sam). */
export function domainNameOf(user: DirectoryUser, identity: OrgIdentity): string | null {
  if (isOnPremises(identity) && user.onPremisesSyncEnabled !== true) return null; // not an AD account
  return nameFormOf(identity) === "sam" ? samNameOf(user, identity) : user.userPrincipalName ?? null;
}

export function toResolved(user: DirectoryUser, identity: OrgIdentity): ResolvedName | null {
  const name = domainNameOf(user, identity);
  const objectId = anchorOf(user, identity);
  if (!name || !objectId) return null;
  return { objectId: objectId.toLowerCase(), name, userPrincipalName: user.userPrincipalName ?? null, accountEnabled: user.accountEnabled ?? null };
}

/** One name; null when no directory user carries it. */
export async function resolveName(directory: DirectoryPort, name: string, options: { abortSignal?: AbortSignal; identity?: OrgIdentity } = {}): Promise<ResolvedName | null> {
  return (await resolveNames(directory, [name], options)).get(name.toLowerCase()) ?? null;
}

/** Many names (lower-cased keys); names not in the directory are absent from the map. */
/** `identity`: an on-premises org's rule resolves `DOMAIN\\sam` with its NetBIOS map, to AD accounts and their GUIDs. */
export async function resolveNames(directory: DirectoryPort, names: readonly string[], options: { abortSignal?: AbortSignal; identity?: OrgIdentity } = {}): Promise<Map<string, ResolvedName>> {
  const samRule: OrgIdentity = options.identity !== undefined && isOnPremises(options.identity) ? options.identity : "sam";
  const found = new Map<string, ResolvedName>();
  const upns = unique(names.filter((n) => nameForm(n) === "upn"));
  const sams = unique(names.filter((n) => nameForm(n) === "sam"));
  for (let i = 0; i < upns.length; i += IN_CHUNK) {
    const chunk = upns.slice(i, i + IN_CHUNK);
    const filter = `userPrincipalName in (${chunk.map(escapeODataString).join(",")})`;
    for await (const page of directory.listUsers(DIRECTORY_SELECT, { filter, pageSize: 999, abortSignal: options.abortSignal })) {
      for (const user of page) {
        const resolved = toResolved(user, "upn");
        if (resolved) found.set(resolved.name.toLowerCase(), resolved);
      }
    }
  }
  // sam: the account name alone is not unique across domains; keep only the wanted NetBIOS domain.
  const wanted = new Set(sams.map((n) => n.toLowerCase()));
  for (let i = 0; i < sams.length; i += IN_CHUNK) {
    const chunk = unique(sams.slice(i, i + IN_CHUNK).map((n) => splitSam(n)!.sam));
    const filter = `onPremisesSamAccountName in (${chunk.map(escapeODataString).join(",")})`;
    for await (const page of directory.listUsers(DIRECTORY_SELECT, { filter, pageSize: 999, advancedQuery: true, abortSignal: options.abortSignal })) {
      for (const user of page) {
        const resolved = toResolved(user, samRule);
        if (resolved && wanted.has(resolved.name.toLowerCase())) found.set(resolved.name.toLowerCase(), resolved);
      }
    }
  }
  return found;
}

function unique(values: string[]): string[] {
  const seen = new Map<string, string>();
  for (const v of values) if (!seen.has(v.toLowerCase())) seen.set(v.toLowerCase(), v);
  return [...seen.values()];
}
