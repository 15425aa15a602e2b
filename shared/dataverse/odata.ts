// OData literals and query strings. Every value that reaches a `$filter` goes through here, so a name like
// o'brien (or an injection attempt) can never change the query's meaning.

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class ODataLiteralError extends AppError<"odata_literal_invalid"> {
  override name = "ODataLiteralError";
  constructor(message: string) {
    super(message, undefined, "odata_literal_invalid");
  }
}

export const isGuid = (value: string): boolean => GUID_RE.test(value);

import { escapeODataString } from "../odata/literal.js";
import { AppError } from "../errors/app-error.js";

/** A string literal: quoted, single quotes doubled. */
export const stringLiteral = escapeODataString;

/** A GUID literal: validated, unquoted, lower case. */
export function guidLiteral(value: string): string {
  if (!isGuid(value)) throw new ODataLiteralError(`not a GUID: ${JSON.stringify(value.slice(0, 80))}`);
  return value.toLowerCase();
}

export type Literal = string | number | boolean | null | { guid: string };

export function literal(value: Literal): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ODataLiteralError(`not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === "string") return stringLiteral(value);
  return guidLiteral(value.guid);
}

/** A column or property name; anything else is refused rather than escaped. */
export function identifier(name: string): string {
  if (!IDENTIFIER_RE.test(name)) throw new ODataLiteralError(`not a valid column name: ${JSON.stringify(name.slice(0, 80))}`);
  return name;
}

/** `col eq <literal>`. */
export const eq = (column: string, value: Literal): string => `${identifier(column)} eq ${literal(value)}`;
export const ne = (column: string, value: Literal): string => `${identifier(column)} ne ${literal(value)}`;
export const and = (...clauses: string[]): string => clauses.map((c) => `(${c})`).join(" and ");
export const or = (...clauses: string[]): string => clauses.map((c) => `(${c})`).join(" or ");

/**
 * `Microsoft.Dynamics.CRM.In(PropertyName='col',PropertyValues=['a','b'])`: the documented query function; its
 * values are a Collection(Edm.String), so every value (GUIDs too) is a quoted, escaped string literal.
 */
export const inValues = (column: string, values: readonly string[]): string =>
  `Microsoft.Dynamics.CRM.In(PropertyName=${stringLiteral(identifier(column))},PropertyValues=[${values.map(stringLiteral).join(",")}])`;


/**
 * A query string from system query options. Values are percent-encoded (so `&`, `#`, `+` and `%` in
 * literals survive); `$` in option names stays literal, as Dataverse expects.
 */
export function queryString(options: Record<string, string | undefined>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    parts.push(`${key}=${encodeURIComponent(value)}`);
  }
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/** `$select` value: validated names, the key always included. */
export function selectList(columns: readonly string[], key?: string): string {
  const names = new Set(columns.map(identifier));
  if (key) names.add(identifier(key));
  return [...names].join(",");
}
