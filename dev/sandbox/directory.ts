// The sandbox tenant's directory: users and groups, with a change log that the Graph emulator's
// delta queries and change notifications read. Shared in-process by the Graph and Dataverse emulators
// (Dataverse resolves `domainname` against it, as the platform does against Entra ID).
import { randomUUID } from "node:crypto";

export type UserState = "active" | "softDeleted" | "hardDeleted";

export interface DirectoryUser {
  id: string;
  userPrincipalName: string;
  displayName: string | null;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  jobTitle: string | null;
  mobilePhone: string | null;
  accountEnabled: boolean;
  onPremisesSamAccountName: string | null;
  /** FQDN of the on-premises domain (`contoso.local`); its first label, upper-cased, is the NetBIOS name. */
  onPremisesDomainName: string | null;
  /** Synced from AD by Entra Connect: true for users created with an on-premises account (unless told). */
  onPremisesSyncEnabled: boolean | null;
  /** Entra Connect's source anchor: base64 of the AD objectGUID in .NET byte order (see adObjectGuid). */
  onPremisesImmutableId: string | null;
  /** Licences held (Graph `assignedLicenses`); changing them is a user change (the next delta round shows it). */
  assignedLicenses: AssignedLicense[];
  state: UserState;
  /** Change-log version of the last change to this user. */
  version: number;
}

export interface AssignedLicense {
  skuId: string;
  disabledPlans: string[];
}

/** A licence the tenant has bought (Graph `subscribedSkus`). */
export interface SubscribedSku {
  skuId: string;
  skuPartNumber: string;
  /** Seats bought (`prepaidUnits.enabled`). */
  enabledUnits: number;
}

export type UserInit = Partial<Omit<DirectoryUser, "id" | "state" | "version">> & { id?: string; userPrincipalName: string };

export interface GroupMembership {
  userId: string;
  isMember: boolean;
  version: number;
}

export interface DirectoryGroup {
  id: string;
  displayName: string;
  members: Map<string, GroupMembership>;
  version: number;
}

export type DirectoryChange =
  | { kind: "user"; id: string; version: number; changeType: "created" | "updated" | "deleted" }
  | { kind: "group"; id: string; version: number; changeType: "updated" };

export class Directory {
  readonly users = new Map<string, DirectoryUser>();
  readonly groups = new Map<string, DirectoryGroup>();
  readonly subscribedSkus = new Map<string, SubscribedSku>();
  /** Active users by lower-cased UPN (seeding 100k users must not scan for each one). */
  private readonly byUpn = new Map<string, DirectoryUser>();
  /** Monotonic change counter; delta tokens remember the version they were issued at. */
  version = 0;
  /** Tokens issued before this version are expired (`syncStateNotFound`), to test resync. */
  oldestValidVersion = 0;
  private readonly listeners = new Set<(change: DirectoryChange) => void>();
  /** Every user (any state) in id order, for delta paging; users are never removed from the map, so its size dates it. */
  private sortedById: DirectoryUser[] = [];
  /** User changes in version order (every user mutation emits one), so a delta round costs its changes, not the tenant. */
  private readonly userChanges: Array<{ version: number; id: string }> = [];
  private changedWindow: { key: string; users: DirectoryUser[] } | undefined;

  usersSortedById(): readonly DirectoryUser[] {
    if (this.sortedById.length !== this.users.size) {
      this.sortedById = [...this.users.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    return this.sortedById;
  }

  onChange(listener: (change: DirectoryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Users (any state) whose latest change lies in (after, upTo], in id order. */
  usersChangedBetween(after: number, upTo: number): DirectoryUser[] {
    // Every page of a round asks for the same window: answer it once per window (and state of the log).
    const key = `${after}:${upTo}:${this.userChanges.length}`;
    if (this.changedWindow?.key !== key) this.changedWindow = { key, users: this.changedBetween(after, upTo) };
    return this.changedWindow.users;
  }

  private changedBetween(after: number, upTo: number): DirectoryUser[] {
    const log = this.userChanges;
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (log[mid]!.version <= after) lo = mid + 1;
      else hi = mid;
    }
    const changed = new Map<string, DirectoryUser>();
    for (let i = lo; i < log.length && log[i]!.version <= upTo; i++) {
      const user = this.users.get(log[i]!.id);
      if (user && user.version > after && user.version <= upTo) changed.set(user.id, user);
    }
    return [...changed.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private emit(change: DirectoryChange): void {
    if (change.kind === "user") this.userChanges.push({ version: change.version, id: change.id });
    for (const listener of this.listeners) listener(change);
  }

  addUser(init: UserInit): DirectoryUser {
    const user: DirectoryUser = {
      id: init.id ?? randomUUID(),
      userPrincipalName: init.userPrincipalName,
      displayName: init.displayName ?? null,
      givenName: init.givenName ?? null,
      surname: init.surname ?? null,
      mail: init.mail ?? null,
      jobTitle: init.jobTitle ?? null,
      mobilePhone: init.mobilePhone ?? null,
      accountEnabled: init.accountEnabled ?? true,
      onPremisesSamAccountName: init.onPremisesSamAccountName ?? null,
      onPremisesDomainName: init.onPremisesDomainName ?? null,
      onPremisesSyncEnabled: init.onPremisesSyncEnabled !== undefined ? init.onPremisesSyncEnabled : init.onPremisesSamAccountName ? true : null,
      onPremisesImmutableId: init.onPremisesImmutableId !== undefined ? init.onPremisesImmutableId
        : init.onPremisesSamAccountName ? anchorFromGuid(randomUUID()) : null,
      assignedLicenses: (init.assignedLicenses ?? []).map((l) => ({ skuId: l.skuId, disabledPlans: [...l.disabledPlans] })),
      state: "active",
      version: ++this.version,
    };
    if (this.findByUpn(user.userPrincipalName)) throw new Error(`UPN already in use: ${user.userPrincipalName}`);
    this.users.set(user.id, user);
    this.byUpn.set(user.userPrincipalName.toLowerCase(), user);
    this.emit({ kind: "user", id: user.id, version: user.version, changeType: "created" });
    return user;
  }

  updateUser(id: string, patch: Partial<Omit<DirectoryUser, "id" | "state" | "version">>): DirectoryUser {
    const user = this.mustGet(id);
    if (patch.userPrincipalName && patch.userPrincipalName.toLowerCase() !== user.userPrincipalName.toLowerCase()) {
      if (this.findByUpn(patch.userPrincipalName)) throw new Error(`UPN already in use: ${patch.userPrincipalName}`);
    }
    this.byUpn.delete(user.userPrincipalName.toLowerCase());
    Object.assign(user, patch);
    if (user.state === "active") this.byUpn.set(user.userPrincipalName.toLowerCase(), user);
    user.version = ++this.version;
    this.emit({ kind: "user", id, version: user.version, changeType: "updated" });
    return user;
  }

  /** Soft delete (restorable, `@removed: changed`) or hard delete (`@removed: deleted`). */
  deleteUser(id: string, hard = false): void {
    const user = this.mustGet(id);
    user.state = hard ? "hardDeleted" : "softDeleted";
    this.byUpn.delete(user.userPrincipalName.toLowerCase());
    user.version = ++this.version;
    this.emit({ kind: "user", id, version: user.version, changeType: "deleted" });
    this.membershipsChanged(id);
  }

  /**
   * A deleted user leaves their groups and a restored one is back in them, as in Entra: each of their groups
   * changes (groups/delta names them removed, then added), while the membership is kept for the restore.
   */
  private membershipsChanged(userId: string): void {
    for (const group of this.groups.values()) {
      const membership = group.members.get(userId);
      if (membership?.isMember) this.setMembership(group.id, userId, true);
    }
  }

  restoreUser(id: string): DirectoryUser {
    const user = this.mustGet(id);
    if (user.state !== "softDeleted") throw new Error(`user ${id} is not soft-deleted`);
    if (this.findByUpn(user.userPrincipalName)) throw new Error(`UPN already in use: ${user.userPrincipalName}`);
    user.state = "active";
    this.byUpn.set(user.userPrincipalName.toLowerCase(), user);
    user.version = ++this.version;
    this.emit({ kind: "user", id, version: user.version, changeType: "updated" });
    this.membershipsChanged(id);
    return user;
  }

  addGroup(displayName: string, id: string = randomUUID()): DirectoryGroup {
    const group: DirectoryGroup = { id, displayName, members: new Map(), version: ++this.version };
    this.groups.set(id, group);
    return group;
  }

  setMembership(groupId: string, userId: string, isMember: boolean): void {
    const group = this.groups.get(groupId);
    if (!group) throw new Error(`no group ${groupId}`);
    const version = ++this.version;
    group.members.set(userId, { userId, isMember, version });
    group.version = version;
    this.emit({ kind: "group", id: groupId, version, changeType: "updated" });
  }

  addGroupMember(groupId: string, userId: string): void {
    this.setMembership(groupId, userId, true);
  }

  /** The removal shows in the next groups/delta round as a member with `@removed`. */
  removeGroupMember(groupId: string, userId: string): void {
    this.setMembership(groupId, userId, false);
  }

  /** Direct members now (what a rule's group resolves to). */
  membersOf(groupId: string): string[] {
    return [...(this.groups.get(groupId)?.members.values() ?? [])].filter((m) => m.isMember).map((m) => m.userId);
  }

  addSubscribedSku(skuPartNumber: string, skuId: string, enabledUnits = 10_000): SubscribedSku {
    const sku = { skuId: skuId.toLowerCase(), skuPartNumber, enabledUnits };
    this.subscribedSkus.set(sku.skuId, sku);
    return sku;
  }

  /** Assigns (or re-assigns with other disabled plans) a licence: a user change, as in Entra. */
  assignLicense(userId: string, skuId: string, disabledPlans: string[] = []): DirectoryUser {
    const others = this.mustGet(userId).assignedLicenses.filter((l) => l.skuId !== skuId.toLowerCase());
    return this.updateUser(userId, { assignedLicenses: [...others, { skuId: skuId.toLowerCase(), disabledPlans }] });
  }

  removeLicense(userId: string, skuId: string): DirectoryUser {
    const kept = this.mustGet(userId).assignedLicenses.filter((l) => l.skuId !== skuId.toLowerCase());
    return this.updateUser(userId, { assignedLicenses: kept });
  }

  /** Active (not deleted) user by UPN, case-insensitive. */
  findByUpn(upn: string): DirectoryUser | undefined {
    return this.byUpn.get(upn.toLowerCase());
  }

  /** Active user by `DOMAIN\sam`, case-insensitive. */
  findBySam(domainAndSam: string): DirectoryUser | undefined {
    const [domain, sam] = domainAndSam.toLowerCase().split("\\");
    if (!domain || !sam) return undefined;
    for (const user of this.users.values()) {
      if (user.state !== "active" || !user.onPremisesSamAccountName || !user.onPremisesDomainName) continue;
      if (user.onPremisesSamAccountName.toLowerCase() === sam && netBiosName(user.onPremisesDomainName).toLowerCase() === domain) return user;
    }
    return undefined;
  }

  /** Expires every delta token issued so far (the next delta call answers `syncStateNotFound`). */
  expireDeltaTokens(): void {
    // Bump the version so tokens issued from now on (at this version) stay valid while older ones expire.
    this.oldestValidVersion = ++this.version;
  }

  private mustGet(id: string): DirectoryUser {
    const user = this.users.get(id);
    if (!user || user.state === "hardDeleted") throw new Error(`no user ${id}`);
    return user;
  }
}

/** Guid.ToByteArray(): the first three fields little-endian, then the last eight bytes as written. */
export function anchorFromGuid(guid: string): string {
  const hex = guid.replace(/-/g, "");
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32LE(parseInt(hex.slice(0, 8), 16), 0);
  bytes.writeUInt16LE(parseInt(hex.slice(8, 12), 16), 4);
  bytes.writeUInt16LE(parseInt(hex.slice(12, 16), 16), 6);
  Buffer.from(hex.slice(16), "hex").copy(bytes, 8);
  return bytes.toString("base64");
}

/** The AD objectGUID an on-premises user's immutable id holds (null for a cloud-only user or another anchor). */
export function adObjectGuid(user: DirectoryUser): string | null {
  if (!user.onPremisesImmutableId) return null;
  const bytes = Buffer.from(user.onPremisesImmutableId, "base64");
  if (bytes.length !== 16) return null;
  const head = [bytes.readUInt32LE(0).toString(16).padStart(8, "0"), bytes.readUInt16LE(4).toString(16).padStart(4, "0"), bytes.readUInt16LE(6).toString(16).padStart(4, "0")];
  const tail = bytes.subarray(8).toString("hex");
  return `${head.join("-")}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}

export function netBiosName(domainFqdn: string): string {
  return (domainFqdn.split(".")[0] ?? domainFqdn).toUpperCase();
}
