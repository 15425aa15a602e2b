// The bridge's AD FS application (an application group's server application) for an on-premises / IFD org:
// OAuth 2.0 client credentials at the AD FS token endpoint found through `<authority>/.well-known/openid-configuration`,
// `resource` = the org URL (AD FS names the target by resource, not by `.default` scopes). The credential in
// Key Vault is the client secret, or a PEM holding certificate + private key for private_key_jwt.
//
// Client library: openid-client (discovery, client authentication, token request, response checks). MSAL
// (through @azure/identity's tenant "adfs") was not chosen: it asks for scopes, and AD FS 2016 only takes `resource`.
// Tokens are cached per resource and refreshed 5 minutes before expiry; concurrent requests share one call.
import { X509Certificate, createPrivateKey, webcrypto } from "node:crypto";
import * as oidc from "openid-client";
import type { AdfsSettings } from "../config/dataverse-orgs.js";
import { AppError } from "../errors/app-error.js";
import { isPem } from "./app-credential.js";
import { untrustedCertificateCode, untrustedCertificateHint, type OnPremisesCa } from "./onprem-ca.js";
import type { SecretReader, SecretValue } from "./secret-store.js";

export interface AdfsAccessToken {
  token: string;
  expiresOnTimestamp: number;
}

export interface AdfsCredentialOptions {
  now?: () => number;
  /** Refresh this long before expiry (default 5 minutes, as the Azure SDK does). */
  refreshMarginMs?: number;
  /** The HTTP client for AD FS: the on-premises CA bundle's fetch (OnPremisesCa) where one is configured. */
  fetch?: oidc.CustomFetch;
  /** Whether an on-premises CA bundle is configured (the hint for an untrusted certificate). */
  caBundleConfigured?: boolean;
}

interface Built {
  version: string;
  config: oidc.Configuration;
}

interface Cached {
  token?: AdfsAccessToken;
  pending?: Promise<AdfsAccessToken>;
}

/** What MSIS codes mean for the operator (federation-adfs-telemetry.md §3). */
const MSIS_HINTS: ReadonlyArray<[RegExp, (s: AdfsSettings, resource: string) => string]> = [
  [/MSIS9602\b/, (_s, r) => `AD FS has no relying party trust for "${r}": the Dynamics 365 (CRM) relying party must list the org URL as an identifier`],
  [/MSIS9605\b/, (s, r) => `the AD FS application "${s.clientId}" has no permission on the relying party "${r}": in its application group, add an application permission (Web API) for the CRM relying party`],
  [/MSIS9622\b/, (s) => `AD FS refused the client credential of "${s.clientId}": the Key Vault secret "${s.credentialSecretName}" must hold its current client secret, or a PEM certificate + key whose certificate is registered on the server application`],
  [/MSIS9607\b/, (s) => `AD FS knows no client "${s.clientId}": check clientId in DATAVERSE_ORGS against the application group's server application`],
];

const STALE_CREDENTIAL = /MSIS9622\b/;

export class AdfsTokenError extends AppError {
  constructor(message: string, readonly adfsError: string | undefined, options?: { cause?: unknown }) {
    super(message, 502, "adfs_token_failed", options);
  }
}

/** The AD FS credential's HTTP options over the on-premises CA trust (none: Node's default fetch and trust). */
export function adfsTransport(ca: Pick<OnPremisesCa, "fetch" | "configured"> | undefined): Pick<AdfsCredentialOptions, "fetch" | "caBundleConfigured"> {
  return ca ? { fetch: ca.fetch, caBundleConfigured: ca.configured } : {};
}

export class AdfsCredential {
  private built?: Built;
  private server?: oidc.ServerMetadata;
  private readonly cache = new Map<string, Cached>();
  private readonly now: () => number;
  private readonly margin: number;

  constructor(private readonly settings: AdfsSettings, private readonly secrets: SecretReader, private readonly options: AdfsCredentialOptions = {}) {
    this.now = options.now ?? Date.now;
    this.margin = options.refreshMarginMs ?? 5 * 60_000;
  }

  /** An access token for `resource` (the org URL); `forceRefresh` after a 401 skips the cache. */
  async getToken(resource: string, options: { forceRefresh?: boolean; abortSignal?: AbortSignal } = {}): Promise<AdfsAccessToken> {
    const entry = this.cache.get(resource) ?? {};
    this.cache.set(resource, entry);
    if (!options.forceRefresh && entry.token && entry.token.expiresOnTimestamp - this.margin > this.now()) return entry.token;
    if (entry.pending) return entry.pending;
    entry.pending = this.acquire(resource, options.abortSignal).then(
      (token) => { entry.token = token; entry.pending = undefined; return token; },
      (error: unknown) => { entry.pending = undefined; throw error; },
    );
    return entry.pending;
  }

  private async acquire(resource: string, abortSignal?: AbortSignal): Promise<AdfsAccessToken> {
    const config = await this.configuration(abortSignal);
    try {
      return await this.request(config, resource);
    } catch (error) {
      if (!STALE_CREDENTIAL.test(describeOidcError(error))) throw this.explain(error, resource);
      // The vault may hold a newer credential (rotation): re-read once and retry with it.
      this.secrets.invalidate(this.settings.credentialSecretName);
      const fresh = await this.configuration(abortSignal);
      if (fresh === config) throw this.explain(error, resource);
      try {
        return await this.request(fresh, resource);
      } catch (again) {
        throw this.explain(again, resource);
      }
    }
  }

  private async request(config: oidc.Configuration, resource: string): Promise<AdfsAccessToken> {
    const response = await oidc.clientCredentialsGrant(config, { resource });
    const lifetime = typeof response.expires_in === "number" && response.expires_in > 0 ? response.expires_in : 3600;
    return { token: response.access_token, expiresOnTimestamp: this.now() + lifetime * 1000 };
  }

  private async configuration(abortSignal?: AbortSignal): Promise<oidc.Configuration> {
    const secret = await this.secrets.getSecret(this.settings.credentialSecretName, { abortSignal });
    if (this.built?.version === secret.version) return this.built.config;
    const server = await this.metadata();
    const config = new oidc.Configuration(server, this.settings.clientId, undefined, await clientAuth(secret, server));
    if (this.options.fetch) config[oidc.customFetch] = this.options.fetch;
    this.built = { version: secret.version, config };
    return this.built.config;
  }

  /** The OpenID configuration, read once per credential (AD FS publishes it under the authority). */
  private async metadata(): Promise<oidc.ServerMetadata> {
    if (this.server) return this.server;
    try {
      const options = this.options.fetch ? { [oidc.customFetch]: this.options.fetch } : undefined;
      const discovered = await oidc.discovery(new URL(this.settings.authority), this.settings.clientId, undefined, oidc.None(), options);
      this.server = discovered.serverMetadata();
      return this.server;
    } catch (error) {
      const untrusted = untrustedCertificateCode(error);
      const why = untrusted ? untrustedCertificateHint(new URL(this.settings.authority).origin, untrusted, this.options.caBundleConfigured === true) : describeOidcError(error);
      throw new AdfsTokenError(`could not read the AD FS OpenID configuration at ${this.settings.authority}/.well-known/openid-configuration: ${why}`, untrusted ? "certificate_untrusted" : undefined, { cause: error });
    }
  }

  private explain(error: unknown, resource: string): AdfsTokenError {
    const text = describeOidcError(error);
    const hint = MSIS_HINTS.find(([re]) => re.test(text))?.[1](this.settings, resource);
    const code = error instanceof oidc.ResponseBodyError ? error.error : undefined;
    return new AdfsTokenError(`AD FS token for ${resource} failed: ${hint ? `${hint} (${text})` : text}`, code, { cause: error });
  }
}

/** Client secret (client_secret_post), or private_key_jwt signed with the PEM's key, `x5t` naming its certificate. */
async function clientAuth(secret: SecretValue, server: oidc.ServerMetadata): Promise<oidc.ClientAuth> {
  if (!isPem(secret.value)) return oidc.ClientSecretPost(secret.value.trim());
  const certificate = secret.value.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!certificate) throw new AdfsTokenError("the AD FS credential PEM holds a private key but no certificate (private_key_jwt needs both)", undefined);
  const x5t = Buffer.from(new X509Certificate(certificate).fingerprint.replace(/:/g, ""), "hex").toString("base64url");
  const key = await signingKey(secret.value);
  const tokenEndpoint = server.token_endpoint;
  return oidc.PrivateKeyJwt(key, {
    [oidc.modifyAssertion]: (header, payload) => {
      header.x5t = x5t;
      // AD FS expects the token endpoint as the assertion's audience, not the issuer.
      if (tokenEndpoint) payload.aud = tokenEndpoint;
    },
  });
}

/** The PEM's private key as a WebCrypto signing key (RS256; ES256 for a P-256 key). */
async function signingKey(pem: string): Promise<webcrypto.CryptoKey> {
  const key = createPrivateKey(pem);
  const der = key.export({ type: "pkcs8", format: "der" });
  const algorithm = key.asymmetricKeyType === "ec"
    ? { name: "ECDSA", namedCurve: "P-256" }
    : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return webcrypto.subtle.importKey("pkcs8", der, algorithm, false, ["sign"]);
}

/** A short, token-free account of an openid-client / network failure. */
export function describeOidcError(error: unknown): string {
  if (error instanceof oidc.ResponseBodyError) return `${error.error}: ${String(error.error_description ?? "").slice(0, 400)}`;
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message.slice(0, 200)})` : "";
    return `${error.message.slice(0, 300)}${cause}`;
  }
  return "unknown error";
}
