// Every code the bridge gives an error it throws on purpose, by area. A code is part of the public answer
// (problem+json `type`, OAuth `error`, readiness `cause`, run reports), so the unions are closed: a new code is
// added here, in its area, and anything else fails to compile.

/** Request parsing and validation (bodies, queries, headers). */
export const REQUEST_ERROR_CODES = [
  "unsupported_media_type", "malformed_json", "missing_body", "invalid_body", "body_too_large", "invalid_query",
  "too_many_notifications", "duplicate_key", "json_too_complex", "unknown_query_parameter", "invalid_idempotency_key", "idempotency_key_reused", "idempotency_in_progress",
] as const;

/** Entra bearer tokens on the admin API. */
export const AUTH_ERROR_CODES = ["missing_token", "metadata_unavailable", "invalid_token", "missing_role"] as const;

/** Settings and what is derived from them. */
export const CONFIG_ERROR_CODES = ["configuration_invalid", "org_required", "unknown_org", "attribute_map_invalid"] as const;

/** The bridge's own credentials, Key Vault, the on-premises CA, caller tokens. */
export const CREDENTIAL_ERROR_CODES = [
  "managed_identity_no_token", "secret_blank", "key_vault_forbidden", "key_vault_secret_not_found", "key_vault_unavailable",
  "onprem_ca_bundle_invalid", "adfs_token_failed", "caller_token_missing", "caller_token_wrong_app", "caller_no_adfs_credential",
  "caller_provisioning_off", "unknown_caller", "caller_identity_reserved", "provisioning_in_progress", "provisioning_conflict",
] as const;

/** Single and bulk remaps. */
export const REMAP_ERROR_CODES = [
  "job_not_found", "placeholder_busy", "no_placeholder", "concurrent_change", "remap_step_failed", "remap_unverified",
  "remap_rolled_back", "remap_incomplete", "not_remappable", "remap_pending", "not_in_directory", "directory_mismatch",
  "remap_in_progress", "ambiguous_user", "invalid_name", "name_taken", "object_taken",
] as const;

/** Sync runs, their leases and single-user sync. */
export const SYNC_ERROR_CODES = [
  "run_halted", "run_in_progress", "not_halted", "run_not_found", "user_not_found", "invalid_user_key", "lease_lost",
] as const;

/** Failures of a service the bridge calls; the upstream status and code stay on the error's own fields. */
export const UPSTREAM_ERROR_CODES = [
  "dataverse_request_failed", "batch_malformed", "odata_literal_invalid", "graph_unavailable", "delta_reset",
  "token_invalid", "subscription_busy",
] as const;

/** Causes a readiness check names (GET /api/ready); codes of the errors above may appear there too. */
export const READINESS_CAUSES = [
  "storage_unavailable", "subscription_expired", "subscription_missing", "timeout", "dataverse_token_failed",
  "dataverse_unreachable", "dataverse_access_denied", "dataverse_error", "graph_access_denied", "graph_unreachable",
  "access_rule_problem",
] as const;

/** OAuth 2.0 error codes (RFC 6749 §5.2, RFC 8693 §2.2.2) answered by /api/token. */
export const OAUTH_ERROR_CODES = [
  "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope",
  "invalid_target", "temporarily_unavailable", "server_error",
] as const;

/** Codes of problem+json answers built directly (no error thrown): problem(status, detail, { code }). */
export const ANSWER_CODES = [
  "internal", "console_not_built", "invalid_validation_token", "not_ready", "notifications_unavailable", "unreadable_body", "too_many_refusals",
] as const;

export type RequestErrorCode = (typeof REQUEST_ERROR_CODES)[number];
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];
export type CredentialErrorCode = (typeof CREDENTIAL_ERROR_CODES)[number];
export type RemapErrorCode = (typeof REMAP_ERROR_CODES)[number];
export type SyncErrorCode = (typeof SYNC_ERROR_CODES)[number];
export type UpstreamErrorCode = (typeof UPSTREAM_ERROR_CODES)[number];
export type ReadinessCause = (typeof READINESS_CAUSES)[number];
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];

export type AnswerCode = (typeof ANSWER_CODES)[number];

export type AppErrorCode =
  | RequestErrorCode | AuthErrorCode | ConfigErrorCode | CredentialErrorCode | RemapErrorCode | SyncErrorCode
  | UpstreamErrorCode | ReadinessCause | OAuthErrorCode;

/** Every code a problem+json answer may carry. */
export type ProblemCode = AppErrorCode | AnswerCode;

const ALL_CODES: ReadonlySet<string> = new Set<string>([
  ...REQUEST_ERROR_CODES, ...AUTH_ERROR_CODES, ...CONFIG_ERROR_CODES, ...CREDENTIAL_ERROR_CODES, ...REMAP_ERROR_CODES,
  ...SYNC_ERROR_CODES, ...UPSTREAM_ERROR_CODES, ...READINESS_CAUSES, ...OAUTH_ERROR_CODES,
]);

/** For codes read back from storage (a replayed refusal): known codes only. */
export const isAppErrorCode = (value: unknown): value is AppErrorCode => typeof value === "string" && ALL_CODES.has(value);
