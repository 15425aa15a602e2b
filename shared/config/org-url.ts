import { AppError } from "../errors/app-error.js";

// Org URLs compare case-insensitively and without trailing slashes, wherever they come from
// (DATAVERSE_URLS, TOKEN_CALLERS, a request body, a token request's resource).
export function normalizeOrgUrl(url: string): string {
  return url.trim().replace(/\/+$/, "").toLowerCase();
}

/**
 * The one rule for choosing an org (sync, remap, bulk remap, org clients): a named org must be configured (400
 * `unknown_org` everywhere, naming the settings); none named is fine when exactly one org is configured.
 */
export function resolveOrg(configured: readonly string[], requested: string | undefined): string {
  if (requested === undefined || requested.trim() === "") {
    if (configured.length === 1) return configured[0]!;
    throw new AppError(`Several Dataverse orgs are configured; name one with "org".`, 400, "org_required", { detail: { orgs: [...configured] } });
  }
  const org = normalizeOrgUrl(requested);
  if (!configured.includes(org)) throw unknownOrg(requested);
  return org;
}

export const unknownOrg = (requested: string) =>
  new AppError(`"${requested.slice(0, 200)}" is not one of the configured Dataverse orgs (DATAVERSE_URLS / DATAVERSE_ORGS).`, 400, "unknown_org");
