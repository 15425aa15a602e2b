// AD FS 2016/2019 as the token service of an on-premises / IFD Dynamics 365 org (federation-adfs-telemetry.md §3):
// OpenID configuration, JWKS, and OAuth 2.0 client credentials for the server applications of application groups,
// authenticated by client secret (basic or post) or private_key_jwt (aud = the token endpoint). Tokens are AD FS
// access tokens: `iss` = the discovery's `access_token_issuer` (http://…/adfs/services/trust), `aud` = the relying
// party identifier, `appid`, `apptype`, `ver: "1.0"`, no `tid`, no `upn`. Errors carry MSIS codes.
import { X509Certificate, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SignJWT, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { sendJson, type Handler } from "./https-service.js";
import { Tenant, type SigningKey } from "./tenant.js";

export interface AdfsClient {
  clientId: string;
  displayName: string;
  secrets: string[];
  /** PEM certificates (public; a bundle's certificate block is used) accepted for private_key_jwt. */
  certificates: string[];
  /** Relying party identifiers this application has permission on (Application Permissions of the group). */
  permittedResources: Set<string>;
}

export interface AdfsError {
  status: number;
  error: string;
  description: string;
}

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const norm = (id: string) => id.trim().replace(/\/+$/, "").toLowerCase();
const thumbprint = (fingerprint: string) => Buffer.from(fingerprint.replace(/:/g, ""), "hex").toString("base64url");
const certificateBlock = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? pem;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The MSIS answers of AD FS (codes from its event log / error_description). */
export const adfsErrors = {
  unsupportedGrant: (grant: string): AdfsError => ({ status: 400, error: "unsupported_grant_type", description: `MSIS9611: The authorization server does not support the requested 'grant_type': '${grant}'. The authorization server only supports 'authorization_code' or 'refresh_token' or 'client_credentials' or 'urn:ietf:params:oauth:grant-type:jwt-bearer' or 'password' as the grant type.` }),
  unknownClient: (clientId: string): AdfsError => ({ status: 400, error: "invalid_client", description: `MSIS9607: The 'client_id' parameter in the request is invalid. No registered client is found with this identifier '${clientId.slice(0, 64)}'.` }),
  clientAuthFailed: (): AdfsError => ({ status: 401, error: "invalid_client", description: "MSIS9622: Client authentication failed. Please verify the credential provided for client authentication is valid." }),
  missingResource: (): AdfsError => ({ status: 400, error: "invalid_request", description: "MSIS9608: The 'resource' parameter is missing in the request." }),
  unknownResource: (resource: string): AdfsError => ({ status: 400, error: "invalid_resource", description: `MSIS9602: The received 'resource' parameter '${resource.slice(0, 256)}' does not match any relying party trust.` }),
  notPermitted: (clientId: string, resource: string): AdfsError => ({ status: 400, error: "unauthorized_client", description: `MSIS9605: The client '${clientId.slice(0, 64)}' is not allowed to access the requested resource '${resource.slice(0, 256)}'.` }),
};

export class AdfsServer {
  /** `https://127.0.0.1:port` once listening. */
  url = "";
  readonly clients = new Map<string, AdfsClient>();
  /** Relying party trusts, by identifier (normalized). */
  readonly relyingParties = new Set<string>();
  signingKeys: SigningKey[] = [];
  tokenLifetimeSeconds = 3600;
  /** Tokens issued (tests check caching). */
  issued = 0;
  private readonly usedAssertions = new Set<string>();

  static async create(): Promise<AdfsServer> {
    const server = new AdfsServer();
    server.signingKeys = [await Tenant.newSigningKey()];
    return server;
  }

  get issuer(): string {
    return `${this.url}/adfs`;
  }

  /** AD FS stamps access tokens with its federation service identifier, over http by design. */
  get accessTokenIssuer(): string {
    return `http://${new URL(this.url).host}/adfs/services/trust`;
  }

  get tokenEndpoint(): string {
    return `${this.url}/adfs/oauth2/token/`;
  }

  addRelyingParty(identifier: string): void {
    this.relyingParties.add(norm(identifier));
  }

  /** A server application of an application group; `permittedResources` = its relying-party permissions. */
  registerClient(init: Partial<Omit<AdfsClient, "permittedResources">> & { displayName: string; permittedResources?: string[] }): AdfsClient {
    const client: AdfsClient = {
      clientId: init.clientId ?? randomUUID(),
      displayName: init.displayName,
      secrets: init.secrets ?? [],
      certificates: init.certificates ?? [],
      permittedResources: new Set((init.permittedResources ?? []).map(norm)),
    };
    this.clients.set(client.clientId.toLowerCase(), client);
    return client;
  }

  discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      access_token_issuer: this.accessTokenIssuer,
      authorization_endpoint: `${this.url}/adfs/oauth2/authorize/`,
      token_endpoint: this.tokenEndpoint,
      jwks_uri: `${this.url}/adfs/discovery/keys`,
      end_session_endpoint: `${this.url}/adfs/oauth2/logout`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic", "private_key_jwt", "windows_client_authentication"],
      token_endpoint_auth_signing_alg_values_supported: ["RS256"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer", "implicit", "password"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token", "code token", "code id_token token"],
      scopes_supported: ["openid", "profile", "email", "allatclaims", "aza", "vpn", "logon_cert", "user_impersonation"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      microsoft_multi_refresh_token: true,
      capabilities: ["kdf_ver2"],
    };
  }

  /** Issues an AD FS access token (also used by tests to forge tokens with `claims` overrides). */
  async issueAccessToken(clientId: string, resource: string, claims: Record<string, unknown> = {}): Promise<{ token: string; expiresIn: number }> {
    const key = this.signingKeys[0]!;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ appid: clientId, apptype: "Confidential", auth_time: now, authmethod: "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password", ver: "1.0", scp: "openid", ...claims })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid, x5t: key.kid })
      .setIssuer(this.accessTokenIssuer)
      .setAudience(resource)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.tokenLifetimeSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
    this.issued++;
    return { token, expiresIn: this.tokenLifetimeSeconds };
  }

  /** The client an authenticated request comes from, or the AD FS error. */
  async authenticateClient(form: URLSearchParams, authorization: string | undefined): Promise<AdfsClient | AdfsError> {
    let clientId = form.get("client_id") ?? undefined;
    let secret = form.get("client_secret") ?? undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? "");
    if (basic) {
      const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      clientId = decodeURIComponent(decoded.slice(0, i));
      secret = decodeURIComponent(decoded.slice(i + 1));
    }
    const assertion = form.get("client_assertion") ?? undefined;
    if (!clientId && assertion) {
      try { clientId = String((JSON.parse(Buffer.from(assertion.split(".")[1] ?? "", "base64url").toString()) as { iss?: unknown }).iss ?? ""); } catch { /* below */ }
    }
    if (!clientId) return adfsErrors.unknownClient("");
    const client = this.clients.get(clientId.toLowerCase());
    if (!client) return adfsErrors.unknownClient(clientId);
    if (assertion) {
      if (form.get("client_assertion_type") !== JWT_BEARER) return adfsErrors.clientAuthFailed();
      return (await this.verifyAssertion(client, assertion)) ? client : adfsErrors.clientAuthFailed();
    }
    if (secret !== undefined && client.secrets.some((s) => sameSecret(secret, s))) return client;
    return adfsErrors.clientAuthFailed();
  }

  private async verifyAssertion(client: AdfsClient, assertion: string): Promise<boolean> {
    let x5t: string | undefined;
    try {
      const header = decodeProtectedHeader(assertion);
      x5t = typeof header.x5t === "string" ? header.x5t.replace(/=+$/, "") : undefined;
    } catch {
      return false;
    }
    const certs = client.certificates.map((pem) => new X509Certificate(certificateBlock(pem)));
    const cert = certs.find((c) => x5t !== undefined && thumbprint(c.fingerprint) === x5t);
    if (!cert) return false;
    try {
      const { payload } = await jwtVerify(assertion, cert.publicKey, {
        algorithms: ["RS256"], audience: [this.tokenEndpoint, this.tokenEndpoint.replace(/\/$/, "")],
        issuer: client.clientId, subject: client.clientId, requiredClaims: ["exp", "jti"], clockTolerance: 300,
      });
      if (this.usedAssertions.has(payload.jti!)) return false; // replay
      this.usedAssertions.add(payload.jti!);
      return true;
    } catch (err) {
      if (err instanceof errors.JOSEError) return false;
      throw err;
    }
  }
}

function sendError(res: ServerResponse, e: AdfsError): void {
  sendJson(res, e.status, { error: e.error, error_description: e.description }, { "cache-control": "no-store", pragma: "no-cache" });
}

async function token(adfs: AdfsServer, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const form = new URLSearchParams(body.toString("utf8"));
  const grant = form.get("grant_type") ?? "";
  if (grant !== "client_credentials") return sendError(res, adfsErrors.unsupportedGrant(grant));
  const client = await adfs.authenticateClient(form, req.headers.authorization);
  if ("error" in client) return sendError(res, client);
  // AD FS takes the target as `resource`; AD FS 2019 also accepts `scope=<rp>/.default`.
  const scope = form.get("scope")?.split(" ").find((s) => s.endsWith("/.default"));
  const resource = form.get("resource") ?? (scope ? scope.slice(0, -"/.default".length) : undefined);
  if (!resource) return sendError(res, adfsErrors.missingResource());
  if (!adfs.relyingParties.has(norm(resource))) return sendError(res, adfsErrors.unknownResource(resource));
  if (!client.permittedResources.has(norm(resource))) return sendError(res, adfsErrors.notPermitted(client.clientId, resource));
  const { token: accessToken, expiresIn } = await adfs.issueAccessToken(client.clientId, resource);
  sendJson(res, 200, { access_token: accessToken, token_type: "bearer", expires_in: expiresIn, resource }, { "cache-control": "no-store", pragma: "no-cache" });
}

export function createAdfsHandler(adfs: AdfsServer): Handler {
  return async (req, res, body) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && path === "/adfs/.well-known/openid-configuration") return sendJson(res, 200, adfs.discovery());
    if (req.method === "GET" && path === "/adfs/discovery/keys") {
      return sendJson(res, 200, { keys: adfs.signingKeys.map((k) => ({ ...k.publicJwk, x5t: k.kid })) });
    }
    if (path === "/adfs/oauth2/token" || path === "/adfs/oauth2/token/") {
      if (req.method !== "POST") return sendError(res, { status: 405, error: "invalid_request", description: "MSIS9921: Received invalid OAuth request. The request must be a POST." });
      return token(adfs, req, res, body);
    }
    sendJson(res, 404, { error: "not_found", error_description: `MSIS7000: The requested resource '${path.slice(0, 200)}' was not found.` });
  };
}
