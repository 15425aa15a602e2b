// The systemuser columns the emulator knows (dataverse-web-api.md §5): type, max length, and whether a
// client may set them on create/update. Read-only columns sent by a client are ignored, as the platform does.
export type ColumnType = "guid" | "string" | "boolean" | "int" | "bigint" | "datetime" | "lookup";

export interface Column {
  name: string;
  type: ColumnType;
  maxLength?: number;
  create: boolean;
  update: boolean;
  /** For lookups: the navigation property written with `<nav>@odata.bind` and the target entity set. */
  nav?: { property: string; entitySet: string; entity: string };
}

export interface SystemUserRecord {
  systemuserid: string;
  domainname: string | null;
  windowsliveid: string | null;
  internalemailaddress: string | null;
  firstname: string | null;
  lastname: string | null;
  middlename: string | null;
  nickname: string | null;
  fullname: string | null;
  jobtitle: string | null;
  title: string | null;
  mobilephone: string | null;
  homephone: string | null;
  employeeid: string | null;
  personalemailaddress: string | null;
  sharepointemailaddress: string | null;
  photourl: string | null;
  salutation: string | null;
  azureactivedirectoryobjectid: string | null;
  /** On-premises: the AD objectGUID of the domainname's account, filled by the platform. */
  activedirectoryguid: string | null;
  applicationid: string | null;
  applicationiduri: string | null;
  accessmode: number;
  isdisabled: boolean;
  issyncwithdirectory: boolean;
  islicensed: boolean;
  isintegrationuser: boolean;
  setupuser: boolean;
  azurestate: number;
  systemmanagedusertype: number;
  caltype: number;
  disabledreason: string | null;
  deletedstate: number | null;
  _businessunitid_value: string;
  _parentsystemuserid_value: string | null;
  versionnumber: number;
  createdon: string;
  modifiedon: string;
}

const s = (name: string, maxLength: number, writable = true): Column => ({ name, type: "string", maxLength, create: writable, update: writable });
const w = (name: string, type: ColumnType): Column => ({ name, type, create: true, update: true });
const ro = (name: string, type: ColumnType): Column => ({ name, type, create: false, update: false });

/** In the order a full GET lists them. */
export const COLUMNS: readonly Column[] = [
  { name: "systemuserid", type: "guid", create: true, update: false },
  s("domainname", 1024),
  s("windowsliveid", 1024),
  s("internalemailaddress", 100),
  s("firstname", 256),
  s("lastname", 256),
  s("middlename", 50),
  s("nickname", 50),
  s("fullname", 200, false),
  s("jobtitle", 100),
  s("title", 128),
  s("mobilephone", 64),
  s("homephone", 50),
  s("employeeid", 100),
  s("personalemailaddress", 100),
  s("sharepointemailaddress", 1024),
  s("photourl", 200),
  s("salutation", 20),
  ro("azureactivedirectoryobjectid", "guid"),
  ro("activedirectoryguid", "guid"),
  w("applicationid", "guid"),
  s("applicationiduri", 1024, false),
  w("accessmode", "int"),
  w("isdisabled", "boolean"),
  w("issyncwithdirectory", "boolean"),
  w("islicensed", "boolean"),
  w("isintegrationuser", "boolean"),
  w("setupuser", "boolean"),
  w("azurestate", "int"),
  w("systemmanagedusertype", "int"),
  w("caltype", "int"),
  s("disabledreason", 500, false),
  ro("deletedstate", "int"),
  { name: "_businessunitid_value", type: "lookup", create: true, update: true, nav: { property: "businessunitid", entitySet: "businessunits", entity: "businessunit" } },
  { name: "_parentsystemuserid_value", type: "lookup", create: true, update: true, nav: { property: "parentsystemuserid", entitySet: "systemusers", entity: "systemuser" } },
  ro("versionnumber", "bigint"),
  ro("createdon", "datetime"),
  ro("modifiedon", "datetime"),
];

export const COLUMN_BY_NAME = new Map(COLUMNS.map((c) => [c.name, c]));
export const COLUMN_BY_NAV = new Map(COLUMNS.filter((c) => c.nav).map((c) => [c.nav!.property, c]));

export const ENTITY_SET = "systemusers";
export const PRIMARY_KEY = "systemuserid";

/** What a query needs to know about an entity set: its names, key and columns. */
export interface EntitySchema {
  entity: string;
  set: string;
  primaryKey: string;
  columns: ReadonlyMap<string, Column>;
}

export const SYSTEMUSER_SCHEMA: EntitySchema = { entity: "systemuser", set: ENTITY_SET, primaryKey: PRIMARY_KEY, columns: COLUMN_BY_NAME };

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Default full-name format "First Last", as a new environment has. */
export function computeFullName(first: string | null, last: string | null): string | null {
  const name = [first, last].filter((p) => p !== null && p !== undefined && p !== "").join(" ").trim();
  return name === "" ? null : name;
}
