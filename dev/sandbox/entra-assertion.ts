// RFC 7523 client assertions as Entra checks them: the header's x5t#S256 (or legacy x5t) names a
// certificate registered on the app, the JWT is signed by its key, iss = sub = client id, aud = token endpoint.
import { X509Certificate } from "node:crypto";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from "jose";
import { entraErrors, type EntraError } from "./entra-errors.js";
import type { AppRegistration, Tenant } from "./tenant.js";

/** `AB:CD:…` fingerprint → base64url of its bytes, as x5t / x5t#S256 carry it. */
const thumbprint = (fingerprint: string) => Buffer.from(fingerprint.replace(/:/g, ""), "hex").toString("base64url");
const unpad = (s: string) => s.replace(/=+$/, "");
/** Registered credentials may be a bare certificate or a PEM bundle (cert + key); use the certificate block. */
const certificateBlock = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? pem;

export async function verifyClientAssertion(app: AppRegistration, assertion: string, audiences: string[]): Promise<EntraError | null> {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return entraErrors.assertionClaims("The client assertion is not a JWT.");
  }
  const x5tS256 = typeof header["x5t#S256"] === "string" ? unpad(header["x5t#S256"]) : undefined;
  const x5t = typeof header.x5t === "string" ? unpad(header.x5t) : undefined;
  const cert = app.certificates
    .map((pem) => new X509Certificate(certificateBlock(pem)))
    .find((c) => (x5tS256 !== undefined && thumbprint(c.fingerprint256) === x5tS256) || (x5t !== undefined && thumbprint(c.fingerprint) === x5t));
  if (!cert) {
    const given = x5tS256 ?? x5t;
    return entraErrors.unknownCertificate(given ? Buffer.from(given, "base64url").toString("hex").toUpperCase() : "(none)");
  }
  try {
    await jwtVerify(assertion, cert.publicKey, {
      algorithms: ["RS256", "PS256"],
      audience: audiences,
      issuer: app.clientId,
      subject: app.clientId,
      requiredClaims: ["exp"],
      clockTolerance: 300,
    });
    return null;
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) return entraErrors.badAssertionSignature();
    if (err instanceof errors.JWTExpired) return entraErrors.assertionTime();
    if (err instanceof errors.JWTClaimValidationFailed) {
      return err.claim === "nbf" ? entraErrors.assertionTime() : entraErrors.assertionClaims(`Invalid '${err.claim}' claim.`);
    }
    return entraErrors.assertionClaims((err as Error).message);
  }
}

/**
 * Workload identity federation: an assertion issued by another token service (here: the tenant's own
 * managed-identity tokens) that a federated identity credential on the app trusts. Entra matches issuer and
 * audience first (AADSTS70021), then the subject, case-sensitively (AADSTS700213), then checks the token.
 */
export async function verifyFederatedAssertion(tenant: Tenant, app: AppRegistration, assertion: string): Promise<EntraError | null> {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(assertion);
  } catch {
    return entraErrors.assertionClaims("The client assertion is not a JWT.");
  }
  const iss = String(claims.iss ?? "");
  const sub = String(claims.sub ?? "");
  const audiences = Array.isArray(claims.aud) ? claims.aud : [String(claims.aud ?? "")];
  const candidates = app.federatedCredentials.filter((f) => f.issuer === iss && f.audiences.some((a) => audiences.includes(a)));
  if (candidates.length === 0) return entraErrors.noFederatedRecord(iss, sub, audiences.join(","));
  if (!candidates.some((f) => f.subject === sub)) return entraErrors.noFederatedSubject(sub);
  // Only this tenant's tokens can be checked here (Entra would read the issuer's OIDC keys).
  if (iss !== tenant.issuer) return entraErrors.assertionClaims(`Unable to load the signing keys of issuer '${iss}'.`);
  try {
    await jwtVerify(assertion, createLocalJWKSet({ keys: tenant.signingKeys.map((k) => k.publicJwk) }), { algorithms: ["RS256"], requiredClaims: ["exp"], clockTolerance: 300 });
    return null;
  } catch (err) {
    if (err instanceof errors.JWTExpired || (err instanceof errors.JWTClaimValidationFailed && err.claim === "nbf")) return entraErrors.assertionTime();
    if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return entraErrors.badAssertionSignature();
    return entraErrors.assertionClaims((err as Error).message);
  }
}

/** RFC 7523 certificate assertions are self-issued (iss = client id); anything else is a federated token. */
export function isFederatedAssertion(app: AppRegistration, assertion: string): boolean {
  try {
    return decodeJwt(assertion).iss !== app.clientId;
  } catch {
    return false;
  }
}
