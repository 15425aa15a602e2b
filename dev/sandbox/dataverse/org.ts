// One Dataverse environment: its systemusers (with indexes for the 100k-row benchmark), the platform rules
// applied to writes (domainname resolution against the directory, application-user locks), change-set
// journals for atomic rollback, and the knobs tests turn.
import { randomUUID } from "node:crypto";
import type { Tenant } from "../tenant.js";
import type { DirectoryUser } from "../directory.js";
import { DirectoryIndex } from "./directory-index.js";
import { DataverseError, fromSpec, notFound, type ErrorSpec } from "./errors.js";
import { AccessStore, type BusinessUnitRecord, type RoleRecord, type TeamInit, type TeamRecord, type Undo } from "./access-store.js";
import type { Changes } from "./payload.js";
import { computeFullName, type SystemUserRecord } from "./schema.js";

export interface ThrottleKnob {
  /** Share of requests (0..1) answered 429 at random. */
  rate?: number;
  /** Requests per caller allowed in the sliding window before 429 (Dataverse: 6000 per 300 s). */
  limit?: number;
  windowSeconds?: number;
  retryAfterSeconds: number;
}

export interface DataverseStats {
  /** Top-level HTTP requests by kind (a `$batch` counts once, as for service protection). */
  get: number;
  post: number;
  patch: number;
  delete: number;
  batch: number;
  /** Operations carried inside `$batch` requests. */
  batchOperations: number;
  /** Successful record writes (create/update/delete), top-level or in a batch. */
  writes: number;
  throttled: number;
  unauthorized: number;
  /** Values received for columns not valid for create/update (ignored, as the platform does), per column. */
  ignoredColumns: Record<string, number>;
  forbidden: number;
  /** Successful access writes by kind (top-level or in a batch), to compare with what a client reports. */
  access: AccessWriteStats;
}

export interface AccessWriteStats {
  roleAssociate: number;
  roleDisassociate: number;
  teamAdd: number;
  teamRemove: number;
  /** Users moved to another business unit, and the roles those moves removed. */
  unitMoves: number;
  rolesDroppedByMoves: number;
}

export type JournalEntry = { id: string; before: SystemUserRecord | null } | Undo;

/** One authenticated request: who made it (the systemuser its token maps to) and what it asked. */
export interface CallRecord {
  systemuserid: string;
  /** The application user's app, or null for a person. */
  applicationid: string | null;
  method: string;
  path: string;
}

/** Calls kept in `org.calls` (oldest dropped first). */
const MAX_CALLS = 10_000;

const newStats = (): DataverseStats => ({
  get: 0, post: 0, patch: 0, delete: 0, batch: 0, batchOperations: 0, writes: 0, throttled: 0, unauthorized: 0, forbidden: 0, ignoredColumns: {},
  access: { roleAssociate: 0, roleDisassociate: 0, teamAdd: 0, teamRemove: 0, unitMoves: 0, rolesDroppedByMoves: 0 },
});
export const timestamp = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const lower = (v: string | null | undefined) => (v ?? "").toLowerCase();

export class DataverseOrg {
  /** Org URL (also the token audience); set once the service listens. */
  url = "";
  readonly organizationId = randomUUID();
  /** The root business unit. */
  readonly businessUnitId = randomUUID();
  readonly users = new Map<string, SystemUserRecord>();
  /** Business units, security roles, teams and the user ↔ role / user ↔ team associations. */
  readonly access: AccessStore;
  /** Who made each authenticated call, newest last (tests assert calls were made as a caller's app user). */
  readonly calls: CallRecord[] = [];

  /** `x-ms-dop-hint` sent on every response. */
  dopHint = 4;
  /** Answer when a domainname resolves to a directory object some systemuser already holds (code undocumented, §8). */
  duplicateDomainError: ErrorSpec = { status: 400, code: "0x80041d2c", message: "The specified Active Directory user already exists as a Dynamics 365 user." };
  /** Answer when a domainname matches no active directory user. Code and text unverified; `{0}` is the name. */
  directoryNotFoundError: ErrorSpec = { status: 400, code: "0x80041d4d", message: "The user name {0} was not found in Microsoft Entra ID." };
  throttle: ThrottleKnob | null = null;
  /**
   * Privileges the bridge's security role lacks: a create (prvCreateUser) or update (prvWriteUser) of a systemuser
   * then fails as Dataverse answers a missing privilege, 403 0x80040220 PrivilegeDenied.
   */
  readonly deniedPrivileges = new Set<"prvCreateUser" | "prvWriteUser">();
  /** Concurrent requests per caller before 429 0x80072326. */
  concurrencyLimit = 52;
  concurrencyRetryAfterSeconds = 1;
  /** Simulated execution time per request, held while the request counts as in flight. */
  processingMs = 0;
  random: () => number = Math.random;
  stats: DataverseStats = newStats();

  readonly directoryIndex: DirectoryIndex;
  private readonly byObjectId = new Map<string, Set<string>>();
  private readonly byDomain = new Map<string, Set<string>>();
  private readonly byAppId = new Map<string, Set<string>>();
  private readonly injected = new Map<string, { remaining: number; error: ErrorSpec }>();
  private sorted: string[] | null = null;
  private version = 1_000_000 + Math.floor(Math.random() * 1_000_000);

  constructor(readonly tenant: Tenant, readonly name: string) {
    this.access = new AccessStore(this.businessUnitId, name);
    this.directoryIndex = new DirectoryIndex(tenant.directory);
  }

  /** Web API version in entity URLs (on-premises orgs: 9.1). */
  apiVersion = "9.2";
  /**
   * Replaces the online domainname rule (onpremises.ts installs the on-premises one): checks `next.domainname`
   * and fills the columns the platform derives from it, or throws a DataverseError.
   */
  /** Resolves a new domainname to its directory account (and fills the anchor columns), or throws as the platform would. */
  domainNameRule?: (next: Changes) => DirectoryUser;

  get apiBase(): string {
    return `${this.url}/api/data/v${this.apiVersion}/`;
  }

  entityUrl(id: string): string {
    return `${this.apiBase}systemusers(${id})`;
  }

  /** Inserts a row as it already exists in the org, bypassing the platform rules (seeding, tests). */
  addSystemUser(init: Partial<SystemUserRecord>): SystemUserRecord {
    const id = (init.systemuserid ?? randomUUID()).toLowerCase();
    if (this.users.has(id)) throw new Error(`systemuser ${id} exists`);
    const appUser = init.applicationid ? this.tenant.apps.get(init.applicationid) : undefined;
    const domainname = init.domainname ?? null;
    const isApp = !!init.applicationid;
    const now = timestamp();
    const rec: SystemUserRecord = {
      ...this.defaults(id, now),
      windowsliveid: isApp ? null : domainname,
      internalemailaddress: isApp ? null : domainname,
      // Application users carry their service principal's object id.
      azureactivedirectoryobjectid: appUser?.servicePrincipalId ?? null,
      ...init,
      systemuserid: id,
      domainname,
      versionnumber: this.nextVersion(),
    };
    rec.fullname = init.fullname ?? computeFullName(rec.firstname, rec.lastname);
    for (const k of ["azureactivedirectoryobjectid", "activedirectoryguid", "applicationid"] as const) rec[k] = rec[k]?.toLowerCase() ?? null;
    this.users.set(id, rec);
    this.index(rec);
    this.sorted = null;
    this.access.userJoined(id, rec._businessunitid_value);
    return rec;
  }

  /** Adds a security role to a business unit (default: the root unit, whose roles every unit gets a copy of). */
  addRole(name: string, businessunitid: string = this.businessUnitId): RoleRecord {
    return this.access.addRole(name, businessunitid);
  }

  /** Adds a business unit (default: under the root) with its default team and copies of the root roles. */
  addBusinessUnit(name: string, parentId: string = this.businessUnitId): BusinessUnitRecord {
    return this.access.addUnit(name, parentId);
  }

  addTeam(init: TeamInit): TeamRecord {
    return this.access.addTeam(init);
  }

  /** Assigns roles by name directly (seeding): the role of the user's unit, created in it when missing. */
  assignRoles(systemuserid: string, names: string[]): void {
    const user = this.get(systemuserid);
    if (!user) throw new Error(`no systemuser ${systemuserid}`);
    for (const name of names) {
      const unit = user._businessunitid_value;
      const role = this.access.roleInUnit(name, unit) ?? this.access.addRole(name, unit);
      this.access.userRoles.add(user.systemuserid, role.roleid);
    }
  }

  /** Adds members to a team directly (seeding, tests), bypassing the platform's membership rules. */
  addTeamMembers(teamid: string, systemuserids: string[]): void {
    for (const id of systemuserids) this.access.memberships.add(id.toLowerCase(), teamid.toLowerCase());
  }

  roleNamesOf(systemuserid: string): string[] {
    return this.access.userRoles.ofUser(systemuserid.toLowerCase()).map((id) => this.access.roles.get(id)?.name ?? id).sort();
  }

  teamNamesOf(systemuserid: string): string[] {
    return this.access.memberships.ofUser(systemuserid.toLowerCase()).map((id) => this.access.teams.get(id)?.name ?? id).sort();
  }

  recordCall(user: SystemUserRecord, method: string, path: string): void {
    if (this.calls.length >= MAX_CALLS) this.calls.splice(0, this.calls.length - MAX_CALLS + 1);
    this.calls.push({ systemuserid: user.systemuserid, applicationid: user.applicationid, method, path });
  }

  /** Test helper: sets columns directly (no platform rules, no version bump) and keeps the indexes right. */
  setFields(id: string, fields: Partial<SystemUserRecord>): SystemUserRecord {
    const rec = this.users.get(id.toLowerCase());
    if (!rec) throw new Error(`no systemuser ${id}`);
    const unit = rec._businessunitid_value;
    this.unindex(rec);
    Object.assign(rec, fields, { systemuserid: rec.systemuserid });
    this.index(rec);
    if (rec._businessunitid_value !== unit) this.access.userMoved(rec.systemuserid, unit, rec._businessunitid_value, undefined, false);
    return rec;
  }

  get(id: string): SystemUserRecord | undefined {
    return this.users.get(id.toLowerCase());
  }

  findByObjectId(oid: string): SystemUserRecord | undefined {
    return this.first(this.byObjectId.get(oid.toLowerCase()));
  }

  findByDomainName(name: string): SystemUserRecord | undefined {
    return this.first(this.byDomain.get(name.toLowerCase()));
  }

  findByApplicationId(appId: string): SystemUserRecord | undefined {
    return this.first(this.byAppId.get(appId.toLowerCase()));
  }

  /** The next `count` writes (update, delete, create with this id) of a record fail with `error` (default 500). */
  failNextWrites(systemuserid: string, count = 1, error: ErrorSpec = { status: 500, code: "0x80040216", message: "An unexpected error occurred." }): void {
    this.injected.set(systemuserid.toLowerCase(), { remaining: count, error });
  }

  resetStats(): void {
    this.stats = newStats();
  }

  /** Ids of the rows an indexed column equality selects, or null when the column is not indexed. */
  lookup = (column: string, value: string): Iterable<string> | null => {
    switch (column) {
      case "systemuserid": return this.users.has(value) ? [value] : [];
      case "azureactivedirectoryobjectid": return this.byObjectId.get(value) ?? [];
      case "domainname": return this.byDomain.get(value) ?? [];
      case "applicationid": return this.byAppId.get(value) ?? [];
      default: return null;
    }
  };

  /** All ids in primary-key order (the default order of a query); rebuilt only after inserts/deletes. */
  sortedIds(): string[] {
    this.sorted ??= [...this.users.keys()].sort();
    return this.sorted;
  }

  create(changes: Changes, journal?: JournalEntry[]): SystemUserRecord {
    const id = ((changes.systemuserid as string | undefined) ?? randomUUID()).toLowerCase();
    if (this.users.has(id)) throw new DataverseError(412, "0x80040237", "A record with matching key values already exists.");
    this.checkPrivilege("prvCreateUser", id, "CreateAccess");
    this.consumeInjected(id);
    const next: Changes = { ...changes };
    delete next.systemuserid;
    const appId = next.applicationid as string | null | undefined;
    if (appId) {
      if (this.byAppId.get(appId)?.size) throw new DataverseError(400, "0x8004F511", `You are attempting to create an Application ID = ${appId} that already exists.`);
      next.domainname ??= `${appId}@${this.name}`;
      next.azureactivedirectoryobjectid = this.tenant.apps.get(appId)?.servicePrincipalId ?? null;
    } else {
      if (next.domainname === undefined || next.domainname === null || next.domainname === "") {
        throw new DataverseError(400, "0x80040203", "Attribute 'domainname' cannot be NULL.");
      }
      this.resolveDomainName(next);
      next.internalemailaddress ??= next.domainname;
    }
    this.checkLookups(next);
    const now = timestamp();
    const rec: SystemUserRecord = { ...this.defaults(id, now), ...(next as Partial<SystemUserRecord>), systemuserid: id, versionnumber: this.nextVersion() };
    rec.fullname = computeFullName(rec.firstname, rec.lastname);
    this.users.set(id, rec);
    this.index(rec);
    this.sorted = null;
    journal?.push({ id, before: null });
    this.access.userJoined(id, rec._businessunitid_value, journal);
    this.stats.writes++;
    return rec;
  }

  update(id: string, changes: Changes, journal?: JournalEntry[]): SystemUserRecord {
    const rec = this.users.get(id);
    if (!rec) throw notFound(id);
    this.checkPrivilege("prvWriteUser", id, "WriteAccess");
    this.consumeInjected(id);
    const next: Changes = { ...changes };
    delete next.systemuserid;
    if ("domainname" in next) {
      if (lower(next.domainname as string | null) === lower(rec.domainname)) delete next.domainname; // unchanged: no-op
      else if (rec.applicationid) throw new DataverseError(400, "0x80041d48", "The domain name of an application user cannot be updated.");
      else refreshFromDirectory(next, this.resolveDomainName(next));
    }
    if (rec.applicationid && "accessmode" in next && next.accessmode !== rec.accessmode) {
      throw new DataverseError(400, "0x80040d40", "The access mode of an application user cannot be changed.");
    }
    if (next.isdisabled === false && rec.isdisabled && !(next.islicensed ?? rec.islicensed) && !rec.applicationid && rec.accessmode < 3) {
      throw new DataverseError(400, "0x8004D24C", "Cannot enable an unlicensed user");
    }
    this.checkLookups(next);
    journal?.push({ id, before: { ...rec } });
    const unit = rec._businessunitid_value;
    this.unindex(rec);
    Object.assign(rec, next);
    rec.fullname = computeFullName(rec.firstname, rec.lastname);
    rec.versionnumber = this.nextVersion();
    rec.modifiedon = timestamp();
    this.index(rec);
    if (rec._businessunitid_value !== unit) this.moved(rec, unit, journal);
    this.stats.writes++;
    return rec;
  }

  /** A move removes every role of the user and moves their default-team membership (counted for tests). */
  private moved(rec: SystemUserRecord, from: string, journal?: JournalEntry[]): void {
    const dropped = this.access.userMoved(rec.systemuserid, from, rec._businessunitid_value, journal);
    this.stats.access.unitMoves++;
    this.stats.access.rolesDroppedByMoves += dropped.length;
  }

  remove(id: string, journal?: JournalEntry[]): void {
    const rec = this.users.get(id);
    if (!rec) throw notFound(id);
    this.consumeInjected(id);
    journal?.push({ id, before: { ...rec } });
    this.unindex(rec);
    this.users.delete(id);
    this.sorted = null;
    this.access.userRemoved(id, journal);
    this.stats.writes++;
  }

  /** Undoes a change set's writes, newest first; restored rows keep their object identity. */
  rollback(journal: JournalEntry[]): void {
    for (const entry of [...journal].reverse()) {
      if ("undo" in entry) { entry.undo(); continue; }
      const { id, before } = entry;
      const current = this.users.get(id);
      if (current) this.unindex(current);
      if (!before) {
        this.users.delete(id);
        this.sorted = null;
        continue;
      }
      const restored = current ? Object.assign(current, before) : before;
      if (!current) { this.users.set(id, restored); this.sorted = null; }
      this.index(restored);
    }
  }

  /** The platform rule: a new domainname must name an active directory user that no systemuser holds yet. */
  private resolveDomainName(next: Changes): DirectoryUser {
    const name = next.domainname as string | null;
    if (name === null || name === "") throw new DataverseError(400, "0x80040203", "Attribute 'domainname' cannot be NULL.");
    if (this.domainNameRule) return this.domainNameRule(next);
    const user = this.directoryIndex.resolve(name);
    if (!user) {
      const spec = this.directoryNotFoundError;
      throw new DataverseError(spec.status, spec.code, spec.message.replace("{0}", name));
    }
    // Held by any record, the one being written included: this is why a remap goes through a temporary name.
    if (this.byObjectId.get(user.id.toLowerCase())?.size) throw fromSpec(this.duplicateDomainError);
    next.azureactivedirectoryobjectid = user.id.toLowerCase();
    next.windowsliveid = user.userPrincipalName;
    return user;
  }

  private checkLookups(next: Changes): void {
    const bu = next._businessunitid_value as string | undefined;
    if (bu !== undefined && !this.access.units.has(bu)) throw new DataverseError(404, "0x80040217", `businessunit With Id = ${bu} Does Not Exist`);
    const parent = next._parentsystemuserid_value as string | null | undefined;
    if (parent && !this.users.has(parent)) throw notFound(parent);
  }

  private checkPrivilege(privilege: "prvCreateUser" | "prvWriteUser", id: string, rights: string): void {
    if (!this.deniedPrivileges.has(privilege)) return;
    // hr -2147220960 is 0x80040220; the text follows the one Dataverse returns for a missing privilege.
    throw new DataverseError(403, "0x80040220",
      `SecLib::AccessCheckEx failed. Returned hr = -2147220960, ObjectID: ${id}, OwnerId: ${this.businessUnitId}, OwnerIdType: 10 and CallingUser: ${this.organizationId}. ObjectTypeCode: 8, objectBusinessUnitId: ${this.businessUnitId}, AccessRights: ${rights}`);
  }

  private consumeInjected(id: string): void {
    const rule = this.injected.get(id);
    if (!rule) return;
    if (--rule.remaining <= 0) this.injected.delete(id);
    throw fromSpec(rule.error);
  }

  private defaults(id: string, now: string): SystemUserRecord {
    return {
      systemuserid: id, domainname: null, windowsliveid: null, internalemailaddress: null, firstname: null, lastname: null,
      middlename: null, nickname: null, fullname: null, jobtitle: null, title: null, mobilephone: null, homephone: null,
      employeeid: null, personalemailaddress: null, sharepointemailaddress: null, photourl: null, salutation: null,
      azureactivedirectoryobjectid: null, activedirectoryguid: null, applicationid: null, applicationiduri: null, accessmode: 0, isdisabled: false,
      issyncwithdirectory: false, islicensed: true, isintegrationuser: false, setupuser: false, azurestate: 0,
      systemmanagedusertype: 0, caltype: 0, disabledreason: null, deletedstate: null,
      _businessunitid_value: this.businessUnitId, _parentsystemuserid_value: null,
      versionnumber: 0, createdon: now, modifiedon: now,
    };
  }

  private nextVersion(): number {
    return ++this.version;
  }

  private first(ids: Set<string> | undefined): SystemUserRecord | undefined {
    if (!ids) return undefined;
    for (const id of ids) return this.users.get(id);
    return undefined;
  }

  private index(rec: SystemUserRecord): void {
    add(this.byObjectId, rec.azureactivedirectoryobjectid, rec.systemuserid);
    add(this.byDomain, rec.domainname, rec.systemuserid);
    add(this.byAppId, rec.applicationid, rec.systemuserid);
  }

  private unindex(rec: SystemUserRecord): void {
    drop(this.byObjectId, rec.azureactivedirectoryobjectid, rec.systemuserid);
    drop(this.byDomain, rec.domainname, rec.systemuserid);
    drop(this.byAppId, rec.applicationid, rec.systemuserid);
  }
}

function add(map: Map<string, Set<string>>, key: string | null, id: string): void {
  if (!key) return;
  const k = key.toLowerCase();
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(id);
}

function drop(map: Map<string, Set<string>>, key: string | null, id: string): void {
  if (!key) return;
  const k = key.toLowerCase();
  const set = map.get(k);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) map.delete(k);
}

/**
 * Once a record's domainname moves to another directory user, the platform refreshes the user's names and
 * primary email from the directory (issue #11 item 11); values sent in the same request are kept.
 */
function refreshFromDirectory(next: Changes, user: DirectoryUser): void {
  if (!("firstname" in next)) next.firstname = user.givenName;
  if (!("lastname" in next)) next.lastname = user.surname;
  if (!("internalemailaddress" in next)) next.internalemailaddress = user.mail ?? user.userPrincipalName;
}
