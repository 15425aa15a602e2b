// The sandbox tenant: directory, app registrations, signing keys, managed identity and vault contents.
// The emulators serve views of this one object; tests change it directly.
import { randomUUID } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, type JWK, type CryptoKey } from "jose";
import { Directory } from "./directory.js";

export interface AppRegistration {
  clientId: string;
  /** Object id of the app's service principal (the `oid`/`sub` of its app-only tokens). */
  servicePrincipalId: string;
  displayName: string;
  secrets: string[];
  /** PEM certificates (public) accepted for client assertions. */
  certificates: string[];
  /** App roles granted to this app, keyed by the resource's audience (App ID URI or URL). */
  roles: Record<string, string[]>;
  /** Redirect URIs of the "Single-page application" platform (auth code + PKCE, CORS at the token endpoint). */
  spaRedirectUris: string[];
  /** Federated identity credentials: an external token (issuer, subject, audience) it trusts as its credential. */
  federatedCredentials: FederatedCredential[];
}

export interface FederatedCredential {
  name: string;
  issuer: string;
  /** Matched case-sensitively; for a managed identity, its object (principal) id. */
  subject: string;
  audiences: string[];
}

/** A person who can sign in interactively (the browser flow), with app roles assigned per resource audience. */
export interface SignInUser {
  objectId: string;
  userPrincipalName: string;
  displayName: string;
  appRoles: Record<string, string[]>;
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface VaultSecretVersion {
  version: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  created: number;
  updated: number;
  tags?: Record<string, string>;
  /** `nbf` / `exp` attributes, epoch seconds. */
  notBefore?: number;
  expires?: number;
}

export interface TokenRequest {
  /** The app the token is for (`appid`/`azp`). */
  clientId: string;
  /** `aud`. */
  audience: string;
  roles?: string[];
  lifetimeSeconds?: number;
  /** Overrides or extra claims (tests use it to forge bad tokens). */
  claims?: Record<string, unknown>;
  /** Sign with this key instead of the current one. */
  key?: SigningKey;
}

export class Tenant {
  readonly tenantId: string;
  readonly directory = new Directory();
  readonly apps = new Map<string, AppRegistration>();
  readonly vault = new Map<string, VaultSecretVersion[]>();
  /** Accounts offered on the sign-in page (kept apart from the synced directory). */
  readonly signInUsers = new Map<string, SignInUser>();
  /** Keys published in JWKS; the first signs new tokens. */
  signingKeys: SigningKey[] = [];
  /** Set by the Entra emulator once it listens: `https://127.0.0.1:port`. */
  authorityUrl = "";
  /** The Function App's managed identity. */
  readonly managedIdentity = { clientId: randomUUID(), principalId: randomUUID() };
  /** Value the managed-identity endpoint expects in `X-IDENTITY-HEADER`. */
  readonly identityHeader = randomUUID();
  /** Roles of the managed identity on resources (e.g. Key Vault Secrets User), for 403 tests. */
  managedIdentityCanReadVault = true;
  /** Fixed lifetime (seconds) of tokens the Entra and managed-identity endpoints issue; unset = Entra's random 60–90 min. */
  tokenLifetimeSeconds: number | undefined = undefined;
  /** Key Vault: authenticated reads of a secret value, by secret name (proves caching/coalescing). */
  readonly vaultReads = new Map<string, number>();
  /** Key Vault: secret names whose reads answer 403 ForbiddenByRbac for every caller; "*" = all secrets. */
  readonly vaultForbiddenSecrets = new Set<string>();

  private constructor(tenantId: string) {
    this.tenantId = tenantId;
  }

  static async create(tenantId: string = randomUUID()): Promise<Tenant> {
    const tenant = new Tenant(tenantId);
    await tenant.rotateSigningKey();
    return tenant;
  }

  get issuer(): string {
    return `${this.authorityUrl}/${this.tenantId}/v2.0`;
  }

  /** Adds a new signing key in front (it signs from now on); older keys stay published unless dropped. */
  async rotateSigningKey(dropOld = false): Promise<SigningKey> {
    const key = await Tenant.newSigningKey();
    this.signingKeys = dropOld ? [key] : [key, ...this.signingKeys];
    return key;
  }

  static async newSigningKey(): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const kid = randomUUID().replace(/-/g, "");
    const publicJwk = { ...(await exportJWK(publicKey)), kid, use: "sig", alg: "RS256", kty: "RSA" };
    return { kid, privateKey, publicJwk };
  }

  registerApp(init: Partial<AppRegistration> & { displayName: string }): AppRegistration {
    const app: AppRegistration = {
      clientId: init.clientId ?? randomUUID(),
      servicePrincipalId: init.servicePrincipalId ?? randomUUID(),
      displayName: init.displayName,
      secrets: init.secrets ?? [],
      certificates: init.certificates ?? [],
      roles: init.roles ?? {},
      federatedCredentials: init.federatedCredentials ?? [],
      spaRedirectUris: init.spaRedirectUris ?? [],
    };
    this.apps.set(app.clientId, app);
    return app;
  }

  setSecret(name: string, value: string, contentType?: string): VaultSecretVersion {
    const now = Math.floor(Date.now() / 1000);
    const version: VaultSecretVersion = { version: randomUUID().replace(/-/g, ""), value, contentType, enabled: true, created: now, updated: now };
    const versions = this.vault.get(name) ?? [];
    versions.push(version);
    this.vault.set(name, versions);
    return version;
  }

  /** A federated identity credential trusting the Function App's managed identity (what `az ad app federated-credential create` adds). */
  trustManagedIdentity(app: AppRegistration, name = "identity-bridge"): FederatedCredential {
    const credential = { name, issuer: this.issuer, subject: this.managedIdentity.principalId, audiences: ["api://AzureADTokenExchange"] };
    app.federatedCredentials.push(credential);
    return credential;
  }

  vaultReadCount(name: string): number {
    return this.vaultReads.get(name) ?? 0;
  }

  /** Latest version of a secret (Key Vault's "current" version), if any. */
  latestSecret(name: string): VaultSecretVersion | undefined {
    const versions = this.vault.get(name);
    return versions?.[versions.length - 1];
  }

  addSignInUser(init: Omit<SignInUser, "objectId"> & { objectId?: string }): SignInUser {
    const user = { ...init, objectId: init.objectId ?? randomUUID() };
    this.signInUsers.set(user.objectId, user);
    return user;
  }

  /** A delegated (user) access token: `scp`, the user's app roles on the audience, no `idtyp: "app"`. */
  async issueUserAccessToken(request: { clientId: string; audience: string; user: SignInUser; scp: string; lifetimeSeconds?: number }): Promise<{ token: string; expiresOn: number }> {
    const trimmed = request.audience.replace(/\/+$/, "");
    const roles = request.user.appRoles[request.audience] ?? request.user.appRoles[trimmed] ?? [];
    return this.issueAccessToken({
      clientId: request.clientId,
      audience: request.audience,
      roles,
      lifetimeSeconds: request.lifetimeSeconds,
      claims: {
        oid: request.user.objectId, sub: request.user.objectId, idtyp: undefined, appid: undefined, azpacr: "0",
        scp: request.scp, name: request.user.displayName, preferred_username: request.user.userPrincipalName, upn: request.user.userPrincipalName,
      },
    });
  }

  /** An OpenID Connect ID token for a signed-in user (audience: the client). */
  async issueIdToken(request: { clientId: string; user: SignInUser; nonce?: string }): Promise<string> {
    const key = this.signingKeys[0]!;
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      aud: request.clientId, iss: this.issuer, iat: now, nbf: now, exp: now + 3600, tid: this.tenantId,
      oid: request.user.objectId, sub: request.user.objectId, name: request.user.displayName,
      preferred_username: request.user.userPrincipalName, ver: "2.0", ...(request.nonce ? { nonce: request.nonce } : {}),
    };
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid }).sign(key.privateKey);
  }

  /** An app-only access token as Entra's v2 endpoint issues it. */
  async issueAccessToken(request: TokenRequest): Promise<{ token: string; expiresOn: number }> {
    const key = request.key ?? this.signingKeys[0]!;
    const app = this.apps.get(request.clientId);
    const now = Math.floor(Date.now() / 1000);
    const lifetime = request.lifetimeSeconds ?? 3600 + Math.floor(Math.random() * 1800);
    const oid = app?.servicePrincipalId ?? (request.clientId === this.managedIdentity.clientId ? this.managedIdentity.principalId : randomUUID());
    const claims: Record<string, unknown> = {
      aud: request.audience,
      iss: this.issuer,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      tid: this.tenantId,
      oid,
      sub: oid,
      azp: request.clientId,
      appid: request.clientId,
      azpacr: "1",
      idtyp: "app",
      ver: "2.0",
      uti: randomUUID().replace(/-/g, ""),
      ...(request.roles && request.roles.length > 0 ? { roles: request.roles } : {}),
      ...request.claims,
    };
    const token = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid }).sign(key.privateKey);
    return { token, expiresOn: claims.exp as number };
  }
}
