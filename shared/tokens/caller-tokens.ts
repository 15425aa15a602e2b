// Each S2S caller's OWN Dataverse token: the bridge signs in as the caller's `dataverseAppId`,
// never as itself, so Dataverse sees (and audits) the caller's application user with its own security roles.
// - "federated" (default): a managed-identity token for `api://AzureADTokenExchange` is the client assertion
//   of a client-credentials request for that app (workload identity federation; no secret anywhere);
// - {"secretName"}: that app's client secret or PEM certificate + key from Key Vault.
// At an on-premises org the caller's identity is its own AD FS application (client id = `dataverseAppId`, same
// vault secret), signing in at that org's AD FS authority with `resource` = the org URL — never the bridge's.
// Tokens are cached per (identity, org), single-flight, refreshed ahead (DataverseTokenCache). A token whose
// `appid` is not the caller's app (or is the bridge's own) is never handed out.
import type { AccessToken, TokenCredential } from "@azure/identity";
import { callerIdentityKey, type BridgeIdentities, type TokenCaller } from "../config/token-callers.js";
import { AdfsCredential, adfsTransport } from "../credentials/adfs-credential.js";
import { AppCredential } from "../credentials/app-credential.js";
import { createFederatedCredential } from "../credentials/federated-credential.js";
import type { OnPremisesCa } from "../credentials/onprem-ca.js";
import type { SecretReader } from "../credentials/secret-store.js";
import { AppError, describeError } from "../errors/app-error.js";
import { backgroundLogger } from "../telemetry/logger.js";
import { DataverseTokenCache, jwtClaims, type CachedToken } from "./dataverse-token-cache.js";

/** The AppError code of a caller that names one of the bridge's own identities. */
export const CALLER_IDENTITY_RESERVED = "caller_identity_reserved";

export interface CallerTokenSettings {
  tenantId: string;
  authorityHost: string;
  disableInstanceDiscovery: boolean;
  /** APP_CLIENT_ID: its token must never come out of here. */
  bridgeAppId: string;
  /** The AD FS authority of an on-premises org; undefined for an online org (Entra). */
  adfsAuthority?: (org: string) => string | undefined;
  /** The bridge's own AD FS clients and credential secrets: never a caller's (refused before any token is sought). */
  reserved?: Pick<BridgeIdentities, "adfsClientIds" | "secretNames">;
}

export type CallerIdentity = Pick<TokenCaller, "id" | "dataverseAppId" | "credential">;

export interface CallerTokenDeps {
  settings: CallerTokenSettings;
  /** The Function App's managed identity (the same one that reads Key Vault). */
  platform: TokenCredential;
  secrets: SecretReader;
  cache?: DataverseTokenCache;
  /** The on-premises CA bundle's trust, for the AD FS of on-premises orgs. */
  onPremisesCa?: OnPremisesCa;
}

export class CallerTokens {
  private readonly credentials = new Map<string, TokenCredential>();
  private readonly adfsCredentials = new Map<string, AdfsCredential>();
  private readonly cache: DataverseTokenCache;

  constructor(private readonly deps: CallerTokenDeps) {
    this.cache = deps.cache ?? new DataverseTokenCache({
      // The key names the caller's identity and the org, never a secret.
      onBackgroundError: (key, error) => backgroundLogger().warn(`background refresh of a caller token failed (${key}): ${describeError(error, 300)}`),
    });
  }

  /** The caller's own token for `org`: cached per (identity, org), one acquisition at a time. */
  get(caller: CallerIdentity, org: string): Promise<CachedToken> {
    return this.cache.get(`${callerIdentityKey(caller)} ${org}`, () => this.acquire(caller, org));
  }

  /** A fresh token, bypassing the cache (caller status checks). */
  acquire = async (caller: CallerIdentity, org: string, abortSignal?: AbortSignal): Promise<AccessToken> => {
    this.refuseReserved(caller, caller.dataverseAppId);
    const authority = this.deps.settings.adfsAuthority?.(org);
    const token = authority
      ? await this.adfsCredentialFor(caller, authority).getToken(org, { abortSignal })
      : await this.credentialFor(caller).getToken(`${org}/.default`, { abortSignal });
    if (!token?.token) throw new AppError(`${authority ? "AD FS" : "Entra"} returned no token for caller "${caller.id}"`, 503, "caller_token_missing");
    const appId = String(jwtClaims(token.token)?.appid ?? jwtClaims(token.token)?.azp ?? jwtClaims(token.token)?.client_id ?? "").toLowerCase();
    this.refuseReserved(caller, appId);
    if (appId === this.deps.settings.bridgeAppId.toLowerCase() || appId !== caller.dataverseAppId.toLowerCase()) {
      throw new AppError(`the token obtained for caller "${caller.id}" is not for its own app (${caller.dataverseAppId}); refusing to issue it`, 503, "caller_token_wrong_app");
    }
    return token;
  };

  /** Configuration refuses these at start-up; checked again here, where a token would be obtained. */
  private refuseReserved(caller: CallerIdentity, appId: string): void {
    const reserved = this.deps.settings.reserved;
    if (!reserved) return;
    const secret = caller.credential === "federated" ? undefined : caller.credential.secretName.toLowerCase();
    if (reserved.adfsClientIds.some((id) => id.trim().toLowerCase() === appId.toLowerCase()) || (secret && reserved.secretNames.some((n) => n.toLowerCase() === secret))) {
      throw new AppError(`caller "${caller.id}" names one of the bridge's own identities or credential secrets; refusing to issue`, 403, CALLER_IDENTITY_RESERVED);
    }
  }

  private credentialFor(caller: CallerIdentity): TokenCredential {
    const key = callerIdentityKey(caller);
    let credential = this.credentials.get(key);
    if (!credential) {
      credential = this.build(caller);
      this.credentials.set(key, credential);
    }
    return credential;
  }

  /** The caller's AD FS application at one authority (config refuses a federated caller for an on-premises org). */
  private adfsCredentialFor(caller: CallerIdentity, authority: string): AdfsCredential {
    if (caller.credential === "federated") {
      throw new AppError(`caller "${caller.id}" has no AD FS credential (an on-premises org needs "credential": {"secretName"})`, 503, "caller_no_adfs_credential");
    }
    const key = `${callerIdentityKey(caller)} ${authority}`;
    let credential = this.adfsCredentials.get(key);
    if (!credential) {
      credential = new AdfsCredential({ authority, clientId: caller.dataverseAppId, credentialSecretName: caller.credential.secretName }, this.deps.secrets, adfsTransport(this.deps.onPremisesCa));
      this.adfsCredentials.set(key, credential);
    }
    return credential;
  }

  private build(caller: CallerIdentity): TokenCredential {
    const { tenantId, authorityHost, disableInstanceDiscovery } = this.deps.settings;
    if (caller.credential === "federated") {
      return createFederatedCredential({ tenantId, clientId: caller.dataverseAppId, authorityHost, disableInstanceDiscovery }, this.deps.platform);
    }
    return new AppCredential({ tenantId, clientId: caller.dataverseAppId, authorityHost, disableInstanceDiscovery, secretName: caller.credential.secretName }, this.deps.secrets);
  }
}
