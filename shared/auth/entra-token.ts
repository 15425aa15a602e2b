// Validates Entra access tokens presented to the bridge (admin bearer tokens and RFC 8693 subject tokens):
// RS256 signature against the tenant's JWKS (jose: cached, refetched on an unknown kid), `iss`, `tid`,
// `aud` = API_AUDIENCE, `exp`/`nbf` with a small clock tolerance.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { Config } from "../config/config.js";
import { AppError } from "../errors/app-error.js";

export interface EntraClaims extends JWTPayload {
  tid?: string;
  oid?: string;
  appid?: string;
  azp?: string;
  idtyp?: string;
  roles?: string[];
  ver?: string;
  scp?: string;
  nonce?: string;
}

export class TokenValidationError extends AppError<"token_invalid"> {
  override name = "TokenValidationError";
  constructor(message: string, readonly reason: string, options?: { cause?: unknown }) {
    super(message, undefined, "token_invalid", options);
  }
}

export interface EntraTokenValidatorOptions {
  tenantId: string;
  authorityHost: string;
  audience: string;
  isMicrosoftAuthority: boolean;
  clockToleranceSeconds?: number;
  /** Minimum gap between JWKS refetches on an unknown `kid` (Entra: at most every 5 minutes). */
  jwksCooldownMs?: number;
}

interface Metadata {
  issuer: string;
  jwks: ReturnType<typeof createRemoteJWKSet>;
}

export class EntraTokenValidator {
  private metadata?: Promise<Metadata>;

  constructor(private readonly options: EntraTokenValidatorOptions) {}

  /** The client application of a validated token (`azp` on v2, `appid` on v1). */
  static callerAppId(claims: EntraClaims): string | undefined {
    return (claims.azp ?? claims.appid)?.toLowerCase();
  }

  async validate(token: string): Promise<EntraClaims> {
    const { issuer, jwks } = await this.loadMetadata();
    const audiences = audienceVariants(this.options.audience);
    const issuers = [issuer];
    // v1 tokens (the API's accessTokenAcceptedVersion unset) carry the sts.windows.net issuer.
    if (this.options.isMicrosoftAuthority) issuers.push(`https://sts.windows.net/${this.options.tenantId}/`);
    let payload: EntraClaims;
    try {
      ({ payload } = await jwtVerify<EntraClaims>(token, jwks, {
        algorithms: ["RS256"],
        issuer: issuers,
        audience: audiences,
        clockTolerance: this.options.clockToleranceSeconds ?? 120,
        requiredClaims: ["exp", "iss", "aud", "tid"],
      }));
    } catch (error) {
      throw new TokenValidationError(describeJoseError(error), reasonOf(error), { cause: error });
    }
    if (payload.tid?.toLowerCase() !== this.options.tenantId.toLowerCase()) {
      throw new TokenValidationError("the token was issued for another tenant", "wrong_tenant");
    }
    if (!isAccessTokenShaped(payload)) throw new TokenValidationError("the token is an ID token, not an access token", "not_access_token");
    return payload;
  }

  private loadMetadata(): Promise<Metadata> {
    this.metadata ??= this.fetchMetadata().catch((error: unknown) => {
      this.metadata = undefined;
      throw error;
    });
    return this.metadata;
  }

  private async fetchMetadata(): Promise<Metadata> {
    const url = `${this.options.authorityHost}/${this.options.tenantId}/v2.0/.well-known/openid-configuration`;
    let document: { issuer?: string; jwks_uri?: string };
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (error) {
      throw new TokenValidationError(`could not read the tenant's OpenID metadata from ${url}`, "metadata_unavailable", { cause: error });
    }
    if (!document.issuer || !document.jwks_uri) throw new TokenValidationError(`the OpenID metadata at ${url} lacks issuer or jwks_uri`, "metadata_unavailable");
    const issuer = document.issuer.replace("{tenantid}", this.options.tenantId);
    const jwks = createRemoteJWKSet(new URL(document.jwks_uri), {
      cacheMaxAge: 60 * 60_000,
      cooldownDuration: this.options.jwksCooldownMs ?? 60_000,
      timeoutDuration: 10_000,
    });
    return { issuer, jwks };
  }
}

/**
 * Entra ID tokens and access tokens share issuer, keys and (when API_AUDIENCE is the client id) audience, so the
 * signature proves nothing about the kind. Access tokens always name the client app — `appid` on v1, `azp` on
 * v2 — and ID tokens never carry `appid`, carry `nonce` when the sign-in asked for one, and have no `idtyp` of
 * `app`/`user` (reference tokens-and-key-vault.md §2).
 */
export function isAccessTokenShaped(claims: EntraClaims): boolean {
  if (claims.nonce !== undefined) return false;
  if (claims.idtyp !== undefined && claims.idtyp !== "app" && claims.idtyp !== "user") return false;
  const hasClient = (value: unknown) => typeof value === "string" && value.length > 0;
  if (claims.ver === "1.0") return hasClient(claims.appid);
  if (claims.ver === "2.0") return hasClient(claims.azp);
  return hasClient(claims.appid) || hasClient(claims.azp);
}

/** `api://x` and `api://x/` are the same audience to Entra (v1 tokens may carry either). */
function audienceVariants(audience: string): string[] {
  const trimmed = audience.replace(/\/+$/, "");
  return [trimmed, `${trimmed}/`];
}

function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim_${error.claim}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "bad_signature";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "unknown_key";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "alg_not_allowed";
  return "invalid";
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "the token has expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return error.claim === "nbf" ? "the token is not valid yet" : `the token's "${error.claim}" claim is not accepted`;
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "the token is signed by an unknown key";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "the token's signing algorithm is not accepted";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) return "the token is malformed";
  return "the token is not valid";
}

/** A validator for tokens whose audience is API_AUDIENCE (it caches the tenant's signing keys). */
export function createApiTokenValidator(config: Config): EntraTokenValidator {
  return new EntraTokenValidator({
    tenantId: config.tenantId,
    authorityHost: config.authorityHost,
    audience: config.api.audience,
    isMicrosoftAuthority: config.isMicrosoftAuthority,
  });
}
