// Turns a create/update JSON body into typed column changes, with Dataverse's validation errors:
// unknown property, wrong type, too long (0x80044331). Read-only columns are dropped silently, as the
// platform does; lookups are written through `<nav>@odata.bind`.
import { DataverseError } from "./errors.js";
import { COLUMN_BY_NAME, COLUMN_BY_NAV, GUID_RE, type Column } from "./schema.js";

export type Changes = Record<string, unknown>;

const PAYLOAD_ERROR = "0x80048d19";
const payloadError = (inner: string) =>
  new DataverseError(400, PAYLOAD_ERROR,
    `Error identified in Payload provided by the user for Entity :'systemusers', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: ${inner}`);

export const lengthError = (column: string, max: number) =>
  new DataverseError(400, "0x80044331",
    `A validation error occurred.  The length of the '${column}' attribute of the 'systemuser' entity exceeded the maximum allowed length of '${max}'.`);

const EDM: Record<string, string> = { guid: "Edm.Guid", lookup: "Edm.Guid", string: "Edm.String", boolean: "Edm.Boolean", int: "Edm.Int32", bigint: "Edm.Int64", datetime: "Edm.DateTimeOffset" };

export function parseJsonBody(text: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text === "" ? "{}" : text);
  } catch {
    throw payloadError("Invalid JSON. An unexpected end of input was found in the JSON reader.");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw payloadError("An unexpected 'StartArray' node was found when reading from the JSON reader. A 'StartObject' node was expected.");
  }
  return body as Record<string, unknown>;
}

/**
 * @param resolveRef turns a `$n` Content-ID reference into the entity URL it stands for (batch change sets).
 * @returns the column changes; on create also the client-chosen `systemuserid`.
 */
export function parseChanges(
  body: Record<string, unknown>,
  mode: "create" | "update",
  resolveRef: (ref: string) => string = (r) => r,
  /** Told each column the platform ignores (not valid for this mode), so tests can see who sends them. */
  onIgnored: (column: string) => void = () => undefined,
): Changes {
  const changes: Changes = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith("@")) continue; // instance annotations (@odata.etag, @odata.context) are ignored
    const at = key.indexOf("@");
    if (at > 0) {
      const property = key.slice(0, at);
      if (key.slice(at + 1) !== "odata.bind") {
        if (!COLUMN_BY_NAME.has(property) && !COLUMN_BY_NAV.has(property)) throw undeclared(property);
        continue; // other property annotations are informational
      }
      const col = COLUMN_BY_NAV.get(property);
      if (!col) throw undeclared(property);
      if (mode === "create" ? !col.create : !col.update) { onIgnored(col.name); continue; }
      changes[col.name] = value === null ? null : bindTarget(col, resolveRef(String(value)));
      continue;
    }
    const col = COLUMN_BY_NAME.get(key);
    if (!col || col.type === "lookup") {
      throw new DataverseError(400, PAYLOAD_ERROR,
        `The property '${key}' does not exist on type 'Microsoft.Dynamics.CRM.systemuser'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
    }
    if (mode === "create" ? !col.create : !col.update) { onIgnored(col.name); continue; }
    changes[col.name] = checkValue(col, value);
  }
  return changes;
}

const undeclared = (property: string) =>
  payloadError(`An undeclared property '${property}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`);

function bindTarget(col: Column, ref: string): string {
  const m = /(?:^|\/)([A-Za-z_]+)\(\{?([0-9a-fA-F-]{36})\}?\)$/.exec(ref.trim());
  if (!m || m[1] !== col.nav!.entitySet || !GUID_RE.test(m[2]!)) {
    throw payloadError(`The URI '${ref}' in the payload is not valid for navigation property '${col.nav!.property}'.`);
  }
  return m[2]!.toLowerCase();
}

function checkValue(col: Column, value: unknown): unknown {
  const mismatch = () => payloadError(`Cannot convert the literal '${JSON.stringify(value)}' to the expected type '${EDM[col.type]}'.`);
  switch (col.type) {
    case "string":
      if (value === null) return null;
      if (typeof value !== "string") throw mismatch();
      if (col.maxLength !== undefined && value.length > col.maxLength) throw lengthError(col.name, col.maxLength);
      return value;
    case "guid":
      if (value === null) return null;
      if (typeof value !== "string" || !GUID_RE.test(value)) throw mismatch();
      return value.toLowerCase();
    case "boolean":
      if (typeof value !== "boolean") throw mismatch();
      return value;
    case "int":
    case "bigint":
      if (typeof value !== "number" || !Number.isInteger(value)) throw mismatch();
      return value;
    default:
      return value;
  }
}
