// Every problem type the HTTP API answers with: its `type` is `urn:identity-bridge:problem:<code>`, and this list
// gives each code's status and meaning (the OpenAPI document and the docs show it; a test checks that every code
// the code base throws is here).

export const PROBLEM_TYPE_PREFIX = "urn:identity-bridge:problem:";

export interface ProblemType {
  status: number;
  meaning: string;
}

export const PROBLEM_TYPES: Record<string, ProblemType> = {
  invalid_body: { status: 400, meaning: "the body does not match the schema; `detail` names the field" },
  malformed_json: { status: 400, meaning: "the body is not valid JSON" },
  missing_body: { status: 400, meaning: "the route needs a JSON body" },
  duplicate_key: { status: 400, meaning: "the JSON body gives a key twice; `detail` names it (never last-one-wins)" },
  json_too_complex: { status: 400, meaning: "the JSON body nests too deep or holds too many items or too long a string" },
  unknown_query_parameter: { status: 400, meaning: "the route does not take this query parameter; `detail` names it" },
  invalid_query: { status: 400, meaning: "a query parameter is invalid; `detail` names it" },
  invalid_name: { status: 400, meaning: "the new domainname is not a valid logon name" },
  invalid_user_key: { status: 400, meaning: "not an object id or a UPN" },
  invalid_idempotency_key: { status: 400, meaning: "Idempotency-Key must be 1 to 200 visible ASCII characters" },
  invalid_validation_token: { status: 400, meaning: "Graph's validationToken is missing or malformed" },
  unreadable_body: { status: 400, meaning: "the notification body could not be read" },
  org_required: { status: 400, meaning: "several orgs are configured: name one in `org`" },
  unknown_org: { status: 400, meaning: "`org` is not one of DATAVERSE_URLS" },
  missing_token: { status: 401, meaning: "no bearer token" },
  invalid_token: { status: 401, meaning: "the token is invalid, expired or for another audience" },
  missing_role: { status: 403, meaning: "the token lacks ADMIN_ROLE" },
  run_not_found: { status: 404, meaning: "no sync run with this id" },
  job_not_found: { status: 404, meaning: "no bulk remap job with this id" },
  user_not_found: { status: 404, meaning: "no such directory user or Dataverse user" },
  unknown_caller: { status: 404, meaning: "no caller with this id in TOKEN_CALLERS" },
  provisioning_in_progress: { status: 409, meaning: "another request is provisioning this caller in the org; retry shortly" },
  provisioning_conflict: { status: 409, meaning: "the org refused a conflicting provisioning change (`detail` names it)" },
  run_in_progress: { status: 409, meaning: "a run for the org is queued or running; `detail` names it" },
  run_halted: { status: 409, meaning: "a run for the org is halted: approve it first" },
  not_halted: { status: 409, meaning: "the run is not halted" },
  name_taken: { status: 409, meaning: "the new domainname is held by another Dataverse user" },
  object_taken: { status: 409, meaning: "the directory object is anchored to another Dataverse user" },
  directory_mismatch: { status: 409, meaning: "the Dataverse user belongs to another directory object" },
  ambiguous_user: { status: 409, meaning: "several Dataverse users match: name the systemuserid" },
  not_remappable: { status: 409, meaning: "the Dataverse user cannot be remapped (`detail` says why)" },
  remap_in_progress: { status: 409, meaning: "another remap of this user is running" },
  remap_pending: { status: 409, meaning: "an earlier remap of this user awaits recovery" },
  idempotency_in_progress: { status: 409, meaning: "a request with this Idempotency-Key is still being processed: retry later" },
  caller_provisioning_off: { status: 409, meaning: "CALLER_PROVISIONING is off" },
  subscription_busy: { status: 409, meaning: "the Graph subscription is being changed by another instance" },
  body_too_large: { status: 413, meaning: "the body is over the route's limit" },
  too_many_notifications: { status: 413, meaning: "more notifications in one delivery than accepted" },
  unsupported_media_type: { status: 415, meaning: "the body is not application/json" },
  idempotency_key_reused: { status: 422, meaning: "this Idempotency-Key was used with a different body (never replayed)" },
  not_in_directory: { status: 422, meaning: "the new domainname is not a user in the directory" },
  too_many_refusals: { status: 429, meaning: "this source's requests to the webhook keep being refused; answered after a pause until Retry-After" },
  internal: { status: 500, meaning: "an unexpected error; the host log has the details" },
  dataverse_error: { status: 502, meaning: "the org refused or failed the request; `detail` names its error" },
  graph_unavailable: { status: 502, meaning: "Microsoft Graph failed or refused the request" },
  adfs_token_failed: { status: 502, meaning: "AD FS refused or failed the token request for an on-premises org" },
  remap_rolled_back: { status: 502, meaning: "the remap's second step failed and the original name was restored: nothing changed" },
  remap_incomplete: { status: 502, meaning: "the remap stopped part-way; the recovery pass completes or undoes it (`operationId`)" },
  remap_unverified: { status: 502, meaning: "the remap was written but reading the user back did not show it; the recovery pass settles it" },
  configuration_invalid: { status: 503, meaning: "the bridge's settings are invalid; the host log names each one" },
  not_ready: { status: 503, meaning: "a readiness check failed; `checks` names it" },
  placeholder_busy: { status: 503, meaning: "every temporary account (REMAP_PLACEHOLDER_USERS) is in use: retry after `retryAfterSeconds`" },
  no_placeholder: { status: 503, meaning: "no temporary account is available for the remap (REMAP_PLACEHOLDER_USERS)" },
  lease_lost: { status: 503, meaning: "the remap lost its lease and stopped before its next write; the recovery pass settles it" },
  metadata_unavailable: { status: 503, meaning: "Entra's signing keys could not be fetched to check the token" },
  key_vault_unavailable: { status: 503, meaning: "Key Vault could not be reached" },
  key_vault_forbidden: { status: 503, meaning: "the bridge's identity may not read the Key Vault secret" },
  key_vault_secret_not_found: { status: 503, meaning: "a named Key Vault secret does not exist" },
  secret_blank: { status: 503, meaning: "a Key Vault secret is empty" },
  managed_identity_no_token: { status: 503, meaning: "the managed identity gave no token" },
  onprem_ca_bundle_invalid: { status: 503, meaning: "the on-premises CA bundle in Key Vault is not valid PEM" },
  caller_token_missing: { status: 503, meaning: "Entra (or AD FS) returned no token for the caller" },
  caller_token_wrong_app: { status: 503, meaning: "the token obtained for the caller is not for its own app: refused" },
  caller_no_adfs_credential: { status: 503, meaning: "the caller has no AD FS credential for an on-premises org" },
  console_not_built: { status: 503, meaning: "the admin console's files are missing from the deployment" },
};

/** The list as Markdown table rows, for the OpenAPI description. */
export function problemTypesMarkdown(): string {
  const rows = Object.entries(PROBLEM_TYPES).sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b))
    .map(([code, t]) => `| \`${code}\` | ${t.status} | ${t.meaning} |`);
  return [`Every error is RFC 9457 problem+json whose \`type\` is \`${PROBLEM_TYPE_PREFIX}<code>\`:`, "", "| code | status | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}
