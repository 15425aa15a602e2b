// Lookup mode (incremental runs without scope groups): rather than reading the whole org, each Graph delta page
// reads only the records it concerns, so a run costs requests in proportion to its changes, not to the org.
// Per page: the records of every change's object id (one `In` query), then the holders of the mapped domainnames
// that matching or a remap still depends on: users with no record by object id (matched by domainname, or a
// conflict) and users whose domainname changed (a remap needs to know who else holds the new name).
import type { DataverseOrgPort, DataverseRequestOptions } from "../dataverse/types.js";
import type { DirectoryChange } from "../directory/types.js";
import type { SyncIdentity } from "./domain.js";
import { DOMAIN_NAME_COLUMN, mapUser, type AttributeMap } from "./mapping.js";
import { sameValue } from "./plan.js";
import { domainNameKey, indexSelect, isProtectedRow, objectIdKey, type UserIndex } from "./user-index.js";

export class PageLookup {
  private readonly askedIds = new Set<string>();
  private readonly askedNames = new Set<string>();
  private readonly select: string[];

  constructor(
    private readonly dataverse: DataverseOrgPort,
    private readonly index: UserIndex,
    private readonly map: AttributeMap,
    private readonly identity: SyncIdentity,
  ) {
    this.select = indexSelect(map);
  }

  /** Adds to the index the records `changes` may touch (each asked once per run; known records are kept). */
  async load(changes: readonly DirectoryChange[], options: DataverseRequestOptions = {}): Promise<void> {
    const objectIds: string[] = [];
    for (const change of changes) {
      const id = objectIdKey(change.kind === "upsert" ? change.user.id : change.id);
      if (this.index.byObjectId(id) || this.askedIds.has(id)) continue;
      this.askedIds.add(id);
      objectIds.push(id);
    }
    if (objectIds.length > 0) this.index.addNew(await this.dataverse.findSystemUsersIn({ objectIds }, this.select, options));

    const domainNames: string[] = [];
    for (const change of changes) {
      if (change.kind !== "upsert") continue;
      const mapped = mapUser(change.user, this.map, this.identity);
      const name = mapped.ok ? mapped.columns[DOMAIN_NAME_COLUMN] : undefined;
      if (!name) continue;
      const record = this.index.byObjectId(change.user.id);
      if (record && sameValue(DOMAIN_NAME_COLUMN, record.domainName, name)) continue;
      const key = domainNameKey(name);
      if (this.askedNames.has(key)) continue;
      this.askedNames.add(key);
      domainNames.push(name);
    }
    if (domainNames.length > 0) this.index.addNew(await this.dataverse.findSystemUsersIn({ domainNames }, this.select, options));
  }
}

/**
 * The org's enabled, non-protected users: the base of a percentage disable threshold when no full index was read.
 * A paged read of two columns (`@odata.count` would stop at 5,000); with `stopAt`, the count stops once it gets
 * there (a lower bound then: enough when only whether a share admits something matters).
 */
export async function countManagedEnabled(dataverse: DataverseOrgPort, options: DataverseRequestOptions & { stopAt?: number } = {}): Promise<number> {
  let count = 0;
  for await (const page of dataverse.listSystemUsers(["accessmode", "applicationid"], { abortSignal: options.abortSignal, filter: "isdisabled eq false" })) {
    for (const row of page) if (!isProtectedRow(row)) count++;
    if (options.stopAt !== undefined && count >= options.stopAt) break;
  }
  return count;
}
