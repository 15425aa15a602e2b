// In-memory index of one org's systemusers, built from listSystemUsers pages. Pure: no I/O.
// Lean for a million rows: one small object per record holding only what planning needs, mapped values packed
// into one string (PackedValues), and lookups by id, object id and lower-cased domainname.
import type { ColumnValue, SystemUser } from "../dataverse/types.js";
import { ONLINE_ANCHOR } from "./identity.js";
import { DOMAIN_NAME_COLUMN, type AttributeMap } from "./mapping.js";

export interface IndexedUser {
  readonly systemUserId: string;
  /**
   * The directory object the record is anchored to, lower-cased; null when it has none (or the empty GUID):
   * azureactivedirectoryobjectid online, activedirectoryguid on-premises (see identity.ts).
   */
  objectId: string | null;
  domainName: string | null;
  disabled: boolean;
  accessMode: number | null;
  applicationId: string | null;
  /** Mapped column values, aligned to `UserIndex.columns`: read them with `UserIndex.value`. */
  values: PackedValues;
}

/**
 * Mapped values packed into one string, fields separated by FIELD_SEPARATOR, NULL_FIELD for a null: one string
 * instead of an array and a string per column (about 150 bytes less a record, a quarter of the index). Values that
 * hold either marker character stay an array.
 */
export type PackedValues = string | readonly (string | null)[];
const FIELD_SEPARATOR = "\u001f";
const NULL_FIELD = "\u0000";

export function packValues(values: readonly (string | null)[]): PackedValues {
  if (values.some((v) => v !== null && (v.includes(FIELD_SEPARATOR) || v.includes(NULL_FIELD)))) return [...values];
  return values.map((v) => v ?? NULL_FIELD).join(FIELD_SEPARATOR);
}

export function unpackValues(values: PackedValues, count: number): (string | null)[] {
  if (typeof values !== "string") return [...values];
  return Array.from({ length: count }, (_, i) => packedField(values, i));
}

function packedField(packed: string, i: number): string | null {
  let start = 0;
  for (let k = 0; k < i; k++) start = packed.indexOf(FIELD_SEPARATOR, start) + 1;
  const end = packed.indexOf(FIELD_SEPARATOR, start);
  const field = end < 0 ? packed.slice(start) : packed.slice(start, end);
  return field === NULL_FIELD ? null : field;
}

export interface IndexStats {
  total: number;
  /** Application users and accessmode 3/4/5: never touched. */
  protected: number;
  /** Not protected. */
  managed: number;
  /** Not protected and enabled: the base of a `5%` disable threshold. */
  managedEnabled: number;
}

const EMPTY_GUID = "00000000-0000-0000-0000-000000000000";
const PROTECTED_ACCESS_MODES = new Set([3, 4, 5]);
const NO_HOLDERS: readonly IndexedUser[] = Object.freeze([]);

function guidOrNull(value: ColumnValue | undefined): string | null {
  if (typeof value !== "string") return null;
  const v = value.trim().toLowerCase();
  return v === "" || v === EMPTY_GUID ? null : v;
}

function stringOrNull(value: ColumnValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : String(value);
}

/** Key of a domain name in the index: trimmed and lower-cased (Dataverse compares it case-insensitively). */
export function domainNameKey(name: string): string {
  return name.trim().toLowerCase();
}

/** Key of a directory object id (Graph and Dataverse both use GUIDs; compare lower-cased). */
export function objectIdKey(id: string): string {
  return id.trim().toLowerCase();
}

/** Application users (applicationid set) and support / non-interactive / delegated-admin users. */
export function isProtected(user: IndexedUser): boolean {
  return user.applicationId !== null || (user.accessMode !== null && PROTECTED_ACCESS_MODES.has(user.accessMode));
}

/** `isProtected` for a row as read (e.g. when only counting). */
export function isProtectedRow(row: SystemUser): boolean {
  return guidOrNull(row.applicationid) !== null || (typeof row.accessmode === "number" && PROTECTED_ACCESS_MODES.has(row.accessmode));
}

/** The systemuser columns to `$select` when reading an org for the index. */
export function indexSelect(map: AttributeMap, anchor: string = ONLINE_ANCHOR): string[] {
  const select = new Set(["systemuserid", anchor, DOMAIN_NAME_COLUMN, "isdisabled", "accessmode", "applicationid"]);
  for (const entry of map.entries) select.add(entry.column);
  return [...select];
}

export class UserIndex {
  readonly columns: readonly string[];
  private readonly position = new Map<string, number>();
  private readonly byId = new Map<string, IndexedUser>();
  private readonly byObject = new Map<string, IndexedUser>();
  // One holder in the common case; an array only when several records share a name.
  private readonly byName = new Map<string, IndexedUser | IndexedUser[]>();

  /** `anchor`: the column holding the record's directory object id (identity.ts `anchorColumn`). */
  constructor(map: AttributeMap, private readonly anchor: string = ONLINE_ANCHOR) {
    this.columns = map.entries.map((e) => e.column);
    this.columns.forEach((c, i) => this.position.set(c, i));
  }

  get size(): number {
    return this.byId.size;
  }

  /** Adds (or replaces, by systemuserid) the rows of one page. */
  addPage(rows: readonly SystemUser[]): void {
    for (const row of rows) this.addRow(row);
  }

  /**
   * Adds the rows not indexed yet (by systemuserid); known records keep the index's view, which already holds
   * this run's writes (or, in a dry run, its plans) that a re-read would undo.
   */
  addNew(rows: readonly SystemUser[]): void {
    for (const row of rows) if (!this.byId.has(row.systemuserid.toLowerCase())) this.addRow(row);
  }

  addRow(row: SystemUser): IndexedUser {
    const values = this.columns.map((column) => stringOrNull(row[column]));
    const accessMode = typeof row.accessmode === "number" ? row.accessmode : null;
    return this.insert({
      systemUserId: row.systemuserid.toLowerCase(),
      objectId: guidOrNull(row[this.anchor]),
      domainName: stringOrNull(row.domainname),
      disabled: row.isdisabled === true,
      accessMode,
      applicationId: guidOrNull(row.applicationid),
      values: packValues(values),
    });
  }

  /** Adds a record the run itself created (not read from Dataverse). */
  insert(user: IndexedUser): IndexedUser {
    const previous = this.byId.get(user.systemUserId);
    if (previous) this.remove(previous);
    this.byId.set(user.systemUserId, user);
    if (user.objectId !== null) this.byObject.set(user.objectId, user);
    if (user.domainName !== null) this.addName(user);
    return user;
  }

  get(systemUserId: string): IndexedUser | undefined {
    return this.byId.get(systemUserId.toLowerCase());
  }

  byObjectId(objectId: string): IndexedUser | undefined {
    return this.byObject.get(objectIdKey(objectId));
  }

  /** Every record whose domainname equals `name` case-insensitively. */
  holdersOf(name: string): readonly IndexedUser[] {
    const held = this.byName.get(domainNameKey(name));
    if (held === undefined) return NO_HOLDERS;
    return Array.isArray(held) ? held : [held];
  }

  /** A mapped column's value (undefined when the column is not indexed). */
  value(user: IndexedUser, column: string): string | null | undefined {
    const i = this.position.get(column);
    if (i === undefined) return undefined;
    return typeof user.values === "string" ? packedField(user.values, i) : user.values[i]!;
  }

  setValue(user: IndexedUser, column: string, value: string | null): void {
    if (column === DOMAIN_NAME_COLUMN) {
      this.setDomainName(user, value);
      return;
    }
    const i = this.position.get(column);
    if (i === undefined) return;
    const values = unpackValues(user.values, this.columns.length);
    values[i] = value;
    user.values = packValues(values);
  }

  setDomainName(user: IndexedUser, name: string | null): void {
    if (user.domainName !== null) this.removeName(user);
    user.domainName = name;
    if (name !== null) this.addName(user);
  }

  /** Records the directory object a record without one belongs to (see plan.ts `claim`). */
  linkObjectId(user: IndexedUser, objectId: string): void {
    if (user.objectId !== null && this.byObject.get(user.objectId) === user) this.byObject.delete(user.objectId);
    user.objectId = objectIdKey(objectId);
    this.byObject.set(user.objectId, user);
  }

  /** The packed values of a record with `columns`' values (a column absent: null), for `insert`. */
  valuesOf(columns: Readonly<Record<string, string | null | undefined>>): PackedValues {
    return packValues(this.columns.map((column) => columns[column] ?? null));
  }

  records(): IterableIterator<IndexedUser> {
    return this.byId.values();
  }

  stats(): IndexStats {
    let prot = 0;
    let enabled = 0;
    for (const user of this.byId.values()) {
      if (isProtected(user)) prot++;
      else if (!user.disabled) enabled++;
    }
    return { total: this.byId.size, protected: prot, managed: this.byId.size - prot, managedEnabled: enabled };
  }

  private remove(user: IndexedUser): void {
    this.byId.delete(user.systemUserId);
    if (user.objectId !== null && this.byObject.get(user.objectId) === user) this.byObject.delete(user.objectId);
    if (user.domainName !== null) this.removeName(user);
  }

  private addName(user: IndexedUser): void {
    const key = domainNameKey(user.domainName!);
    const held = this.byName.get(key);
    if (held === undefined) this.byName.set(key, user);
    else if (Array.isArray(held)) held.push(user);
    else if (held !== user) this.byName.set(key, [held, user]);
  }

  private removeName(user: IndexedUser): void {
    const key = domainNameKey(user.domainName!);
    const held = this.byName.get(key);
    if (held === user) this.byName.delete(key);
    else if (Array.isArray(held)) {
      const rest = held.filter((u) => u !== user);
      if (rest.length === 0) this.byName.delete(key);
      else this.byName.set(key, rest.length === 1 ? rest[0]! : rest);
    }
  }
}

/** Builds an index from pages (e.g. `for await (const page of org.listSystemUsers(indexSelect(map)))`). */
export function buildUserIndex(map: AttributeMap, pages: Iterable<readonly SystemUser[]>, anchor: string = ONLINE_ANCHOR): UserIndex {
  const index = new UserIndex(map, anchor);
  for (const page of pages) index.addPage(page);
  return index;
}
