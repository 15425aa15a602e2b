// Typed configuration, read once from the environment and validated as a whole.
import { APP_SETTING_NAMES, originProblem, SETTING_HINTS, settingsSchema } from "./schema.js";
import { parseDataverseOrgs } from "./dataverse-orgs.js";
import { parseTokenCallers, reservedIdentityProblems, type BridgeIdentities, type TokenCaller } from "./token-callers.js";
import { normalizeOrgUrl } from "./org-url.js";
import { onlineOrgs, type OrgDescriptor } from "./dataverse-orgs.js";
import { AttributeMapError, DEFAULT_ATTRIBUTE_MAP, parseAttributeMap, type AttributeMap } from "../sync/attribute-map.js";
import type { DisableThreshold, SyncIdentity } from "../sync/domain.js";
import type { AccessRule } from "./access-rules.js";
import { AppError } from "../errors/app-error.js";

export type { DisableThreshold, SyncIdentity } from "../sync/domain.js";

export type StorageConfig =
  | { kind: "connectionString"; connectionString: string }
  | { kind: "identity"; tableServiceUri: string; queueServiceUri: string; managedIdentityClientId?: string };

export interface Config {
  tenantId: string;
  appClientId: string;
  /** User-assigned managed identity (AZURE_CLIENT_ID); undefined = system-assigned. */
  managedIdentityClientId?: string;
  /** A managed identity endpoint is present (IDENTITY_ENDPOINT or MSI_ENDPOINT, set by App Service / Functions; the sandbox emulates it). */
  hasManagedIdentity: boolean;
  authorityHost: string;
  /** True when AZURE_AUTHORITY_HOST is a Microsoft cloud (instance discovery stays on). */
  isMicrosoftAuthority: boolean;
  keyVaultUrl: string;
  /** True when the vault URL is a real Key Vault domain (challenge resource verification stays on). */
  isRealVaultDomain: boolean;
  /** APP_CREDENTIAL_SECRET_NAME; undefined = no secret: `appSignIn` is "federated" (or "azure-cli" on a workstation). */
  appCredentialSecretName?: string;
  /** How the bridge signs in as APP_CLIENT_ID (see appSignInFrom). */
  appSignIn: AppSignIn;
  graphBaseUrl: string;
  /** Normalized URLs of every org (DATAVERSE_ORGS or DATAVERSE_URLS), in `orgs` order. */
  dataverseUrls: string[];
  /** One descriptor per org: how to reach it and how its users are named. */
  orgs: OrgDescriptor[];
  storage: StorageConfig;
  sync: {
    schedule: string;
    scopeGroupIds: string[];
    identity: SyncIdentity;
    disableThreshold: DisableThreshold;
    dryRun: boolean;
    attributeMap: AttributeMap;
  };
  /** REMAP_PLACEHOLDER_USERS; REMAP_LEASE_SECONDS in ms. */
  remap: { placeholderUsers: string[]; leaseMs: number };
  /** ACCESS_RULES (in order), ACCESS_REMOVAL_THRESHOLD and SYNC_LICENSE_SKUS (lower-cased SKU ids; empty = all users). */
  access: { rules: AccessRule[]; removalThreshold: DisableThreshold; licenseSkus: string[] };
  api: { audience: string; adminRole: string };
  tokenCallers: TokenCaller[];
  /** CALLER_PROVISIONING=on: POST /api/callers/{id}/provision may write application users and roles. */
  callerProvisioning: boolean;
  notifications: { url?: string; clientStateSecretName?: string };
  /** ONPREM_CA_BUNDLE_SECRET_NAME: the vault secret with the PEM CA bundle trusted for on-premises hosts only. */
  onPremisesCaBundleSecretName?: string;
  /** The app's public origin (no trailing slash): PUBLIC_BASE_URL, else https://$WEBSITE_HOSTNAME in Azure, else the
   *  local host's address; every link in a response, the client-assertion `aud` and the console's redirect URI. */
  publicBaseUrl: string;
  /** TRUSTED_PROXY_HOPS: proxies whose X-Forwarded-For entries are trusted (the failure throttle's source). */
  trustedProxyHops: number;
}

/**
 * "vault-secret": APP_CREDENTIAL_SECRET_NAME names a client secret or PEM certificate + key in Key Vault;
 * "federated": no secret; the managed identity's token is the client assertion (a federated identity credential
 * on the app registration trusts it); "azure-cli": no secret and no managed identity (a workstation): the
 * signed-in Azure CLI user's own tokens.
 */
export type AppSignIn = "vault-secret" | "federated" | "azure-cli";

/** Answers 503 without its details (the log names each setting); the problems are for operators only. */
export class ConfigError extends AppError<"configuration_invalid"> {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`, 503, "configuration_invalid", {
      publicMessage: "The bridge's configuration is invalid; the host log names each setting to fix.",
    });
  }
}

const MICROSOFT_AUTHORITIES = [
  "login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn", "login.microsoftonline.de",
  "login.partner.microsoftonline.cn", "login.windows.net", "login.microsoft.com", "sts.windows.net",
];
const VAULT_DOMAINS = [".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net", ".vault.microsoftazure.de", ".managedhsm.azure.net"];

type Env = Record<string, string | undefined>;

function storageFrom(env: Env, problems: string[]): StorageConfig {
  const connectionString = env.AzureWebJobsStorage?.trim();
  if (connectionString) return { kind: "connectionString", connectionString };
  const account = env.AzureWebJobsStorage__accountName?.trim();
  const tableServiceUri = env.AzureWebJobsStorage__tableServiceUri?.trim() || (account ? `https://${account}.table.core.windows.net` : "");
  const queueServiceUri = env.AzureWebJobsStorage__queueServiceUri?.trim() || (account ? `https://${account}.queue.core.windows.net` : "");
  if (tableServiceUri && queueServiceUri) {
    return { kind: "identity", tableServiceUri, queueServiceUri, managedIdentityClientId: env.AzureWebJobsStorage__clientId?.trim() || undefined };
  }
  problems.push("AzureWebJobsStorage: is missing (a storage connection string, UseDevelopmentStorage=true locally, or identity-based AzureWebJobsStorage__accountName)");
  return { kind: "connectionString", connectionString: "" };
}

/**
 * PUBLIC_BASE_URL, else `https://$WEBSITE_HOSTNAME` (set by App Service / Functions in Azure), else the local
 * host's address (BRIDGE_PORT, default 7071). Never a request's Host header, which the sender chooses.
 */
function publicBaseUrlFrom(configured: string | undefined, env: Env, problems: string[]): string {
  if (configured) return configured;
  const hostname = env.WEBSITE_HOSTNAME?.trim();
  const fallback = hostname ? `https://${hostname}` : `http://127.0.0.1:${env.BRIDGE_PORT?.trim() || "7071"}`;
  const problem = originProblem(fallback);
  if (problem) problems.push(`PUBLIC_BASE_URL: is not set and ${hostname ? "WEBSITE_HOSTNAME" : "BRIDGE_PORT"} does not make a usable origin (${problem})`);
  return problem ? "" : new URL(fallback).origin;
}

/** App Service / Functions set IDENTITY_ENDPOINT (older hosts MSI_ENDPOINT) where a managed identity exists. */
function hasManagedIdentity(env: Env): boolean {
  return Boolean(env.IDENTITY_ENDPOINT?.trim() || env.MSI_ENDPOINT?.trim());
}

/** A secret when one is named; else federation with the managed identity where there is one, else the Azure CLI login (a workstation). */
function appSignInFrom(secretName: string | undefined, managedIdentity: boolean): AppSignIn {
  if (secretName) return "vault-secret";
  return managedIdentity ? "federated" : "azure-cli";
}

/** One schema issue as a problem line: the setting's name, what is wrong (never its value) and a hint. */
function settingProblem(issue: { path: PropertyKey[]; message: string }, input: Record<string, string | undefined>): string {
  const name = String(issue.path[0] ?? "configuration") as keyof typeof SETTING_HINTS;
  const missing = input[name] === undefined;
  const hint = SETTING_HINTS[name];
  return `${name}: ${missing ? "is missing" : issue.message}${hint ? ` (${hint})` : ""}`;
}

/** Checked here, not in the schema, so it is reported even when other settings are wrong too. */
function callerProblems(input: Record<string, string | undefined>): string[] {
  const callers = parseTokenCallers(input.TOKEN_CALLERS ?? "[]");
  if (typeof callers === "string" || !input.APP_CLIENT_ID) return [];
  const orgs = input.DATAVERSE_ORGS === undefined ? [] : parseDataverseOrgs(input.DATAVERSE_ORGS);
  const identities = bridgeIdentities(input.APP_CLIENT_ID, typeof orgs === "string" ? [] : orgs,
    [input.APP_CREDENTIAL_SECRET_NAME, input.NOTIFICATION_CLIENT_STATE_SECRET_NAME]);
  return reservedIdentityProblems(callers, identities).map((problem) => `TOKEN_CALLERS: ${problem}`);
}

/** The bridge's own apps and credential secrets (never a caller's): see reservedIdentityProblems. */
export function bridgeIdentities(appClientId: string, orgs: OrgDescriptor[], secretNames: Array<string | undefined>): BridgeIdentities {
  return {
    appClientId: appClientId.trim().toLowerCase(),
    adfsClientIds: orgs.flatMap((o) => (o.adfs ? [o.adfs.clientId] : [])),
    secretNames: [...secretNames, ...orgs.map((o) => o.adfs?.credentialSecretName)].filter((n): n is string => Boolean(n?.trim())).map((n) => n.trim()),
  };
}

/** The configured bridge's identities. */
export function configuredBridgeIdentities(config: Config): BridgeIdentities {
  return bridgeIdentities(config.appClientId, config.orgs, [config.appCredentialSecretName, config.notifications.clientStateSecretName]);
}

function attributeMapFrom(json: string | undefined, problems: string[]): AttributeMap {
  try {
    return parseAttributeMap(json);
  } catch (error) {
    if (!(error instanceof AttributeMapError)) throw error;
    problems.push(...error.problems.map((p) => `SYNC_ATTRIBUTE_MAP: ${p}`));
    return DEFAULT_ATTRIBUTE_MAP;
  }
}

/** Validates the whole environment; throws one ConfigError naming every bad setting. Never echoes values. */
export function loadConfig(env: Env = process.env): Config {
  const input: Record<string, string | undefined> = {};
  for (const name of APP_SETTING_NAMES) {
    const value = env[name];
    input[name] = value === undefined || value.trim() === "" ? undefined : value;
  }
  const problems: string[] = [];
  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => settingProblem(issue, input)));
  problems.push(...callerProblems(input));
  const storage = storageFrom(env, problems);
  if (input.DATAVERSE_URLS === undefined && input.DATAVERSE_ORGS === undefined) {
    problems.push(`DATAVERSE_URLS: is missing (${SETTING_HINTS.DATAVERSE_URLS}; or DATAVERSE_ORGS, which replaces it)`);
  }
  const attributeMap = attributeMapFrom(input.SYNC_ATTRIBUTE_MAP, problems);
  const publicBaseUrl = publicBaseUrlFrom(parsed.success ? parsed.data.PUBLIC_BASE_URL : undefined, env, problems);
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const s = parsed.data;
  const authorityHostname = new URL(s.AZURE_AUTHORITY_HOST).hostname.toLowerCase();
  const vaultHostname = new URL(s.KEY_VAULT_URL).hostname.toLowerCase();
  const orgs = s.DATAVERSE_ORGS ?? onlineOrgs(s.DATAVERSE_URLS ?? []);
  return {
    tenantId: s.AZURE_TENANT_ID.toLowerCase(),
    appClientId: s.APP_CLIENT_ID.toLowerCase(),
    managedIdentityClientId: s.AZURE_CLIENT_ID,
    authorityHost: s.AZURE_AUTHORITY_HOST,
    isMicrosoftAuthority: MICROSOFT_AUTHORITIES.includes(authorityHostname),
    keyVaultUrl: s.KEY_VAULT_URL,
    isRealVaultDomain: VAULT_DOMAINS.some((d) => vaultHostname.endsWith(d)),
    appCredentialSecretName: s.APP_CREDENTIAL_SECRET_NAME,
    hasManagedIdentity: hasManagedIdentity(env),
    appSignIn: appSignInFrom(s.APP_CREDENTIAL_SECRET_NAME, hasManagedIdentity(env)),
    graphBaseUrl: s.GRAPH_BASE_URL,
    dataverseUrls: orgs.map((o) => o.url),
    orgs,
    storage,
    sync: {
      schedule: s.SYNC_SCHEDULE,
      scopeGroupIds: s.SYNC_SCOPE_GROUP_IDS,
      identity: s.SYNC_IDENTITY,
      disableThreshold: s.SYNC_DISABLE_THRESHOLD,
      dryRun: s.SYNC_DRY_RUN,
      attributeMap,
    },
    remap: { placeholderUsers: s.REMAP_PLACEHOLDER_USERS, leaseMs: s.REMAP_LEASE_SECONDS * 1000 },
    access: { rules: s.ACCESS_RULES, removalThreshold: s.ACCESS_REMOVAL_THRESHOLD, licenseSkus: s.SYNC_LICENSE_SKUS },
    api: { audience: s.API_AUDIENCE, adminRole: s.ADMIN_ROLE },
    tokenCallers: s.TOKEN_CALLERS,
    callerProvisioning: s.CALLER_PROVISIONING === "on",
    notifications: { url: s.NOTIFICATION_URL, clientStateSecretName: s.NOTIFICATION_CLIENT_STATE_SECRET_NAME },
    publicBaseUrl,
    onPremisesCaBundleSecretName: s.ONPREM_CA_BUNDLE_SECRET_NAME,
    trustedProxyHops: s.TRUSTED_PROXY_HOPS,
  };
}

/** The descriptor of a configured org (by any spelling of its URL), or undefined. */
export function orgDescriptor(config: Config, orgUrl: string): OrgDescriptor | undefined {
  const key = normalizeOrgUrl(orgUrl);
  return config.orgs.find((o) => o.url === key);
}

