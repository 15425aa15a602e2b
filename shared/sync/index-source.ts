// Where a run's records come from: the whole org read once into an index, or, for incremental runs without scope
// groups, each page's own records (page-lookup.ts). Full rounds and scoped runs need every record (orphans,
// out-of-scope users); on-premises orgs always read the whole org, as their records are found by AD GUID, which
// only the directory user (not a removal) carries.
import type { DataverseOrgPort } from "../dataverse/types.js";
import type { DirectoryChange } from "../directory/types.js";
import type { AttributeMap } from "./attribute-map.js";
import type { DisableThreshold } from "./domain.js";
import { anchorColumn, isOnPremises, type OrgIdentity } from "./identity.js";
import { countManagedEnabled, PageLookup } from "./page-lookup.js";
import { smallestBaseAdmitting } from "./threshold.js";
import { indexSelect, UserIndex } from "./user-index.js";

export class IndexSource {
  private constructor(
    private readonly dataverse: DataverseOrgPort,
    private readonly map: AttributeMap,
    private readonly anchor: string,
    private current: UserIndex,
    private lookup: PageLookup | undefined,
  ) {}

  /** `wholeOrg` false: per-page lookup where the org allows it. */
  static async open(dataverse: DataverseOrgPort, map: AttributeMap, identity: OrgIdentity, wholeOrg: boolean, abortSignal?: AbortSignal): Promise<IndexSource> {
    const anchor = anchorColumn(identity);
    if (!wholeOrg && !isOnPremises(identity)) {
      const index = new UserIndex(map, anchor);
      return new IndexSource(dataverse, map, anchor, index, new PageLookup(dataverse, index, map, identity));
    }
    return new IndexSource(dataverse, map, anchor, await readIndex(dataverse, map, anchor, abortSignal), undefined);
  }

  /** The records known so far (every record once the whole org was read). */
  get index(): UserIndex {
    return this.current;
  }

  /** Adds what `changes` need to the index (nothing to do when the whole org was read). */
  async load(changes: readonly DirectoryChange[], abortSignal?: AbortSignal): Promise<void> {
    if (this.lookup) await this.lookup.load(changes, { abortSignal });
  }

  /** The run turned into a full round: it needs every record now; what it already knows is its newer view and stays. */
  async readWholeOrg(abortSignal?: AbortSignal): Promise<void> {
    if (!this.lookup) return;
    const full = await readIndex(this.dataverse, this.map, this.anchor, abortSignal);
    for (const record of this.current.records()) full.insert(record);
    this.current = full;
    this.lookup = undefined;
  }

  /**
   * The base of a percentage threshold; counted from Dataverse only when a lookup-mode run has disables to weigh.
   * `enoughToDecide`: the count may stop once the share admits `pendingDisables` (the exact base whenever it does
   * not): for a check whose base is shown only when it halts.
   */
  async managedEnabled(pendingDisables: number, threshold: DisableThreshold, abortSignal?: AbortSignal, enoughToDecide = false): Promise<number> {
    if (!this.lookup) return this.current.stats().managedEnabled;
    if (pendingDisables === 0 || !("percent" in threshold)) return 0;
    return countManagedEnabled(this.dataverse, { abortSignal, ...(enoughToDecide ? { stopAt: smallestBaseAdmitting(pendingDisables, threshold) } : {}) });
  }
}

async function readIndex(dataverse: DataverseOrgPort, map: AttributeMap, anchor: string, abortSignal?: AbortSignal): Promise<UserIndex> {
  const index = new UserIndex(map, anchor);
  for await (const page of dataverse.listSystemUsers(indexSelect(map, anchor), { abortSignal })) index.addPage(page);
  return index;
}
