// Client authentication for client_credentials (RFC 6749 §2.3, RFC 7523 §2.2): client_secret_basic,
// client_secret_post (secrets in Key Vault, compared in constant time) and private_key_jwt (signature by the
// caller's registered PEM key or JWKS, iss = sub = client id, aud = this endpoint, short exp, one-time jti).
import { createHash, createPublicKey, hash, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { isAnswerable } from "../errors/app-error.js";
import type { TokenCaller } from "../config/token-callers.js";
import type { SecretReader } from "../credentials/secret-store.js";
import { single, type TokenForm } from "./form.js";
import type { JtiStore } from "./jti-store.js";
import { OAuthError } from "./oauth-errors.js";
import type { CallerPolicy } from "./policy.js";

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** Asymmetric algorithms only: no `none`, no HMAC (a public key used as an HMAC secret). */
export const ASSERTION_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];
/** Longest accepted assertion lifetime from now (Entra's profile: 5–10 minutes). */
const MAX_ASSERTION_LIFETIME_S = 600;
const CLOCK_TOLERANCE_S = 60;
/**
 * Compared against when the id is unknown or may not use a secret, so every secret failure does the same
 * work (no vault read, one hash compare) and an unknown id cannot be told from a wrong secret by timing.
 */
const DECOY_DIGEST = createHash("sha256").update(randomBytes(32)).digest();

/**
 * The one description of every invalid_client answer: which check failed (unknown id, wrong secret, a method the
 * id may not use, a bad assertion) stays in the audit's reason, so the answer never tells ids or methods apart.
 */
export const CLIENT_AUTH_FAILED = "client authentication failed";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt";

export interface AuthenticatedClient {
  caller: TokenCaller;
  method: ClientAuthMethod;
}

export interface ClientAuthDeps {
  policy: CallerPolicy;
  secrets: SecretReader;
  jti: JtiStore;
  now: () => number;
}

interface BasicCredentials {
  clientId: string;
  secret: string;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before base64. Undefined when no Basic header. */
export function parseBasic(authorization: string | undefined): BasicCredentials | undefined {
  if (!authorization || !BASIC_SCHEME.test(authorization)) return undefined;
  const encoded = authorization.slice(6).trim();
  if (!BASE64.test(encoded)) throw malformedBasic();
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw malformedBasic();
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw malformedBasic();
  }
}

const BASIC_SCHEME = /^basic\s/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Parsed on every secret caller's request (twice: the claim, then authentication), so no closures per call. */
function malformedBasic(): OAuthError {
  return new OAuthError("invalid_client", CLIENT_AUTH_FAILED, { reason: "malformed_basic", viaAuthorizationHeader: true });
}

/** application/x-www-form-urlencoded decoding; a value with neither `%` nor `+` (the usual id) is itself. */
function formDecode(value: string): string {
  return value.includes("%") || value.includes("+") ? decodeURIComponent(value.replace(/\+/g, " ")) : value;
}

/** Who the request claims to be, before authentication (for the audit of refusals). */
export function claimedClientId(form: TokenForm, authorization: string | undefined): string | undefined {
  try {
    const fromForm = form.get("client_id")?.[0];
    if (fromForm) return fromForm;
    const basic = parseBasic(authorization);
    if (basic) return basic.clientId;
    const assertion = form.get("client_assertion")?.[0];
    const iss = assertion ? decodeJwt(assertion).iss : undefined;
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}

export class ClientAuthenticator {
  private readonly pemKeys = new Map<string, { version: string; key: KeyObject }>();
  private readonly jwksSets = new Map<string, JWTVerifyGetKey>();
  private readonly secretDigests = new Map<string, { version: string; digest: Buffer }>();

  constructor(private readonly deps: ClientAuthDeps) {}

  /** `audiences`: the token endpoint URL(s) a client assertion may name in `aud`. */
  async authenticate(form: TokenForm, authorization: string | undefined, audiences: string[]): Promise<AuthenticatedClient> {
    const basic = parseBasic(authorization);
    if (authorization && !basic) {
      throw new OAuthError("invalid_client", CLIENT_AUTH_FAILED, { reason: "unsupported_auth_scheme", viaAuthorizationHeader: true });
    }
    const formId = single(form, "client_id");
    const postSecret = single(form, "client_secret");
    const assertion = single(form, "client_assertion");
    const used = [basic, postSecret, assertion].filter((v) => v !== undefined).length;
    if (used > 1) throw new OAuthError("invalid_request", "use exactly one client authentication method", { reason: "many_auth_methods" });
    if (basic) {
      if (formId !== undefined && formId !== basic.clientId) throw new OAuthError("invalid_request", "client_id differs from the Basic credentials", { reason: "client_id_mismatch" });
      return { caller: await this.checkSecret(basic.clientId, basic.secret, true), method: "client_secret_basic" };
    }
    if (postSecret !== undefined) {
      if (formId === undefined) throw new OAuthError("invalid_request", "client_secret needs client_id", { reason: "missing_client_id" });
      return { caller: await this.checkSecret(formId, postSecret, false), method: "client_secret_post" };
    }
    if (assertion !== undefined) return { caller: await this.checkAssertion(form, formId, assertion, audiences), method: "private_key_jwt" };
    throw new OAuthError("invalid_client", CLIENT_AUTH_FAILED, { reason: "no_client_auth" });
  }

  private async checkSecret(clientId: string, presented: string, viaAuthorizationHeader: boolean): Promise<TokenCaller> {
    const caller = this.deps.policy.callerById(clientId);
    const usable = caller?.auth === "secret" && caller.secretName ? caller : undefined;
    // The stored secret comes from the vault cache (its TTL bounds how long a rotated secret takes to apply);
    // a wrong secret never triggers an extra vault read, so both failure paths cost the same.
    const expected = usable ? await this.secretDigest(usable.secretName!) : DECOY_DIGEST;
    if (timingSafeEqual(expected, digest(presented)) && usable) return usable;
    const reason = !caller ? "unknown_client" : usable ? "wrong_secret" : "auth_method_not_allowed";
    throw new OAuthError("invalid_client", CLIENT_AUTH_FAILED, { reason, viaAuthorizationHeader });
  }

  /** The stored secret's digest, kept per vault version: a correct secret costs one hash, never a vault call. */
  private async secretDigest(name: string): Promise<Buffer> {
    const secret = await this.deps.secrets.getSecret(name);
    const cached = this.secretDigests.get(name);
    if (cached && cached.version === secret.version && cached.version !== "") return cached.digest;
    const fresh = digest(secret.value);
    this.secretDigests.set(name, { version: secret.version, digest: fresh });
    return fresh;
  }

  private async checkAssertion(form: TokenForm, formId: string | undefined, assertion: string, audiences: string[]): Promise<TokenCaller> {
    const refuse = (reason: string, cause?: unknown) => new OAuthError("invalid_client", CLIENT_AUTH_FAILED, { reason, cause });
    if (single(form, "client_assertion_type") !== JWT_BEARER) {
      throw refuse("bad_assertion_type");
    }
    let iss: unknown;
    try {
      iss = decodeJwt(assertion).iss;
    } catch (error) {
      throw refuse("malformed_assertion", error);
    }
    const clientId = formId ?? (typeof iss === "string" ? iss : undefined);
    if (!clientId || (formId !== undefined && iss !== formId)) throw refuse("assertion_issuer_mismatch");
    const caller = this.deps.policy.callerById(clientId);
    if (!caller) throw refuse("unknown_client");
    if (caller.auth !== "private_key_jwt") throw refuse("auth_method_not_allowed");

    const nowS = Math.floor(this.deps.now() / 1000);
    let payload;
    try {
      const key = await this.verificationKey(caller);
      const options = {
        algorithms: ASSERTION_ALGORITHMS,
        issuer: caller.id,
        subject: caller.id,
        audience: audiences,
        requiredClaims: ["exp", "jti", "iss", "sub", "aud"],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(nowS * 1000),
      };
      ({ payload } = typeof key === "function" ? await jwtVerify(assertion, key, options) : await jwtVerify(assertion, key, options));
    } catch (error) {
      if (isAnswerable(error)) throw error;
      throw refuse(`assertion_${error instanceof joseErrors.JOSEError ? error.code : "invalid"}`, error);
    }
    if (payload.exp! > nowS + MAX_ASSERTION_LIFETIME_S + CLOCK_TOLERANCE_S) throw refuse("assertion_lifetime_too_long");
    if (typeof payload.jti !== "string" || payload.jti.length === 0 || payload.jti.length > 1024) throw refuse("assertion_bad_jti");
    const first = await this.deps.jti.markUsed(caller.id, payload.jti, new Date((payload.exp! + CLOCK_TOLERANCE_S) * 1000));
    if (!first) throw refuse("assertion_replayed");
    return caller;
  }

  private async verificationKey(caller: TokenCaller): Promise<KeyObject | JWTVerifyGetKey> {
    if (caller.jwksUri) {
      let jwks = this.jwksSets.get(caller.jwksUri);
      if (!jwks) {
        jwks = createRemoteJWKSet(new URL(caller.jwksUri), { cacheMaxAge: 60 * 60_000, cooldownDuration: 60_000, timeoutDuration: 5_000 });
        this.jwksSets.set(caller.jwksUri, jwks);
      }
      return jwks;
    }
    const name = caller.publicKeySecretName!;
    const secret = await this.deps.secrets.getSecret(name);
    const cached = this.pemKeys.get(name);
    if (cached?.version === secret.version && cached.version !== "") return cached.key;
    const key = createPublicKey(secret.value); // SPKI public key or X.509 certificate PEM
    this.pemKeys.set(name, { version: secret.version, key });
    return key;
  }
}

/** Secrets are compared as digests of their exact bytes, in constant time; hashing first hides the length too. */
function digest(secret: string): Buffer {
  // One-shot hashing (UTF-8, as before): no Hash object per request.
  return hash("sha256", secret, "buffer");
}
