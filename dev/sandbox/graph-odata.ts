// Graph-shaped responses and OData query helpers shared by the Graph emulator's routes:
// error bodies, query-option access, $select projection of users and opaque paging tokens.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./https-service.js";
import type { DirectoryUser } from "./directory.js";

export class GraphHttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** Every Graph response carries `request-id` / `client-request-id`; errors repeat them in `innerError`. */
export function requestIds(req: IncomingMessage): { requestId: string; clientRequestId: string } {
  const requestId = randomUUID();
  const header = req.headers["client-request-id"];
  return { requestId, clientRequestId: (Array.isArray(header) ? header[0] : header) ?? requestId };
}

export function sendGraph(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const { requestId, clientRequestId } = requestIds(req);
  sendJson(res, status, body, { "request-id": requestId, "client-request-id": clientRequestId, "odata-version": "4.0", ...headers });
}

export function sendGraphError(req: IncomingMessage, res: ServerResponse, err: GraphHttpError): void {
  const { requestId, clientRequestId } = requestIds(req);
  const body = {
    error: {
      code: err.code,
      message: err.message,
      innerError: { date: new Date().toISOString().replace(/\.\d{3}Z$/, ""), "request-id": requestId, "client-request-id": clientRequestId },
    },
  };
  sendJson(res, err.status, body, { "request-id": requestId, "client-request-id": clientRequestId, ...err.headers });
}

/** OData system query options, looked up case-insensitively (`$deltaToken` and `$deltatoken` both occur). */
export class QueryOptions {
  private readonly map = new Map<string, string>();
  constructor(readonly params: URLSearchParams) {
    for (const [k, v] of params) this.map.set(k.toLowerCase(), v);
  }
  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase());
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
}

/** `Prefer: odata.maxpagesize=N` (clamped to `max`), else the default. */
export function preferredPageSize(req: IncomingMessage, fallback: number, max: number): { size: number; applied?: string } {
  const prefer = String(req.headers.prefer ?? "");
  const match = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer);
  if (!match) return { size: Math.min(fallback, max) };
  const size = Math.max(1, Math.min(Number(match[1]), max));
  return { size, applied: `odata.maxpagesize=${size}` };
}

// Properties the sandbox knows for microsoft.graph.user; the ones the Directory doesn't model answer defaults.
const USER_DEFAULTS: Record<string, unknown> = {
  businessPhones: [],
  officeLocation: null,
  preferredLanguage: null,
  department: null,
  employeeId: null,
  companyName: null,
  userType: "Member",
  onPremisesUserPrincipalName: null,
  otherMails: [],
  proxyAddresses: [],
  usageLocation: null,
};
const MODELLED = ["id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle", "mobilePhone",
  "accountEnabled", "onPremisesSamAccountName", "onPremisesDomainName", "onPremisesSyncEnabled", "onPremisesImmutableId", "assignedLicenses"] as const;
export const USER_PROPERTIES = new Set<string>([...MODELLED, ...Object.keys(USER_DEFAULTS)]);
/** What `GET /users` answers without `$select`. */
export const DEFAULT_USER_SELECT = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
  "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"];

/** Parses `$select`; unknown properties answer 400 like Graph. Matching is case-insensitive, output uses Graph's casing. */
export function parseSelect(raw: string | undefined, known: Set<string>, type = "microsoft.graph.user"): string[] | null {
  if (raw === undefined || raw.trim() === "") return null;
  const byLower = new Map([...known].map((p) => [p.toLowerCase(), p]));
  const out: string[] = [];
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const name = byLower.get(part.toLowerCase());
    if (!name) throw new GraphHttpError(400, "Request_BadRequest", `Could not find a property named '${part}' on type '${type}'.`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

export function userValue(user: DirectoryUser, prop: string): unknown {
  if (prop in USER_DEFAULTS) return USER_DEFAULTS[prop];
  return (user as unknown as Record<string, unknown>)[prop];
}

export function projectUser(user: DirectoryUser, select: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const prop of select) out[prop] = userValue(user, prop);
  return out;
}

/** Opaque paging/delta tokens: base64url JSON, so a client can't (and shouldn't) build them. */
export function encodeToken(state: object): string {
  return Buffer.from(JSON.stringify(state)).toString("base64url");
}

export function decodeToken<T>(token: string, kind: string): T {
  try {
    const state = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { k?: string };
    if (state && state.k === kind) return state as T;
  } catch {
    // fall through
  }
  throw new GraphHttpError(400, "Request_BadRequest", "The specified token is invalid or malformed.");
}

export function contextUrl(base: string, fragment: string): string {
  return `${base}/v1.0/$metadata#${fragment}`;
}
