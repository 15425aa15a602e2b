// One N:N relationship between systemusers and another table (roles, teams), stored as the rows of its
// intersect entity (`systemuserroles`, `teammembership`: own id, systemuserid, other id) with indexes both ways.
import { randomUUID } from "node:crypto";

export type LinkRow = Record<string, string>;

export class Links {
  readonly rows = new Map<string, LinkRow>();
  private readonly byUser = new Map<string, Map<string, string>>();
  private readonly byOther = new Map<string, Set<string>>();
  private sorted: string[] | null = null;

  /** `idKey`: the intersect row's primary key; `otherKey`: the column naming the other side. */
  constructor(readonly idKey: string, readonly otherKey: string) {}

  has(userId: string, otherId: string): boolean {
    return this.byUser.get(userId)?.has(otherId) ?? false;
  }

  add(userId: string, otherId: string): void {
    if (this.has(userId, otherId)) return;
    const id = randomUUID();
    this.rows.set(id, { [this.idKey]: id, systemuserid: userId, [this.otherKey]: otherId });
    let mine = this.byUser.get(userId);
    if (!mine) this.byUser.set(userId, (mine = new Map()));
    mine.set(otherId, id);
    let theirs = this.byOther.get(otherId);
    if (!theirs) this.byOther.set(otherId, (theirs = new Set()));
    theirs.add(userId);
    this.sorted = null;
  }

  remove(userId: string, otherId: string): boolean {
    const mine = this.byUser.get(userId);
    const id = mine?.get(otherId);
    if (!mine || id === undefined) return false;
    this.rows.delete(id);
    mine.delete(otherId);
    if (mine.size === 0) this.byUser.delete(userId);
    const theirs = this.byOther.get(otherId)!;
    theirs.delete(userId);
    if (theirs.size === 0) this.byOther.delete(otherId);
    this.sorted = null;
    return true;
  }

  /** Ids of the other side linked to a user (its roles, its teams). */
  ofUser(userId: string): string[] {
    return [...(this.byUser.get(userId)?.keys() ?? [])];
  }

  /** Ids of the users linked to one role or team. */
  ofOther(otherId: string): string[] {
    return [...(this.byOther.get(otherId) ?? [])];
  }

  /** Intersect rows an indexed equality selects (systemuserid or the other id), or null for other columns. */
  lookup = (column: string, value: string): Iterable<string> | null => {
    if (column === this.idKey) return this.rows.has(value) ? [value] : [];
    if (column === "systemuserid") return this.byUser.get(value)?.values() ?? [];
    if (column === this.otherKey) return [...(this.byOther.get(value) ?? [])].map((u) => this.byUser.get(u)!.get(value)!);
    return null;
  };

  /** Row ids in primary-key order (a query's default order); rebuilt only after changes. */
  sortedIds(): string[] {
    this.sorted ??= [...this.rows.keys()].sort();
    return this.sorted;
  }
}
