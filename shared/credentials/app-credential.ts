// The bridge's own app registration credential (APP_CLIENT_ID), chosen by Config.appSignIn: the Key Vault secret
// named by APP_CREDENTIAL_SECRET_NAME (a client secret, or a PEM holding certificate + private key; rebuilt when
// the secret rotates in the vault), else a federated credential trusting the managed identity, else (a
// workstation) the Azure CLI login. One long-lived TokenCredential per bridge. AppCredential also serves callers
// whose Dataverse app signs in with a vault secret.
import {
  AzureCliCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from "@azure/identity";
import type { Config } from "../config/config.js";
import { createFederatedCredential } from "./federated-credential.js";
import type { SecretReader, SecretValue } from "./secret-store.js";
import { errorMessage } from "../errors/app-error.js";

/** What signs the bridge in, as /api/ready reports it (never the secret itself). */
export type AppCredentialKind = "secret" | "certificate" | "federated" | "azure-cli";

type RefreshableOptions = GetTokenOptions & { forceRefresh?: boolean };

/** The bridge's sign-in as APP_CLIENT_ID: Graph and every online org. */
export interface BridgeAppCredential extends TokenCredential {
  /** `forceRefresh`: a resource refused the cached token (401); start afresh so none of the cache is reused. */
  getToken(scopes: string | string[], options?: RefreshableOptions): Promise<AccessToken>;
  /** Which credential is in use; for a vault secret this reads it (cached) to tell a secret from a certificate. */
  kind(abortSignal?: GetTokenOptions["abortSignal"]): Promise<AppCredentialKind>;
}

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

export class AppCredential implements BridgeAppCredential {
  private inner?: { credential: TokenCredential; version: string };

  constructor(
    private readonly settings: AppCredentialSettings,
    private readonly secrets: SecretReader,
    private readonly build: (settings: AppCredentialSettings, secret: SecretValue) => TokenCredential = buildCredential,
  ) {}

  /** `forceRefresh`: a resource refused the cached token (401); build a fresh credential so none of its cache is reused. */
  async getToken(scopes: string | string[], options: RefreshableOptions = {}): Promise<AccessToken> {
    if (options.forceRefresh) this.inner = undefined;
    const credential = await this.current(options.abortSignal);
    try {
      const token = await credential.getToken(scopes, options);
      if (!token) throw new Error("the app credential returned no token");
      return token;
    } catch (error) {
      if (!STALE_CREDENTIAL.test(errorMessage(error))) throw error;
      // The vault may hold a newer version: re-read once and retry with it.
      this.secrets.invalidate(this.settings.secretName);
      const fresh = await this.current(options.abortSignal);
      if (fresh === credential) throw error;
      const token = await fresh.getToken(scopes, options);
      if (!token) throw new Error("the app credential returned no token", { cause: error });
      return token;
    }
  }

  async kind(abortSignal?: GetTokenOptions["abortSignal"]): Promise<AppCredentialKind> {
    const secret = await this.secrets.getSecret(this.settings.secretName, { abortSignal });
    return isPem(secret.value) ? "certificate" : "secret";
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

/** A credential without a secret of its own (federated, Azure CLI), rebuilt on `forceRefresh` so no cached token survives a 401. */
class RenewableCredential implements BridgeAppCredential {
  private inner: TokenCredential;

  constructor(private readonly credentialKind: AppCredentialKind, private readonly build: () => TokenCredential) {
    this.inner = build();
  }

  async getToken(scopes: string | string[], options: RefreshableOptions = {}): Promise<AccessToken> {
    if (options.forceRefresh) this.inner = this.build();
    const token = await this.inner.getToken(scopes, options);
    if (!token) throw new Error(`the ${this.credentialKind} app credential returned no token`);
    return token;
  }

  async kind(): Promise<AppCredentialKind> {
    return this.credentialKind;
  }
}

/** The bridge's own app credential (APP_CLIENT_ID), as `config.appSignIn` says; `platform` is the managed identity. */
export function createAppCredential(config: Config, secrets: SecretReader, platform: TokenCredential): BridgeAppCredential {
  const app = { tenantId: config.tenantId, clientId: config.appClientId, authorityHost: config.authorityHost, disableInstanceDiscovery: !config.isMicrosoftAuthority };
  switch (config.appSignIn) {
    case "vault-secret":
      return new AppCredential({ ...app, secretName: config.appCredentialSecretName! }, secrets);
    case "federated":
      return new RenewableCredential("federated", () => createFederatedCredential(app, platform));
    case "azure-cli":
      // The signed-in person's own tokens: locally the bridge acts as them, not as APP_CLIENT_ID.
      return new RenewableCredential("azure-cli", () => new AzureCliCredential({ tenantId: config.tenantId }));
  }
}
