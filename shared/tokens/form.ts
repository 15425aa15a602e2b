// The token request's form body as name → values, and RFC 6749 §3.2's "parameters MUST NOT be included
// more than once" (RFC 8693 lets `resource` and `audience` repeat).
import { OAuthError } from "./oauth-errors.js";

export type TokenForm = ReadonlyMap<string, readonly string[]>;

export function parseForm(body: string): TokenForm {
  const form = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    const values = form.get(name);
    if (values) values.push(value);
    else form.set(name, [value]);
  }
  return form;
}

/** The parameter's value; undefined when absent or empty (RFC 6749 §3.1: empty = omitted). */
export function single(form: TokenForm, name: string): string | undefined {
  const values = form.get(name);
  if (!values) return undefined;
  // Read several times per request: the usual one value is checked without building a filtered copy.
  if (values.length === 1) return values[0] === "" ? undefined : values[0];
  const given = values.filter((v) => v !== "");
  if (given.length > 1) throw new OAuthError("invalid_request", `the ${name} parameter appears more than once`, { reason: "duplicate_parameter" });
  return given[0];
}

export function many(form: TokenForm, name: string): string[] {
  return (form.get(name) ?? []).filter((v) => v !== "");
}
