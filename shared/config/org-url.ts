// Org URLs compare case-insensitively and without trailing slashes, wherever they come from
// (DATAVERSE_URLS, TOKEN_CALLERS, a request body, a token request's resource).
export function normalizeOrgUrl(url: string): string {
  return url.trim().replace(/\/+$/, "").toLowerCase();
}
