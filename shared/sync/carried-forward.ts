// Users whose writes failed, carried forward from run to run (one org).
//
// Why carry failed users forward rather than hold the cursor: the delta cursor is one position for the whole
// org, so holding it for one user whose write keeps failing (a missing licence, a privilege) would stall every
// other change behind it, and Graph's delta never returns an unchanged user again once the cursor is past it.
// So the cursor moves on, and the failed users' object ids are kept per org (OrgStateStore retries, written
// before the cursor); each later run fetches them by id first and plans them again, until their write
// succeeds, they need no write, or they left the directory.
import type { OrgStateStore } from "./org-state-store.js";

export class CarriedForward {
  private constructor(
    private readonly orgState: Pick<OrgStateStore, "addRetries" | "removeRetries">,
    private readonly org: string,
    private readonly ids: Set<string>,
  ) {}

  /** The org's carried-forward users; a dry run neither reads nor changes them. */
  static async load(orgState: OrgStateStore, org: string, dryRun: boolean): Promise<CarriedForward> {
    return new CarriedForward(orgState, org, new Set(dryRun ? [] : await orgState.listRetries(org)));
  }

  list(): string[] {
    return [...this.ids];
  }

  /** Records which of the `handled` users still need a retry (`failed`) and which no longer do. */
  async record(handled: readonly string[], failed: ReadonlySet<string>): Promise<void> {
    const added = [...failed].filter((id) => !this.ids.has(id));
    const settled = handled.filter((id) => this.ids.has(id) && !failed.has(id));
    await this.orgState.addRetries(this.org, added);
    await this.orgState.removeRetries(this.org, settled);
    for (const id of added) this.ids.add(id);
    for (const id of settled) this.ids.delete(id);
  }
}
