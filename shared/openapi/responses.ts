// Response shapes of the HTTP API, in zod so the OpenAPI document is generated like the request schemas.
// Objects stay open (extra fields allowed) where the contract lets a route add fields; the documented
// ones are typed so clients (the console, the CLI) and the contract tests rely on them.
import { z } from "zod";

const nullableString = z.string().nullable();
const dateTime = z.string().describe("ISO 8601 date-time");

export const problemDetails = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
}).describe("RFC 9457 problem details");

export const health = z.object({ status: z.literal("ok"), version: z.string() });

export const runCounts = z.object({
  scanned: z.number().int(), created: z.number().int(), updated: z.number().int(), disabled: z.number().int(),
  enabled: z.number().int(), remapped: z.number().int(), unchanged: z.number().int(), skipped: z.number().int(), failed: z.number().int(),
  accessChanged: z.number().int().optional().describe("users whose business unit, roles or teams changed (or would, on a dry run); absent in reports older than access"),
});

/** The `access` of a change entry: what changed, by name. */
export const accessChange = z.object({
  businessUnit: z.object({ old: z.string(), new: z.string() }).optional(),
  rolesAdded: z.array(z.string()),
  rolesRemoved: z.array(z.string()),
  teamsAdded: z.array(z.string()),
  teamsRemoved: z.array(z.string()),
  rolesLostInMove: z.array(z.string()).optional().describe("unmanaged roles the move to another business unit removed (the platform drops every role on a move)"),
}).describe("access changed by ACCESS_RULES, on the user's own change entry (action \"access\" when access is their only change)");

const runState = z.enum(["queued", "running", "succeeded", "failed", "halted"]);

export const changeEntry = z.looseObject({
  objectId: z.string().optional(),
  systemUserId: z.string().optional(),
  displayName: z.string().optional().describe("the user's display name, recorded at plan time"),
  logon: z.string().optional().describe("the user's logon: UPN, or DOMAIN\\sam on premises"),
  action: z.string(),
  columns: z.array(z.object({ column: z.string(), old: nullableString, new: nullableString })).optional(),
  reason: z.string().optional(),
  access: accessChange.optional(),
  accessOutcome: z.enum(["applied", "planned", "failed", "pending-approval"]).optional()
    .describe("the access write's outcome, when it differs from the entry's (a user created now whose access waits for approval)"),
  accessError: z.object({ code: z.string().optional(), message: z.string() }).optional().describe("why the access write failed"),
  outcome: z.enum(["applied", "planned", "failed", "pending-approval"]).optional(),
  error: z.object({ code: z.string().optional(), message: z.string() }).optional(),
});

export const runError = z.looseObject({
  objectId: z.string().optional(), systemUserId: z.string().optional(), code: z.string().optional(), message: z.string(), at: dateTime,
});

const runHead = {
  runId: z.string(),
  org: z.string(),
  mode: z.enum(["incremental", "full"]),
  dryRun: z.boolean(),
  state: runState,
  trigger: z.string(),
  startedAt: dateTime.nullable(),
  finishedAt: dateTime.nullable(),
  counts: runCounts,
  changesOmitted: z.number().int(),
  errors: z.array(runError),
  halt: z.looseObject({
    pendingDisables: z.number().int(), limit: z.number().int(), threshold: z.string(), approvedBy: z.string().optional(),
    access: z.object({ removals: z.number().int(), limit: z.number().int(), threshold: z.string() }).optional()
      .describe("set when the run's access removals exceeded ACCESS_REMOVAL_THRESHOLD: none were made"),
  }).optional(),
  resync: z.string().optional(),
};

export const runSummary = z.looseObject(runHead);

export const runReport = z.looseObject({
  ...runHead,
  changes: z.array(changeEntry),
  changesTotal: z.number().int().describe("changes recorded for the run, over all pages"),
  changesNext: z.string().optional().describe("URL of the next page of changes"),
});

export const runList = z.object({ runs: z.array(runSummary) });

export const syncStarted = z.looseObject({ runId: z.string(), statusUrl: z.string() });

export const syncApproved = z.looseObject({ runId: z.string(), statusUrl: z.string(), approvedBy: z.string() });

export const orgStatus = z.looseObject({
  org: z.string(),
  state: z.enum(["idle", "running", "halted", "backing-off"]),
  runningRunId: z.string().optional(),
  lastRunId: nullableString,
  lastOutcome: runState.nullable(),
  lastFinishedAt: dateTime.nullable(),
  haltedRunId: nullableString,
  cursorAgeSeconds: z.number().int().nullable(),
  backoffUntil: dateTime.nullable(),
  consecutiveFailures: z.number().int(),
  nextScheduledRun: dateTime.nullable(),
});

export const syncStatus = z.object({ orgs: z.array(orgStatus) });

export const oneUserSync = z.object({
  user: z.object({ id: z.string(), userPrincipalName: nullableString, found: z.boolean() }),
  orgs: z.array(z.object({
    org: z.string(),
    change: z.looseObject({ action: z.string() }).describe("what changed: the user's change entry, carrying `access` when ACCESS_RULES changed their access now (action \"access\" when that is the only change)"),
  })),
});

export const remapResult = z.looseObject({
  systemUserId: z.string(), from: nullableString, to: z.string(), steps: z.array(z.looseObject({})),
  org: z.string(), objectId: z.string(), changed: z.boolean(), dryRun: z.boolean(), operationId: z.string().optional(),
});

const bulkItem = z.looseObject({
  user: z.string(), systemUserId: z.string().nullable().optional(), from: nullableString.optional(), to: nullableString.optional(),
  action: z.string(), conflicts: z.array(z.unknown()).optional(), outcome: z.string().optional(),
  code: z.string().optional(), message: z.string().optional(),
});

export const bulkJob = z.looseObject({
  jobId: z.string(),
  statusUrl: z.string(),
  org: z.string(),
  dryRun: z.boolean(),
  state: z.enum(["planning", "planned", "running", "succeeded", "completed-with-errors", "failed"]),
  requestedBy: z.string(),
  createdAt: dateTime,
  finishedAt: dateTime.optional(),
  error: z.string().optional(),
  selection: z.looseObject({}),
  counts: z.record(z.string(), z.number().int()),
  plan: z.array(bulkItem),
});

export const bulkAccepted = z.object({ jobId: z.string(), statusUrl: z.string() });

export const tokenRequest = z.looseObject({
  grant_type: z.enum(["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  client_assertion_type: z.literal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer").optional(),
  client_assertion: z.string().optional(),
  scope: z.string().optional().describe("<org URL>/.default"),
  resource: z.string().optional().describe("the org URL"),
  audience: z.string().optional(),
  subject_token: z.string().optional(),
  subject_token_type: z.literal("urn:ietf:params:oauth:token-type:access_token").optional(),
}).describe("RFC 6749 / RFC 7523 / RFC 8693 token request");

export const tokenResponse = z.looseObject({
  access_token: z.string(), token_type: z.literal("Bearer"), expires_in: z.number().int(), issued_token_type: z.string().optional(),
});

export const oauthError = z.looseObject({ error: z.string(), error_description: z.string().optional() });

const misconfiguration = z.looseObject({ cause: z.string(), detail: z.string(), fix: z.string() });

const callerOrgStatus = z.looseObject({
  org: z.string(),
  identity: z.enum(["ok", "failed"]).describe("whether the bridge could sign in as the caller's own app for this org"),
  applicationUser: z.looseObject({ present: z.boolean(), enabled: z.boolean().optional(), systemuserid: z.string().optional(), roles: z.array(z.string()).optional() }),
  problems: z.array(misconfiguration),
});

export const callerStatus = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  dataverseAppId: z.string().optional(),
  credential: z.enum(["federated", "secret"]).optional(),
  lastIssuance: z.looseObject({ at: z.string(), org: z.string() }).optional(),
  lastRefusal: z.looseObject({ at: z.string(), error: z.string(), reason: z.string().optional() }).optional(),
  healthy: z.boolean().optional(),
  orgs: z.array(callerOrgStatus).optional(),
}).describe("one S2S caller's status per org it may reach");

export const callers = z.looseObject({ callers: z.array(callerStatus) });

const resolvedName = z.looseObject({ name: z.string(), id: z.string().optional(), problem: z.string().optional() });

export const accessRule = z.looseObject({
  index: z.number().int().describe("position in ACCESS_RULES"),
  group: z.looseObject({ id: z.string(), name: nullableString, members: z.number().int().nullable().describe("direct members"), problem: z.string().optional() }),
  businessUnit: resolvedName.optional(),
  roles: z.array(resolvedName),
  teams: z.array(resolvedName),
  status: z.enum(["ok", "partial", "unknown-group"]),
  problems: z.array(z.string()),
});

export const access = z.looseObject({
  removalThreshold: z.string(),
  licenseSkus: z.array(z.string()),
  orgs: z.array(z.looseObject({
    org: z.string(),
    kind: z.string(),
    rules: z.array(accessRule),
    problems: z.array(z.string()),
    error: z.string().optional().describe("the org could not be read: its rules are unknown, not wrong"),
  })),
}).describe("each org's ACCESS_RULES resolved: group, business unit, roles (the copy in the rule's unit) and teams with their ids, or the problem with its fix");

export const provisionBody = z.strictObject({ dryRun: z.boolean().optional() });

export const provisionResult = z.looseObject({}).describe("what was (or, for a dry run, would be) created for the caller");

export const readiness = z.looseObject({
  status: z.literal("ready"),
  ready: z.boolean(),
  checkedAt: z.string(),
  checks: z.array(z.looseObject({
    name: z.string(),
    ok: z.boolean(),
    durationMs: z.number(),
    cause: z.string().optional().describe("named cause when failing (docs/operations.md)"),
    detail: z.string().optional(),
  })),
  appCredential: z.looseObject({
    clientId: z.string(),
    kind: z.enum(["secret", "certificate", "federated", "azure-cli", "unknown"]).describe("how the bridge signs in as APP_CLIENT_ID; unknown: its vault secret cannot be read"),
    secretName: z.string().optional().describe("APP_CREDENTIAL_SECRET_NAME, when set (the name, never the value)"),
  }).optional(),
}).describe("configuration, storage, Key Vault, each org's token and WhoAmI, Graph and the subscription; cached 30 s per instance");

export const authorizationServerMetadata = z.looseObject({
  issuer: z.string(),
  token_endpoint: z.string(),
  grant_types_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  token_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
}).describe("RFC 8414 authorization server metadata");

export const openApiDoc = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }).describe("an OpenAPI 3.1 document");

const namedId = z.object({ id: z.string(), name: z.string().optional().describe("absent for a team no rule names") });

const userAccessPreview = z.object({
  current: z.object({ businessUnit: namedId, roles: z.array(namedId), teams: z.array(namedId) }).nullable()
    .describe("what Dataverse holds now; null when the record is disabled or never touched"),
  matchedRules: z.array(z.number().int()).describe("positions in ACCESS_RULES of the rules whose group the user is a direct member of"),
  planned: accessChange.nullable().describe("what the rules would change; null when nothing"),
  problems: z.array(z.string()).describe("the org's rule problems (such a rule never takes access away)"),
}).describe("with ACCESS_RULES for the org and a record: the user's access beside what the rules give");

export const userLookup = z.object({
  user: z.object({ id: z.string(), userPrincipalName: nullableString, found: z.boolean(), columns: z.record(z.string(), nullableString).nullable() }),
  orgs: z.array(z.object({ org: z.string(), records: z.array(z.looseObject({})), planned: z.looseObject({ action: z.string() }), access: userAccessPreview.optional() })),
});

export const subscription = z.object({
  enabled: z.boolean(),
  notificationUrl: nullableString,
  subscription: z.object({
    subscriptionId: z.string(), resource: z.string(), expirationDateTime: dateTime, expiresInSeconds: z.number().int(), updatedAt: dateTime,
  }).nullable(),
});
