// The OpenAPI 3.1 description of every route, generated from the zod schemas the adapters
// validate with (request bodies and queries) and the response schemas in ./responses.ts.
import { z } from "zod";
import { bulkBody, remapBody } from "../remap/remap-api.js";
import { changePageQuery, runListQuery, startSyncBody } from "../sync/sync-api.js";
import { BRIDGE_VERSION } from "../version.js";
import { PROBLEM_TYPE_PREFIX, PROBLEM_TYPES, problemTypesMarkdown } from "./problem-types.js";
import * as r from "./responses.js";

type Auth = "admin" | "none" | "client" | "clientState";
/** One answer; `ref` names a shared response in components.responses instead. */
interface Answer { description: string; schema?: string; contentType?: string; headers?: string[]; ref?: string; example?: unknown }
interface Operation {
  method: "get" | "post";
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: { schema: string; contentType?: string; required?: boolean };
  query?: z.ZodObject;
  /** Request headers, by name in components.parameters. */
  headers?: string[];
  responses: Record<number, Answer>;
}

/** Where the document's OAuth 2.0 flow signs in: Entra's authority and tenant, and the API's audience. */
export interface SignInDescription {
  authorityHost: string;
  tenantId: string;
  audience: string;
}

/** Every schema the document names, by component name; request schemas are described as clients send them. */
const SCHEMAS: Record<string, { schema: z.ZodType; io: "input" | "output" }> = {
  Problem: { schema: r.problemDetails, io: "output" },
  OpenApiDocument: { schema: r.openApiDoc, io: "output" },
  Health: { schema: r.health, io: "output" },
  StartSyncRequest: { schema: startSyncBody, io: "input" },
  SyncStarted: { schema: r.syncStarted, io: "output" },
  SyncApproved: { schema: r.syncApproved, io: "output" },
  RunReport: { schema: r.runReport, io: "output" },
  RunList: { schema: r.runList, io: "output" },
  SyncStatus: { schema: r.syncStatus, io: "output" },
  OneUserSync: { schema: r.oneUserSync, io: "output" },
  UserLookup: { schema: r.userLookup, io: "output" },
  NotificationSubscription: { schema: r.subscription, io: "output" },
  RemapRequest: { schema: remapBody, io: "input" },
  RemapResult: { schema: r.remapResult, io: "output" },
  BulkRemapRequest: { schema: bulkBody, io: "input" },
  BulkRemapAccepted: { schema: r.bulkAccepted, io: "output" },
  BulkRemapJob: { schema: r.bulkJob, io: "output" },
  TokenRequest: { schema: r.tokenRequest, io: "input" },
  TokenResponse: { schema: r.tokenResponse, io: "output" },
  OAuthError: { schema: r.oauthError, io: "output" },
  Callers: { schema: r.callers, io: "output" },
  Access: { schema: r.access, io: "output" },
  ProvisionRequest: { schema: r.provisionBody, io: "input" },
  ProvisionResult: { schema: r.provisionResult, io: "output" },
  Readiness: { schema: r.readiness, io: "output" },
  AuthorizationServerMetadata: { schema: r.authorizationServerMetadata, io: "output" },
};

const problem = (description: string): Answer => ({ description, schema: "Problem", contentType: "application/problem+json" });
const shared = (ref: string): Answer => ({ description: ref, ref });

/** Problem answers many routes share (components.responses), each with an example per problem type it may carry. */
const SHARED_PROBLEMS: Record<string, Answer & { codes: string[] }> = {
  Unauthorized: { ...problem("missing or invalid bearer token"), headers: ["WWW-Authenticate"], codes: ["missing_token", "invalid_token"] },
  Forbidden: { ...problem("the token lacks the admin app role (ADMIN_ROLE)"), codes: ["missing_role"] },
  InvalidBody: { ...problem("invalid body or query: `detail` names the field, the repeated key or the unknown query parameter"), codes: ["invalid_body", "malformed_json", "missing_body", "duplicate_key", "json_too_complex", "unknown_query_parameter", "unknown_org", "org_required"] },
  ContentTooLarge: { ...problem("body over 1 MiB"), codes: ["body_too_large"] },
  UnsupportedMediaType: { ...problem("body is not application/json"), codes: ["unsupported_media_type"] },
  Unavailable: { ...problem("the bridge cannot serve the request now: configuration, Key Vault or Entra; `type` names the cause"), headers: ["Retry-After"], codes: ["configuration_invalid", "metadata_unavailable", "key_vault_unavailable", "key_vault_forbidden", "key_vault_secret_not_found", "managed_identity_no_token"] },
  RemapFailed: { ...problem("the remap failed in Dataverse or Graph; `type` says whether it was rolled back or is left to the recovery pass"), codes: ["remap_rolled_back", "remap_incomplete", "remap_unverified", "graph_unavailable"] },
  RemapUnavailable: { ...problem("the remap could not start now: no temporary account, a lost lease or invalid configuration; retry later"), headers: ["Retry-After"], codes: ["placeholder_busy", "no_placeholder", "lease_lost", "configuration_invalid"] },
};
const ADMIN_ERRORS: Record<number, Answer> = { 401: shared("Unauthorized"), 403: shared("Forbidden"), 503: shared("Unavailable") };
const BAD_BODY: Record<number, Answer> = { 400: shared("InvalidBody"), 413: shared("ContentTooLarge"), 415: shared("UnsupportedMediaType") };
const REMAP_ERRORS: Record<number, Answer> = { 502: shared("RemapFailed"), 503: shared("RemapUnavailable") };
/** Every route refuses a query parameter it does not take (`?dryRun=true` is never silently ignored). */
const UNKNOWN_QUERY: Answer = shared("InvalidBody");
/** Graph's subscription validation request is the webhook's one query parameter. */
const notificationQuery = z.object({ validationToken: z.string().min(1).max(8192).optional() });
const oauth = (description: string): Answer => ({ description, schema: "OAuthError" });

const OPERATIONS: Operation[] = [
  { method: "get", path: "/api/health", operationId: "getHealth", summary: "Liveness", tag: "health", auth: "none",
    responses: { 200: { description: "alive", schema: "Health" } } },
  { method: "get", path: "/api/openapi.json", operationId: "getOpenApi", summary: "This OpenAPI description", tag: "health", auth: "none",
    responses: { 200: { description: "the OpenAPI 3.1 document", schema: "OpenApiDocument", headers: ["ETag"] }, 304: { description: "not modified (If-None-Match named the current ETag)", headers: ["ETag"] } } },
  { method: "get", path: "/api/ready", operationId: "getReadiness", summary: "Readiness of every dependency, each with timing and a named cause", tag: "health", auth: "admin",
    responses: { 200: { description: "ready", schema: "Readiness" }, 503: { ...problem("not ready: `detail` names the failing checks; `ready`, `checkedAt` and `checks` as in 200"), headers: ["Retry-After"] } } },
  { method: "post", path: "/api/sync", operationId: "startSync", summary: "Start a sync run (or a dry run) for one org", tag: "sync", auth: "admin",
    body: { schema: "StartSyncRequest", required: false },
    responses: { 202: { description: "queued", schema: "SyncStarted", example: { runId: "8d1c6f5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f", statusUrl: "https://bridge.contoso.com/api/sync/runs/8d1c6f5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f" } }, ...BAD_BODY, 404: problem("unknown org"), 409: problem("a run for the org is in progress or halted; names its runId") } },
  { method: "get", path: "/api/sync/runs", operationId: "listSyncRuns", summary: "The newest runs, newest first", tag: "sync", auth: "admin", query: runListQuery,
    responses: { 200: { description: "runs without their change lists", schema: "RunList" }, 400: problem("invalid query"), 404: problem("unknown org") } },
  { method: "get", path: "/api/sync/runs/{runId}", operationId: "getSyncRun", summary: "A run's report, its change list in pages", tag: "sync", auth: "admin", query: changePageQuery,
    responses: { 200: { description: "the report", schema: "RunReport" }, 400: problem("invalid query"), 404: problem("no such run") } },
  { method: "post", path: "/api/sync/runs/{runId}/approve", operationId: "approveSyncRun", summary: "Let a run halted by the disable or access removal threshold go on", tag: "sync", auth: "admin",
    responses: { 202: { description: "approved; the run goes on", schema: "SyncApproved" }, 404: problem("no such run"), 409: problem("the run is not halted") } },
  { method: "get", path: "/api/sync/status", operationId: "getSyncStatus", summary: "Per org: state, last run, cursor age, next run, back-off", tag: "sync", auth: "admin",
    responses: { 200: { description: "status per org", schema: "SyncStatus" } } },
  { method: "post", path: "/api/users/{objectIdOrUpn}/sync", operationId: "syncUser", summary: "Sync one user now, in every org", tag: "users", auth: "admin",
    responses: { 200: { description: "what changed, per org", schema: "OneUserSync" }, 404: problem("no such directory user") } },
  { method: "get", path: "/api/users/{objectIdOrUpn}", operationId: "lookUpUser", summary: "The directory user beside each org's records, and what a sync would change", tag: "users", auth: "admin",
    responses: { 200: { description: "the user, per org", schema: "UserLookup" }, 404: problem("no such directory user") } },
  { method: "post", path: "/api/users/remap", operationId: "remapUser", summary: "Remap one Dataverse user to a changed directory identity", tag: "remap", auth: "admin",
    body: { schema: "RemapRequest" }, headers: ["IdempotencyKey"],
    responses: {
      200: { description: "done (or the preview of a dry run); a repeat with the same Idempotency-Key and body gets the first answer again", schema: "RemapResult", headers: ["Idempotency-Replayed"] },
      ...BAD_BODY, 404: problem("no such Dataverse user (`user_not_found`)"),
      409: problem("the name or directory object is held by another user (`name_taken`, `object_taken`, `directory_mismatch`, `ambiguous_user`, `not_remappable`), a remap of the user is running or unsettled (`remap_in_progress`, `remap_pending`), or a request with this Idempotency-Key is still being processed (`idempotency_in_progress`)"),
      422: problem("the new name is not in the directory (`not_in_directory`), or the Idempotency-Key was used with a different body (`idempotency_key_reused`)"),
      ...REMAP_ERRORS,
    } },
  { method: "post", path: "/api/users/remap/bulk", operationId: "remapBulk", summary: "Plan (dry run) or apply many remaps", tag: "remap", auth: "admin",
    body: { schema: "BulkRemapRequest" }, headers: ["IdempotencyKey"],
    responses: {
      200: { description: "the plan of a dry run", schema: "BulkRemapJob", headers: ["Idempotency-Replayed"] },
      202: { description: "applying; a repeat with the same Idempotency-Key and body gets this answer again, not a second job", schema: "BulkRemapAccepted", headers: ["Idempotency-Replayed"], example: { jobId: "3f2b8c1e-5d4a-4f6b-9c7d-1e2f3a4b5c6d", statusUrl: "https://bridge.contoso.com/api/users/remap/bulk/3f2b8c1e-5d4a-4f6b-9c7d-1e2f3a4b5c6d" } },
      ...BAD_BODY,
      409: problem("a request with this Idempotency-Key is still being processed (`idempotency_in_progress`): retry later"),
      422: problem("the Idempotency-Key was used with a different body (`idempotency_key_reused`): use a new key for a new request"),
      ...REMAP_ERRORS,
    } },
  { method: "get", path: "/api/users/remap/bulk/{jobId}", operationId: "getBulkRemap", summary: "A bulk job's plan, progress and per-user outcome", tag: "remap", auth: "admin",
    responses: { 200: { description: "the job", schema: "BulkRemapJob" }, 404: problem("no such job") } },
  { method: "get", path: "/api/callers", operationId: "listCallers", summary: "Each S2S caller's status per org", tag: "callers", auth: "admin",
    responses: { 200: { description: "callers", schema: "Callers" } } },
  { method: "get", path: "/api/access", operationId: "getAccess", summary: "Each org's ACCESS_RULES resolved, or the problem stopping each rule", tag: "access", auth: "admin",
    responses: { 200: { description: "the rules per org", schema: "Access" } } },
  { method: "post", path: "/api/callers/{id}/provision", operationId: "provisionCaller", summary: "Create a caller's missing application users and role assignments", tag: "callers", auth: "admin",
    body: { schema: "ProvisionRequest", required: false },
    responses: { 200: { description: "what was (or would be) created", schema: "ProvisionResult" }, ...BAD_BODY, 404: problem("no such caller"), 409: problem("CALLER_PROVISIONING is off, another request is provisioning the caller in an org, or the org refused a conflicting change"), 502: problem("the org refused or failed the provisioning (its error named)") } },
  { method: "post", path: "/api/token", operationId: "issueToken", summary: "OAuth 2.0 token endpoint for S2S callers", tag: "token", auth: "client",
    body: { schema: "TokenRequest", contentType: "application/x-www-form-urlencoded" },
    responses: {
      200: { description: "a Dataverse access token for the caller's own app", schema: "TokenResponse", headers: ["Cache-Control", "Pragma"] },
      400: oauth("invalid_request, invalid_grant, invalid_scope, invalid_target, unsupported_grant_type"),
      401: { ...oauth("invalid_client"), headers: ["WWW-Authenticate"] },
      413: oauth("invalid_request: the form is over 64 KiB"),
      429: { ...oauth("over the caller's rate limit, or too many failed requests from the sender's source (a valid credential is still served)"), headers: ["Retry-After"] },
    } },
  { method: "get", path: "/api/.well-known/oauth-authorization-server", operationId: "getAuthorizationServerMetadata", summary: "RFC 8414 metadata of the token endpoint", tag: "token", auth: "none",
    responses: { 200: { description: "metadata", schema: "AuthorizationServerMetadata" } } },
  { method: "get", path: "/api/notifications/subscription", operationId: "getNotificationSubscription", summary: "Webhooks on or off, and the Graph subscription with its expiry", tag: "notifications", auth: "admin",
    responses: { 200: { description: "the subscription", schema: "NotificationSubscription" } } },
  { method: "post", path: "/api/notifications", operationId: "receiveNotifications", summary: "Microsoft Graph change-notification webhook", tag: "notifications", auth: "clientState", query: notificationQuery,
    responses: {
      200: { description: "the validationToken echoed (subscription validation)", contentType: "text/plain" },
      202: { description: "accepted; syncs are queued" },
      400: problem("malformed body (not JSON, a repeated key, nesting deeper than 8, a string over 8 KiB, over 1000 items in one array or object) or validationToken"), 413: problem("body over 256 KiB"),
      429: { ...problem("this source's requests keep being refused (more than 20 a minute): answered after a 1 s pause; a delivery with our clientState is always served"), headers: ["Retry-After"] }, 503: { ...problem("could not be recorded; Graph redelivers"), headers: ["Retry-After"] },
    } },
];

const HEADER_SCHEMAS: Record<string, { description: string }> = {
  "WWW-Authenticate": { description: "Bearer challenge (RFC 6750) or Basic for a client that used the Authorization header" },
  "Cache-Control": { description: "no-store" },
  Pragma: { description: "no-cache" },
  ETag: { description: "the document's entity tag, for If-None-Match" },
  "Retry-After": { description: "seconds to wait" },
  "Idempotency-Replayed": { description: "`true` when the answer is the stored one of an earlier request with the same Idempotency-Key" },
};

const PARAMETERS: Record<string, unknown> = {
  IdempotencyKey: {
    name: "Idempotency-Key", in: "header", required: false,
    description: "Makes a retry safe: the first request with a key runs and its answer is kept for 24 h; a repeat with the same key and body gets that answer again (`Idempotency-Replayed: true`), one with another body is refused with 422, one while the first still runs with 409. Keys are scoped to the caller.",
    schema: { type: "string", minLength: 1, maxLength: 200, pattern: "^[\\x21-\\x7E]+$" },
    example: "5b0f3c5e-9a43-4c1e-8f7d-2d6c1b9a0e11",
  },
};

const problemExample = (code: string) => ({
  type: `${PROBLEM_TYPE_PREFIX}${code}`, title: TITLE_OF[PROBLEM_TYPES[code]!.status] ?? "Error", status: PROBLEM_TYPES[code]!.status, detail: PROBLEM_TYPES[code]!.meaning,
});
const TITLE_OF: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 413: "Content Too Large", 415: "Unsupported Media Type", 502: "Bad Gateway", 503: "Service Unavailable" };

function sharedResponses(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(SHARED_PROBLEMS).map(([name, { codes, ...a }]) => {
    const base = answer(a) as { content: Record<string, Record<string, unknown>> };
    base.content["application/problem+json"]!.examples = Object.fromEntries(codes.map((code) => [code, { summary: PROBLEM_TYPES[code]!.meaning, value: problemExample(code) }]));
    return [name, base];
  }));
}

function jsonSchemaOf(entry: { schema: z.ZodType; io: "input" | "output" }): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(entry.schema, { target: "draft-2020-12", io: entry.io, unrepresentable: "any" }) as Record<string, unknown>;
  return schema;
}

function pathParameters(path: string): unknown[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string", maxLength: 1024 } }));
}

function queryParameters(query: z.ZodObject | undefined): unknown[] {
  if (!query) return [];
  const schema = jsonSchemaOf({ schema: query, io: "output" }) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({ name, in: "query", required: false, schema: property }));
}

function answer(a: Answer): Record<string, unknown> {
  if (a.ref) return { $ref: `#/components/responses/${a.ref}` };
  const contentType = a.contentType ?? "application/json";
  const content = a.schema ? { [contentType]: { schema: { $ref: `#/components/schemas/${a.schema}` }, ...(a.example === undefined ? {} : { example: a.example }) } }
    : a.contentType ? { [contentType]: { schema: { type: "string" } } } : undefined;
  const headers = a.headers ? Object.fromEntries(a.headers.map((h) => [h, { schema: { type: "string" }, ...HEADER_SCHEMAS[h] }])) : undefined;
  return { description: a.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
}

const adminScope = (signIn: SignInDescription) => `${signIn.audience.replace(/\/+$/, "")}/.default`;

function security(auth: Auth, signIn: SignInDescription): unknown[] {
  switch (auth) {
    case "admin": return [{ entraOAuth: [adminScope(signIn)] }, { entraBearer: [] }];
    case "client": return [{ clientSecretBasic: [] }, {}];
    default: return [];
  }
}

function operation(op: Operation, signIn: SignInDescription): Record<string, unknown> {
  const responses = Object.fromEntries(Object.entries({ 400: UNKNOWN_QUERY, ...(op.auth === "admin" ? ADMIN_ERRORS : {}), ...op.responses })
    .sort(([a], [b]) => Number(a) - Number(b)).map(([s, a]) => [s, answer(a)]));
  return {
    operationId: op.operationId,
    summary: op.summary,
    tags: [op.tag],
    security: security(op.auth, signIn),
    ...(op.auth === "admin" ? { description: "Needs an Entra access token for API_AUDIENCE whose roles carry ADMIN_ROLE." } : {}),
    parameters: [...pathParameters(op.path), ...queryParameters(op.query), ...(op.headers ?? []).map((name) => ({ $ref: `#/components/parameters/${name}` }))],
    ...(op.body ? { requestBody: { required: op.body.required ?? true, content: { [op.body.contentType ?? "application/json"]: { schema: { $ref: `#/components/schemas/${op.body.schema}` } } } } } : {}),
    responses,
  };
}

/** Sign-in as described when the configuration is not at hand (the linter, tests): Entra's multi-tenant endpoints. */
export const EXAMPLE_SIGN_IN: SignInDescription = { authorityHost: "https://login.microsoftonline.com", tenantId: "organizations", audience: "api://identity-bridge" };

function oauthScheme(signIn: SignInDescription): Record<string, unknown> {
  const base = `${signIn.authorityHost.replace(/\/+$/, "")}/${encodeURIComponent(signIn.tenantId)}/oauth2/v2.0`;
  return {
    type: "oauth2",
    description: "Entra ID sign-in for the admin API; the token's roles must carry ADMIN_ROLE.",
    flows: { authorizationCode: { authorizationUrl: `${base}/authorize`, tokenUrl: `${base}/token`, scopes: { [adminScope(signIn)]: "call the bridge's admin API (with ADMIN_ROLE)" } } },
  };
}

/**
 * The document; `serverUrl` is the app's public origin (PUBLIC_BASE_URL), never a request's Host; `signIn` gives
 * the OAuth 2.0 flow's Entra URLs and scope (AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, API_AUDIENCE).
 */
export function openApiDocument(serverUrl?: string, signIn: SignInDescription = EXAMPLE_SIGN_IN): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operation(op, signIn);
  return {
    openapi: "3.1.0",
    info: {
      title: "Identity Bridge for Dynamics 365",
      version: BRIDGE_VERSION,
      description: `Keeps Dataverse systemusers in step with Entra ID, remaps changed logons and issues Dataverse tokens to S2S callers.\n\n${problemTypesMarkdown()}`,
      license: { name: "UNLICENSED", identifier: "UNLICENSED" },
    },
    servers: [{ url: serverUrl ?? "/", description: "the bridge's public origin" }],
    tags: [...new Set(OPERATIONS.map((o) => o.tag))].map((name) => ({ name, description: `${name} routes` })),
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([name, entry]) => [name, jsonSchemaOf(entry)])),
      responses: sharedResponses(),
      parameters: PARAMETERS,
      securitySchemes: {
        entraOAuth: oauthScheme(signIn),
        entraBearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Entra access token for API_AUDIENCE carrying ADMIN_ROLE" },
        clientSecretBasic: { type: "http", scheme: "basic", description: "client_secret_basic; client_secret_post and private_key_jwt go in the form" },
      },
    },
  };
}

/** Each operation's route as a pattern over the request path, with the query parameters it takes. */
const ACCEPTED_QUERIES = OPERATIONS.map((op) => ({
  method: op.method.toUpperCase(),
  pattern: new RegExp(`^${op.path.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}/?$`),
  names: new Set(Object.keys(op.query?.shape ?? {})),
}));

/**
 * The query parameters a route takes (its query schema's keys), or undefined for a path the document does not
 * describe (the console's files, which answer Entra's sign-in redirect and ignore their query).
 */
export function acceptedQueryParameters(method: string, pathname: string): ReadonlySet<string> | undefined {
  return ACCEPTED_QUERIES.find((route) => route.method === method.toUpperCase() && route.pattern.test(pathname))?.names;
}

/** Route templates of the document (`/api/sync/runs/{runId}`), for checks that every served route is described. */
export const documentedRoutes = (): Array<{ method: string; path: string }> => OPERATIONS.map((o) => ({ method: o.method.toUpperCase(), path: o.path }));
