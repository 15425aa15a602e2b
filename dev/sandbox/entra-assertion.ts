// RFC 7523 client assertions as Entra checks them: the header's x5t#S256 (or legacy x5t) names a
// certificate registered on the app, the JWT is signed by its key, iss = sub = client id, aud = token endpoint.
import { X509Certificate } from "node:crypto";
import { decodeProtectedHeader, errors, jwtVerify, type ProtectedHeaderParameters } from "jose";
import { entraErrors, type EntraError } from "./entra-errors.js";
import type { AppRegistration } from "./tenant.js";

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
