// OAuth 2.0 error responses (RFC 6749 §5.2, RFC 8693 §2.2.2): a stable code, a safe description, the HTTP
// status, and whether the client authenticated with the Authorization header (401 + WWW-Authenticate).
import { AppError, errorName, isAnswerable } from "../errors/app-error.js";
import type { OAuthErrorCode } from "../errors/codes.js";

export type { OAuthErrorCode } from "../errors/codes.js";

export interface OAuthErrorOptions {
  /** Internal reason for the audit and the log (never sent to the client). */
  reason?: string;
  /** Set for invalid_client when the client used `Authorization: Basic`. */
  viaAuthorizationHeader?: boolean;
  retryAfterSeconds?: number;
  status?: number;
  cause?: unknown;
}

export class OAuthError extends AppError<OAuthErrorCode> {
  override name = "OAuthError";
  declare readonly status: number;
  readonly reason: string;
  readonly viaAuthorizationHeader: boolean;
  readonly retryAfterSeconds?: number;

  constructor(code: OAuthErrorCode, readonly description: string, options: OAuthErrorOptions = {}) {
    super(`${code}: ${description}`, options.status ?? defaultStatus(code), code, { cause: options.cause });
    this.reason = options.reason ?? code;
    this.viaAuthorizationHeader = options.viaAuthorizationHeader ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

function defaultStatus(code: OAuthErrorCode): number {
  if (code === "invalid_client") return 401;
  if (code === "temporarily_unavailable") return 503;
  if (code === "server_error") return 500;
  return 400;
}

export function isOAuthError(error: unknown): error is OAuthError {
  return error instanceof OAuthError;
}

/** RFC 6749 §5.1/§5.2: responses carrying tokens or credentials (and their errors) are never cached. */
export const NO_STORE_HEADERS = { "cache-control": "no-store", pragma: "no-cache" } as const;

export interface OAuthErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: OAuthErrorCode; error_description: string };
}

export function oauthErrorResponse(error: OAuthError): OAuthErrorResponse {
  const headers: Record<string, string> = { ...NO_STORE_HEADERS, "content-type": "application/json;charset=UTF-8" };
  let status = error.status;
  if (error.code === "invalid_client" && error.viaAuthorizationHeader) {
    status = 401; // RFC 6749 §5.2: MUST be 401 when the Authorization header was used
    headers["www-authenticate"] = `Basic realm="token", error="invalid_client"`;
  }
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  return { status, headers, body: { error: error.code, error_description: error.description } };
}

/** The one mapping of any thrown value to an OAuth refusal: not already one means a dependency failed (503, no details). */
export function toOAuthError(error: unknown): OAuthError {
  if (isOAuthError(error)) return error;
  return new OAuthError("temporarily_unavailable", "the token service is temporarily unavailable; try again later", {
    retryAfterSeconds: 5, reason: `dependency_failed: ${isAnswerable(error) ? error.code : errorName(error)}`, cause: error,
  });
}
