// RFC 8693 token exchange: the caller authenticates with its own Entra access token (subject_token),
// validated exactly as the admin endpoints validate theirs (EntraTokenValidator: RS256 by the tenant's
// JWKS with key rollover, iss, tid, aud = API_AUDIENCE, exp/nbf), plus: an app-only token (`idtyp` = app)
// whose `appid`/`azp` is an `auth: "entra"` caller. Any refusal is `invalid_request` (RFC 8693 §2.2.2).
import type { TokenCaller } from "../config/token-callers.js";
import { EntraTokenValidator, TokenValidationError, type EntraClaims } from "../auth/entra-token.js";
import { OAuthError } from "./oauth-errors.js";
import type { CallerPolicy } from "./policy.js";

export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
/** A subject token with less time left than this is refused: the issued token would outlive it. */
export const MIN_SUBJECT_REMAINING_MS = 5 * 60_000;

export interface SubjectTokenValidator {
  validate(token: string): Promise<EntraClaims>;
}

export async function authenticateSubject(
  subjectToken: string,
  validator: SubjectTokenValidator,
  policy: CallerPolicy,
  now: number,
): Promise<{ caller: TokenCaller; appId: string; expiresAtMs: number }> {
  let claims: EntraClaims;
  try {
    claims = await validator.validate(subjectToken);
  } catch (error) {
    if (error instanceof TokenValidationError) {
      if (error.reason === "metadata_unavailable") {
        throw new OAuthError("temporarily_unavailable", "the tenant's signing keys cannot be read right now", { reason: error.reason, cause: error, retryAfterSeconds: 30 });
      }
      throw new OAuthError("invalid_request", `subject_token was refused: ${error.message}`, { reason: `subject_${error.reason}`, cause: error });
    }
    throw error;
  }
  // No clock tolerance on exp (the validator's applies to nbf and exp alike): the subject token must be
  // valid now and for five more minutes, else it is refused like any invalid one (RFC 8693 §2.2.2).
  if (typeof claims.exp !== "number" || claims.exp * 1000 - now < MIN_SUBJECT_REMAINING_MS) {
    throw new OAuthError("invalid_request", "subject_token is expired or expires within 5 minutes; get a fresh one", { reason: "subject_expiring" });
  }
  // Entra: "the most accurate way for an API to determine if a token is an app token"; required when
  // authorizing by appid/azp (the API must enable the idtyp optional claim).
  if (claims.idtyp !== "app") throw new OAuthError("invalid_request", "subject_token must be an app-only token (idtyp = app)", { reason: "subject_not_app_token" });
  const appId = EntraTokenValidator.callerAppId(claims);
  const caller = appId ? policy.callerByAppId(appId) : undefined;
  if (!appId || !caller) throw new OAuthError("invalid_request", "subject_token's client application is not an allowed caller", { reason: "subject_app_not_allowed" });
  return { caller, appId, expiresAtMs: claims.exp * 1000 };
}
