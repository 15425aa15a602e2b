// On-premises orgs anchor each record to the user's Active Directory objectGUID (activedirectoryguid), while rule
// groups list Entra object ids. Entra Connect gives each synced user that GUID as onPremisesImmutableId, so a
// run reads the rule-group members' immutable ids from Graph (300 users a JSON batch) and plans by the org's
// anchor. A member with no immutable id (a cloud-only user) has no record in such an org.
import type { DirectoryPort } from "../directory/types.js";
import { guidFromImmutableId } from "../directory/immutable-id.js";
import { objectIdKey } from "../sync/user-index.js";

/** Entra object id (key) → the org's anchor (key). */
export type AnchorOf = (objectId: string) => string | undefined;

/** The AD objectGUIDs of the given Entra users (keys), read from Graph. */
export async function readAdAnchors(directory: Pick<DirectoryPort, "getUsersByIds">, objectIds: readonly string[], signal?: AbortSignal): Promise<AnchorOf> {
  const anchors = new Map<string, string>();
  const ids = [...new Set(objectIds.map(objectIdKey))];
  if (ids.length > 0) {
    for (const user of await directory.getUsersByIds(ids, ["id", "onPremisesImmutableId"], { abortSignal: signal })) {
      const guid = guidFromImmutableId(typeof user.onPremisesImmutableId === "string" ? user.onPremisesImmutableId : null);
      if (guid) anchors.set(objectIdKey(user.id), objectIdKey(guid));
    }
  }
  return (objectId) => anchors.get(objectIdKey(objectId));
}

/** Memberships keyed by the org's anchor; members without one are left out (no record can hold them). */
export function byAnchor<T>(byObjectId: ReadonlyMap<string, T>, anchorOf: AnchorOf): Map<string, T> {
  const out = new Map<string, T>();
  for (const [id, value] of byObjectId) {
    const anchor = anchorOf(id);
    if (anchor !== undefined) out.set(anchor, value);
  }
  return out;
}
