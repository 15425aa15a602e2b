// The token endpoint's use case: authenticate the caller (client credentials or RFC 8693 token
// exchange), check its policy (disabled, target org, rate), hand out the org's cached Dataverse token, and
// audit every issuance and refusal. An issuance that cannot be audited is refused (fail closed).
import { describeError, isAppError } from "../errors/app-error.js";
import type { TokenCaller } from "../config/token-callers.js";
import { auditLogLine, prepareAudit, type AuditSink } from "./audit.js";
import type { AuthFailureThrottle } from "../http/auth-failures.js";
import { claimedClientId, type ClientAuthenticator } from "./client-auth.js";
import { CALLER_IDENTITY_RESERVED } from "./caller-tokens.js";
import type { CachedToken } from "./dataverse-token-cache.js";
import { many, single, type TokenForm } from "./form.js";
import { isOAuthError, OAuthError, toOAuthError } from "./oauth-errors.js";
import type { CallerPolicy, Grant } from "./policy.js";
import type { RateLimitPort } from "./rate-limit.js";
import { ACCESS_TOKEN_TYPE, authenticateSubject, type SubjectTokenValidator } from "./subject-token.js";
import { tokenAuditFailed, tokenIssuance, tokenStep } from "../telemetry/tokens.js";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";

export interface TokenRequest {
  form: TokenForm;
  /** The Authorization header, if any. */
  authorization?: string;
  /** URLs a client assertion may carry in `aud` (this endpoint). */
  assertionAudiences: string[];
  /** The sender's address as the trusted front end saw it (requestSource), for throttling failed attempts. */
  source?: string;
  log?: (line: string) => void;
}

export interface TokenSuccess {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  issued_token_type?: string;
}

export interface IssueTokenDeps {
  policy: CallerPolicy;
  clientAuth: ClientAuthenticator;
  subjectValidator: SubjectTokenValidator;
  /** The caller's OWN Dataverse token for an org (never the bridge's). */
  tokens: { get(caller: TokenCaller, org: string): Promise<CachedToken> };
  rateLimiter: RateLimitPort;
  /** Failed attempts (refusals before authentication), throttled per (claimed id, source) and per source across instances. */
  authFailures?: AuthFailureThrottle;
  audit: AuditSink;
  now: () => number;
}

interface Progress {
  caller?: string;
  /** Set once the sender proved who it is; until then `caller` is only its claim. */
  authenticated?: boolean;
  grant?: string;
  method?: string;
  target?: string;
  /** Token exchange: when the subject token expires; the answer never claims a longer life. */
  subjectExpiresAtMs?: number;
}

export function issueToken(request: TokenRequest, deps: IssueTokenDeps): Promise<TokenSuccess> {
  const progress: Progress = {};
  return tokenIssuance(progress, async () => {
    try {
      return await issue(request, deps, progress);
    } catch (error) {
      const refusal = await throttleFailure(request, deps, progress, asOAuthError(error));
      if (refusal.reason !== "audit_failed" && refusal.reason !== AUTH_FAILURES_THROTTLED_AGAIN) await auditRefusal(request, deps, progress, refusal);
      throw refusal;
    }
  });
}

async function issue(request: TokenRequest, deps: IssueTokenDeps, progress: Progress): Promise<TokenSuccess> {
  const { form } = request;
  // Raw claims: the audit caps and normalises every field it stores or logs.
  progress.caller = claimedClientId(form, request.authorization);
  const grantType = single(form, "grant_type");
  if (!grantType) throw new OAuthError("invalid_request", "grant_type is required", { reason: "no_grant_type" });
  progress.grant = grantType;
  let grant: Grant;
  let caller: TokenCaller;
  if (grantType === "client_credentials") {
    grant = "client_credentials";
    const client = await tokenStep(progress, "client_auth", () => deps.clientAuth.authenticate(request.form, request.authorization, request.assertionAudiences));
    caller = client.caller;
    progress.method = client.method;
  } else if (grantType === TOKEN_EXCHANGE_GRANT) {
    grant = "token_exchange";
    caller = await authenticateExchange(request, deps, progress);
  } else {
    throw new OAuthError("unsupported_grant_type", "grant_type must be client_credentials or urn:ietf:params:oauth:grant-type:token-exchange", { reason: "unsupported_grant_type" });
  }
  progress.caller = caller.id;
  progress.authenticated = true;
  if (caller.disabled) throw new OAuthError("unauthorized_client", "this caller is disabled", { reason: "caller_disabled" });

  const org = deps.policy.resolveTarget(caller, grant, {
    resource: many(form, "resource"), scope: single(form, "scope"), audience: grant === "token_exchange" ? many(form, "audience") : undefined,
  });
  progress.target = org;
  const rate = await takeRate(deps.rateLimiter, caller);
  if (!rate.allowed) {
    throw new OAuthError("temporarily_unavailable", `rate limit of ${caller.ratePerMinute} tokens per minute exceeded`, { status: 429, retryAfterSeconds: rate.retryAfterSeconds, reason: "rate_limited" });
  }

  const token = await tokenStep(progress, "cache", () => deps.tokens.get(caller, org));
  const now = deps.now();
  const entry = prepareAudit({
    outcome: "issued", caller: caller.id, grant: grantType, method: progress.method, target: org, identity: caller.dataverseAppId,
    time: new Date(now), expiresOn: new Date(token.expiresOnTimestamp), tokenSha256: token.sha256,
  });
  request.log?.(auditLogLine(entry));
  try {
    await tokenStep(progress, "audit", () => deps.audit.record(entry));
  } catch (error) {
    tokenAuditFailed();
    request.log?.(`token-audit write failed; token withheld: ${describeError(error)}`);
    throw new OAuthError("temporarily_unavailable", "the token service cannot record issuances right now; try again later", { reason: "audit_failed", retryAfterSeconds: 5, cause: error });
  }
  return {
    access_token: token.token,
    token_type: "Bearer",
    // The issued token's real remaining lifetime, never an assumed hour; after an exchange, never past the
    // subject token's (the Dataverse token itself cannot be shortened: docs/callers.md).
    expires_in: Math.max(0, Math.floor((Math.min(token.expiresOnTimestamp, progress.subjectExpiresAtMs ?? Infinity) - now) / 1000)),
    ...(grant === "token_exchange" ? { issued_token_type: ACCESS_TOKEN_TYPE } : {}),
  };
}

const AUTH_FAILURES_THROTTLED = "auth_failures_throttled";
/** A throttled attempt after the first of its window: answered, counted in metrics, not audited again. */
const AUTH_FAILURES_THROTTLED_AGAIN = "auth_failures_throttled_again";

/**
 * A refusal before the sender authenticated is a failed attempt: the throttle counts it per (claimed id, source)
 * and per source. Over the limit it becomes a 429 that costs no storage and, after the window's first, no audit
 * row. Never reached by a request that authenticated (credentials are checked first), nor by an outage (5xx).
 */
async function throttleFailure(request: TokenRequest, deps: IssueTokenDeps, progress: Progress, refusal: OAuthError): Promise<OAuthError> {
  if (!deps.authFailures || progress.authenticated || refusal.status >= 500 || refusal.status === 429) return refusal;
  const outcome = await deps.authFailures.recordFailure(progress.caller, request.source ?? "direct").catch((countError: unknown) => {
    request.log?.(`auth-failure count failed: ${describeError(countError)}`);
    return { throttled: false } as const;
  });
  if (!outcome.throttled) return refusal;
  return new OAuthError("temporarily_unavailable", "too many failed token requests from this source; try again later", {
    status: 429, retryAfterSeconds: outcome.retryAfterSeconds, reason: outcome.first ? AUTH_FAILURES_THROTTLED : AUTH_FAILURES_THROTTLED_AGAIN,
  });
}

/** The caller's rate (global across instances); fails closed, like the audit, when it cannot be checked. */
async function takeRate(limiter: IssueTokenDeps["rateLimiter"], caller: TokenCaller) {
  try {
    return await limiter.take(caller.id, caller.ratePerMinute);
  } catch (error) {
    throw new OAuthError("temporarily_unavailable", "the token service cannot check the caller's rate right now; try again later", { reason: "rate_limit_unavailable", retryAfterSeconds: 5, cause: error });
  }
}

async function authenticateExchange(request: TokenRequest, deps: IssueTokenDeps, progress: Progress): Promise<TokenCaller> {
  const { form } = request;
  progress.method = "subject_token";
  // The subject token is the caller's credential; other client credentials would be a second identity.
  if (request.authorization || single(form, "client_secret") || single(form, "client_assertion")) {
    throw new OAuthError("invalid_request", "token exchange authenticates with subject_token only", { reason: "client_auth_in_exchange" });
  }
  const subjectToken = single(form, "subject_token");
  if (!subjectToken) throw new OAuthError("invalid_request", "subject_token is required", { reason: "no_subject_token" });
  if (single(form, "subject_token_type") !== ACCESS_TOKEN_TYPE) {
    throw new OAuthError("invalid_request", `subject_token_type must be ${ACCESS_TOKEN_TYPE}`, { reason: "bad_subject_token_type" });
  }
  if (form.has("actor_token") || form.has("actor_token_type")) {
    throw new OAuthError("invalid_request", "actor tokens (delegation) are not supported", { reason: "actor_token" });
  }
  const requested = single(form, "requested_token_type");
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
    throw new OAuthError("invalid_request", `requested_token_type must be ${ACCESS_TOKEN_TYPE}`, { reason: "bad_requested_token_type" });
  }
  const { caller, appId, expiresAtMs } = await authenticateSubject(subjectToken, deps.subjectValidator, deps.policy, deps.now());
  progress.subjectExpiresAtMs = expiresAtMs;
  const clientId = single(form, "client_id");
  if (clientId !== undefined && clientId !== caller.id && clientId.toLowerCase() !== appId) {
    throw new OAuthError("invalid_request", "client_id does not match subject_token", { reason: "client_id_mismatch" });
  }
  return caller;
}

/** Anything that is not already an OAuth refusal (or a reserved identity) is a dependency failure: 503, no details on the wire. */
function asOAuthError(error: unknown): OAuthError {
  if (isOAuthError(error)) return error;
  if (isAppError(error) && error.code === CALLER_IDENTITY_RESERVED) {
    return new OAuthError("unauthorized_client", "this caller's policy names an identity reserved for the bridge", { reason: CALLER_IDENTITY_RESERVED, cause: error });
  }
  return toOAuthError(error);
}

/**
 * A request refused before it could be parsed (wrong content type, oversized body, query parameters): a failed
 * attempt like any other, throttled and audited the same way. Returns the refusal to answer (a 429 when throttled).
 */
export async function refuseUnparsed(error: OAuthError, deps: IssueTokenDeps, source: string | undefined, log?: (line: string) => void): Promise<OAuthError> {
  const request: TokenRequest = { form: new Map(), assertionAudiences: [], source, log };
  const refusal = await throttleFailure(request, deps, {}, error);
  if (refusal.reason !== AUTH_FAILURES_THROTTLED_AGAIN) await auditRefusal(request, deps, {}, refusal);
  return refusal;
}

async function auditRefusal(request: TokenRequest, deps: IssueTokenDeps, progress: Progress, error: OAuthError): Promise<void> {
  const entry = prepareAudit({
    outcome: "refused", caller: progress.caller ?? "unknown", authenticated: progress.authenticated ?? false, grant: progress.grant, method: progress.method,
    target: progress.target, error: error.code, reason: error.reason, time: new Date(deps.now()),
  });
  request.log?.(auditLogLine(entry));
  try {
    await deps.audit.record(entry);
  } catch (auditError) {
    tokenAuditFailed();
    request.log?.(`token-audit write of a refusal failed: ${describeError(auditError)}`);
  }
}
