// The bridge's own app registration credential (APP_CLIENT_ID), from the Key Vault secret named by
// APP_CREDENTIAL_SECRET_NAME: a client secret, or a PEM holding certificate + private key.
// One long-lived TokenCredential per process; rebuilt when the secret rotates in the vault.
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from "@azure/identity";
import type { Config } from "../config/config.js";
import type { SecretReader, SecretValue } from "./secret-store.js";

export interface AppCredentialSettings {
  tenantId: string;
  clientId: string;
  authorityHost: string;
  /** Off for non-Microsoft authority hosts (sovereign test hosts, the sandbox). */
  disableInstanceDiscovery: boolean;
  secretName: string;
}

/** Entra errors that mean "this credential no longer works" (rotated, expired or removed). */
const STALE_CREDENTIAL = /AADSTS(7000215|7000222|700027|700024|7000112|50012)\b/;

export function isPem(value: string): boolean {
  return value.includes("-----BEGIN") && value.includes("PRIVATE KEY-----");
}

export class AppCredential implements TokenCredential {
  private inner?: { credential: TokenCredential; version: string };

  constructor(
    private readonly settings: AppCredentialSettings,
    private readonly secrets: SecretReader,
    private readonly build: (settings: AppCredentialSettings, secret: SecretValue) => TokenCredential = buildCredential,
  ) {}

  /** `forceRefresh`: a resource refused the cached token (401); build a fresh credential so none of its cache is reused. */
  async getToken(scopes: string | string[], options: GetTokenOptions & { forceRefresh?: boolean } = {}): Promise<AccessToken> {
    if (options.forceRefresh) this.inner = undefined;
    const credential = await this.current(options.abortSignal);
    try {
      const token = await credential.getToken(scopes, options);
      if (!token) throw new Error("the app credential returned no token");
      return token;
    } catch (error) {
      if (!STALE_CREDENTIAL.test(String((error as Error)?.message))) throw error;
      // The vault may hold a newer version: re-read once and retry with it.
      this.secrets.invalidate(this.settings.secretName);
      const fresh = await this.current(options.abortSignal);
      if (fresh === credential) throw error;
      const token = await fresh.getToken(scopes, options);
      if (!token) throw new Error("the app credential returned no token", { cause: error });
      return token;
    }
  }

  private async current(abortSignal?: GetTokenOptions["abortSignal"]): Promise<TokenCredential> {
    const secret = await this.secrets.getSecret(this.settings.secretName, { abortSignal });
    if (!this.inner || this.inner.version !== secret.version) {
      this.inner = { credential: this.build(this.settings, secret), version: secret.version };
    }
    return this.inner.credential;
  }
}

function buildCredential(settings: AppCredentialSettings, secret: SecretValue): TokenCredential {
  const options = { authorityHost: settings.authorityHost, disableInstanceDiscovery: settings.disableInstanceDiscovery };
  if (isPem(secret.value)) {
    return new ClientCertificateCredential(settings.tenantId, settings.clientId, { certificate: secret.value }, options);
  }
  return new ClientSecretCredential(settings.tenantId, settings.clientId, secret.value.trim(), options);
}

/** The bridge's own app credential (APP_CLIENT_ID) over the secret store. */
export function createAppCredential(config: Config, secrets: SecretReader): AppCredential {
  return new AppCredential({
    tenantId: config.tenantId,
    clientId: config.appClientId,
    authorityHost: config.authorityHost,
    disableInstanceDiscovery: !config.isMicrosoftAuthority,
    secretName: config.appCredentialSecretName,
  }, secrets);
}
