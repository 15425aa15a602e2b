// The OpenAPI 3.1 description of every route (contract §2), generated from the zod schemas the adapters
// validate with (request bodies and queries) and the response schemas in ./responses.ts.
import { z } from "zod";
import { bulkBody, remapBody } from "../remap/remap-api.js";
import { changePageQuery, runListQuery, startSyncBody } from "../sync/sync-api.js";
import { BRIDGE_VERSION } from "../version.js";
import * as r from "./responses.js";

type Auth = "admin" | "none" | "client" | "clientState";
interface Answer { description: string; schema?: string; contentType?: string; headers?: string[] }
interface Operation {
  method: "get" | "post";
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: { schema: string; contentType?: string; required?: boolean };
  query?: z.ZodObject;
  responses: Record<number, Answer>;
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
const ADMIN_ERRORS: Record<number, Answer> = {
  401: { ...problem("missing or invalid bearer token"), headers: ["WWW-Authenticate"] },
  403: problem(`the token lacks the admin app role`),
};
const BAD_BODY: Record<number, Answer> = { 400: problem("invalid body, naming the field"), 413: problem("body over 1 MiB"), 415: problem("body is not JSON") };
const oauth = (description: string): Answer => ({ description, schema: "OAuthError" });

const OPERATIONS: Operation[] = [
  { method: "get", path: "/api/health", operationId: "getHealth", summary: "Liveness", tag: "health", auth: "none",
    responses: { 200: { description: "alive", schema: "Health" } } },
  { method: "get", path: "/api/openapi.json", operationId: "getOpenApi", summary: "This OpenAPI description", tag: "health", auth: "none",
    responses: { 200: { description: "the OpenAPI 3.1 document", schema: "OpenApiDocument" } } },
  { method: "get", path: "/api/ready", operationId: "getReadiness", summary: "Readiness of every dependency, each with timing and a named cause", tag: "health", auth: "admin",
    responses: { 200: { description: "ready", schema: "Readiness" }, 503: { ...problem("not ready: `detail` names the failing checks; `ready`, `checkedAt` and `checks` as in 200"), headers: ["Retry-After"] } } },
  { method: "post", path: "/api/sync", operationId: "startSync", summary: "Start a sync run (or a dry run) for one org", tag: "sync", auth: "admin",
    body: { schema: "StartSyncRequest", required: false },
    responses: { 202: { description: "queued", schema: "SyncStarted" }, ...BAD_BODY, 404: problem("unknown org"), 409: problem("a run for the org is in progress or halted; names its runId") } },
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
    body: { schema: "RemapRequest" },
    responses: { 200: { description: "done (or the preview of a dry run)", schema: "RemapResult" }, ...BAD_BODY, 404: problem("no such Dataverse user"), 409: problem("the name or directory object is held by another user"), 422: problem("the new name is not in the directory") } },
  { method: "post", path: "/api/users/remap/bulk", operationId: "remapBulk", summary: "Plan (dry run) or apply many remaps", tag: "remap", auth: "admin",
    body: { schema: "BulkRemapRequest" },
    responses: { 200: { description: "the plan of a dry run", schema: "BulkRemapJob" }, 202: { description: "applying", schema: "BulkRemapAccepted" }, ...BAD_BODY, 409: problem("an Idempotency-Key reused with another body") } },
  { method: "get", path: "/api/users/remap/bulk/{jobId}", operationId: "getBulkRemap", summary: "A bulk job's plan, progress and per-user outcome", tag: "remap", auth: "admin",
    responses: { 200: { description: "the job", schema: "BulkRemapJob" }, 404: problem("no such job") } },
  { method: "get", path: "/api/callers", operationId: "listCallers", summary: "Each S2S caller's status per org", tag: "callers", auth: "admin",
    responses: { 200: { description: "callers", schema: "Callers" } } },
  { method: "get", path: "/api/access", operationId: "getAccess", summary: "Each org's ACCESS_RULES resolved, or the problem stopping each rule", tag: "access", auth: "admin",
    responses: { 200: { description: "the rules per org", schema: "Access" } } },
  { method: "post", path: "/api/callers/{id}/provision", operationId: "provisionCaller", summary: "Create a caller's missing application users and role assignments", tag: "callers", auth: "admin",
    body: { schema: "ProvisionRequest", required: false },
    responses: { 200: { description: "what was (or would be) created", schema: "ProvisionResult" }, ...BAD_BODY, 404: problem("no such caller"), 409: problem("CALLER_PROVISIONING is off") } },
  { method: "post", path: "/api/token", operationId: "issueToken", summary: "OAuth 2.0 token endpoint for S2S callers", tag: "token", auth: "client",
    body: { schema: "TokenRequest", contentType: "application/x-www-form-urlencoded" },
    responses: {
      200: { description: "a Dataverse access token for the caller's own app", schema: "TokenResponse", headers: ["Cache-Control", "Pragma"] },
      400: oauth("invalid_request, invalid_grant, invalid_scope, invalid_target, unsupported_grant_type"),
      401: { ...oauth("invalid_client"), headers: ["WWW-Authenticate"] },
      429: { ...oauth("over the caller's rate limit"), headers: ["Retry-After"] },
    } },
  { method: "get", path: "/api/.well-known/oauth-authorization-server", operationId: "getAuthorizationServerMetadata", summary: "RFC 8414 metadata of the token endpoint", tag: "token", auth: "none",
    responses: { 200: { description: "metadata", schema: "AuthorizationServerMetadata" } } },
  { method: "get", path: "/api/notifications/subscription", operationId: "getNotificationSubscription", summary: "Webhooks on or off, and the Graph subscription with its expiry", tag: "notifications", auth: "admin",
    responses: { 200: { description: "the subscription", schema: "NotificationSubscription" } } },
  { method: "post", path: "/api/notifications", operationId: "receiveNotifications", summary: "Microsoft Graph change-notification webhook", tag: "notifications", auth: "clientState",
    responses: {
      200: { description: "the validationToken echoed (subscription validation)", contentType: "text/plain" },
      202: { description: "accepted; syncs are queued" },
      400: problem("malformed body or validationToken"), 413: problem("body too large"), 503: { ...problem("could not be recorded; Graph redelivers"), headers: ["Retry-After"] },
    } },
];

const HEADER_SCHEMAS: Record<string, { description: string }> = {
  "WWW-Authenticate": { description: "Bearer challenge (RFC 6750) or Basic for a client that used the Authorization header" },
  "Cache-Control": { description: "no-store" },
  Pragma: { description: "no-cache" },
  "Retry-After": { description: "seconds to wait" },
};

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
  const contentType = a.contentType ?? "application/json";
  const content = a.schema ? { [contentType]: { schema: { $ref: `#/components/schemas/${a.schema}` } } }
    : a.contentType ? { [contentType]: { schema: { type: "string" } } } : undefined;
  const headers = a.headers ? Object.fromEntries(a.headers.map((h) => [h, { schema: { type: "string" }, ...HEADER_SCHEMAS[h] }])) : undefined;
  return { description: a.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
}

const SECURITY: Record<Auth, unknown[]> = {
  admin: [{ entraBearer: [] }],
  none: [],
  client: [{ clientSecretBasic: [] }, {}],
  clientState: [],
};

function operation(op: Operation): Record<string, unknown> {
  const responses = Object.fromEntries(Object.entries({ ...op.responses, ...(op.auth === "admin" ? ADMIN_ERRORS : {}) }).map(([s, a]) => [s, answer(a)]));
  return {
    operationId: op.operationId,
    summary: op.summary,
    tags: [op.tag],
    security: SECURITY[op.auth],
    ...(op.auth === "admin" ? { description: "Needs an Entra access token for API_AUDIENCE whose roles carry ADMIN_ROLE." } : {}),
    parameters: [...pathParameters(op.path), ...queryParameters(op.query)],
    ...(op.body ? { requestBody: { required: op.body.required ?? true, content: { [op.body.contentType ?? "application/json"]: { schema: { $ref: `#/components/schemas/${op.body.schema}` } } } } } : {}),
    responses,
  };
}

/** The document; `serverUrl` is the app's public origin (PUBLIC_BASE_URL), never a request's Host. */
export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operation(op);
  return {
    openapi: "3.1.0",
    info: {
      title: "Identity Bridge for Dynamics 365",
      version: BRIDGE_VERSION,
      description: "Keeps Dataverse systemusers in step with Entra ID, remaps changed logons and issues Dataverse tokens to S2S callers.",
      license: { name: "UNLICENSED", identifier: "UNLICENSED" },
    },
    servers: [{ url: serverUrl ?? "/", description: "the bridge's public origin" }],
    tags: [...new Set(OPERATIONS.map((o) => o.tag))].map((name) => ({ name, description: `${name} routes` })),
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([name, entry]) => [name, jsonSchemaOf(entry)])),
      securitySchemes: {
        entraBearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Entra access token for API_AUDIENCE carrying ADMIN_ROLE" },
        clientSecretBasic: { type: "http", scheme: "basic", description: "client_secret_basic; client_secret_post and private_key_jwt go in the form" },
      },
    },
  };
}

/** Route templates of the document (`/api/sync/runs/{runId}`), for checks that every served route is described. */
export const documentedRoutes = (): Array<{ method: string; path: string }> => OPERATIONS.map((o) => ({ method: o.method.toUpperCase(), path: o.path }));
