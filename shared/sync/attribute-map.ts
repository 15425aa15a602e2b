// SYNC_ATTRIBUTE_MAP: the attribute map type and its parser. A leaf module: configuration reads the
// map through it, and mapping.ts applies it. Pure: no I/O.
//
// Format: a JSON object merged over the default map, keyed by target systemuser column:
//   "column": "graphAttribute"          take that attribute
//   "column": ["first", "second", …]    the first non-empty of them
//   "column": null                      do not sync that column
// A source may name one nested property with a dot (`onPremisesExtensionAttributes.extensionAttribute1`).
// `domainname` is not in the map: it always follows SYNC_IDENTITY and cannot be overridden or removed.
import { AppError, errorMessage } from "../errors/app-error.js";

/** Writable string columns of systemuser and their maximum lengths (dataverse-web-api.md §5). */
export const COLUMN_MAX_LENGTH: Readonly<Record<string, number>> = Object.freeze({
  domainname: 1024,
  windowsliveid: 1024,
  internalemailaddress: 100,
  firstname: 256,
  lastname: 256,
  middlename: 50,
  nickname: 50,
  jobtitle: 100,
  mobilephone: 64,
  title: 128,
  homephone: 50,
  employeeid: 100,
  personalemailaddress: 100,
  sharepointemailaddress: 1024,
  photourl: 200,
  salutation: 20,
});

export const DOMAIN_NAME_COLUMN = "domainname";

/** One Graph attribute, possibly `top.sub` for a property of a complex attribute. */
export interface SourceRef {
  readonly attribute: string;
  readonly top: string;
  readonly sub?: string;
}

export interface AttributeMapping {
  readonly column: string;
  /** First non-empty wins. */
  readonly sources: readonly SourceRef[];
  readonly maxLength: number;
}

/** The parsed map, without `domainname` (which follows the identity setting). Entries are in a stable order. */
export interface AttributeMap {
  readonly entries: readonly AttributeMapping[];
}

const DEFAULT_SPEC: Readonly<Record<string, string | string[]>> = {
  firstname: "givenName",
  lastname: "surname",
  internalemailaddress: ["mail", "userPrincipalName"],
  jobtitle: "jobTitle",
  mobilephone: "mobilePhone",
};

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$/;

function sourceRef(attribute: string): SourceRef {
  const dot = attribute.indexOf(".");
  return dot < 0 ? { attribute, top: attribute } : { attribute, top: attribute.slice(0, dot), sub: attribute.slice(dot + 1) };
}

function buildMap(spec: Readonly<Record<string, readonly string[] | null>>): AttributeMap {
  const entries: AttributeMapping[] = [];
  for (const column of Object.keys(spec).sort()) {
    const sources = spec[column];
    if (sources) entries.push({ column, sources: sources.map(sourceRef), maxLength: COLUMN_MAX_LENGTH[column]! });
  }
  return { entries };
}

function normalizedDefault(): Record<string, readonly string[] | null> {
  const spec: Record<string, readonly string[] | null> = {};
  for (const [column, source] of Object.entries(DEFAULT_SPEC)) spec[column] = typeof source === "string" ? [source] : source;
  return spec;
}

export const DEFAULT_ATTRIBUTE_MAP: AttributeMap = buildMap(normalizedDefault());

/** Thrown for an invalid SYNC_ATTRIBUTE_MAP; `problems` lists every one (the message joins them). */
export class AttributeMapError extends AppError<"attribute_map_invalid"> {
  override name = "AttributeMapError";
  constructor(readonly problems: string[]) {
    super(problems.join("; "), undefined, "attribute_map_invalid");
  }
}

function checkSource(column: string, value: unknown, problems: string[]): string | undefined {
  if (typeof value !== "string" || !ATTRIBUTE_NAME.test(value.trim())) {
    problems.push(`"${column}": ${JSON.stringify(value)} is not a Graph attribute name (like "jobTitle" or "onPremisesExtensionAttributes.extensionAttribute1")`);
    return undefined;
  }
  return value.trim();
}

/**
 * Parses SYNC_ATTRIBUTE_MAP (undefined/blank = the default map). Throws AttributeMapError naming every problem,
 * without echoing the whole setting.
 */
export function parseAttributeMap(json: string | undefined): AttributeMap {
  if (json === undefined || json.trim() === "") return DEFAULT_ATTRIBUTE_MAP;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new AttributeMapError([`is not valid JSON (${errorMessage(error)})`]);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new AttributeMapError([`must be a JSON object of target column → Graph attribute, list of attributes, or null (e.g. {"jobtitle":"department","mobilephone":null})`]);
  }
  const problems: string[] = [];
  const spec = normalizedDefault();
  for (const [column, value] of Object.entries(raw as Record<string, unknown>)) {
    if (column === DOMAIN_NAME_COLUMN) {
      problems.push(`"domainname" cannot be overridden or removed: it follows SYNC_IDENTITY (upn or sam)`);
      continue;
    }
    if (!Object.hasOwn(COLUMN_MAX_LENGTH, column)) {
      const lower = column.toLowerCase();
      const hint = lower !== column && Object.hasOwn(COLUMN_MAX_LENGTH, lower) ? ` (did you mean "${lower}"?)` : "";
      const allowed = Object.keys(COLUMN_MAX_LENGTH).filter((c) => c !== DOMAIN_NAME_COLUMN).join(", ");
      problems.push(`unknown target column "${column}"${hint}; allowed: ${allowed}`);
      continue;
    }
    if (value === null) {
      spec[column] = null;
    } else if (Array.isArray(value)) {
      if (value.length === 0) {
        problems.push(`"${column}": the list of attributes is empty (use null to stop syncing the column)`);
        continue;
      }
      const sources = value.map((v) => checkSource(column, v, problems));
      if (sources.every((s): s is string => s !== undefined)) spec[column] = [...new Set(sources)];
    } else {
      const source = checkSource(column, value, problems);
      if (source !== undefined) spec[column] = [source];
    }
  }
  if (problems.length > 0) throw new AttributeMapError(problems);
  return buildMap(spec);
}
