// What each app setting means, for people: docs/settings.md is generated from these entries together with
// the zod schema (names, required or not, defaults, allowed values) by `npm run docs:reference`. A setting
// added to the schema without an entry here still appears there, with its validation hint.
import type { settingsSchema } from "./schema.js";

export type SettingGroup =
  | "Identity and tenant"
  | "Dataverse"
  | "Directory sync"
  | "Access"
  | "Remap"
  | "Admin API and console"
  | "S2S token callers"
  | "Change notifications"
  | "Storage";

export interface SettingDoc {
  group: SettingGroup;
  meaning: string;
  /** The default as a person writes it, where the schema's own default is not a plain value. */
  default?: string;
}

type SettingName = keyof typeof settingsSchema.shape;

export const SETTING_DOCS: Partial<Record<SettingName | (string & {}), SettingDoc>> = {
  AZURE_TENANT_ID: {
    group: "Identity and tenant",
    meaning: "The Entra tenant (GUID) of the directory and of the bridge's app registration.",
  },
  APP_CLIENT_ID: {
    group: "Identity and tenant",
    meaning:
      "Client id of the bridge's app registration: it reads Microsoft Graph and is the Dataverse application user the bridge writes as.",
  },
  AZURE_CLIENT_ID: {
    group: "Identity and tenant",
    meaning: "Client id of the user-assigned managed identity the Azure SDK uses (Key Vault, storage). Never the app registration.",
    default: "the system-assigned identity",
  },
  AZURE_AUTHORITY_HOST: { group: "Identity and tenant", meaning: "Entra authority host (a sovereign cloud's, or the sandbox's)." },
  KEY_VAULT_URL: {
    group: "Identity and tenant",
    meaning: "The vault holding every credential; the bridge reads it with its managed identity.",
  },
  APP_CREDENTIAL_SECRET_NAME: {
    group: "Identity and tenant",
    meaning:
      "Optional: name (not value) of the vault secret holding the app registration's client secret, or a PEM with its certificate and private key. Unset: no secret at all — the app signs in with a federated identity credential that trusts the managed identity (the Azure CLI login on a workstation); see [deployment.md](deployment.md) step 5.",
    default: "the federated credential",
  },
  ONPREM_CA_BUNDLE_SECRET_NAME: {
    group: "Dataverse",
    meaning:
      "Optional: name of the vault secret holding the PEM certificates of the internal CA that on-premises AD FS and orgs use; trusted for those hosts only. See [on-premises.md](on-premises.md).",
    default: "public roots only",
  },
  ACCESS_RULES: {
    group: "Access",
    meaning:
      "A JSON array, in order: business unit, security roles and owner teams from Entra group membership, e.g. `[{\"group\":\"<group id>\",\"businessUnit\":\"Sales\",\"roles\":[\"Salesperson\"],\"teams\":[\"Sales Team\"]}]`; a rule without `orgs` applies to every org, online or on-premises. See [access.md](access.md).",
    default: "no access managed",
  },
  ACCESS_REMOVAL_THRESHOLD: {
    group: "Access",
    meaning:
      "Most removals of managed roles and team memberships (and roles a move to another unit costs) one run makes before it halts for approval: a count (`500`) or a share (`5%`).",
    default: "`500`",
  },
  SYNC_LICENSE_SKUS: {
    group: "Access",
    meaning:
      "Comma-separated Entra SKU ids (`assignedLicenses[].skuId`): only users holding one of them are in scope of online orgs; the others are skipped as `unlicensed`, an enabled record disabled.",
    default: "all users",
  },
  TRUSTED_PROXY_HOPS: {
    group: "S2S token callers",
    meaning:
      "How many proxies append to `X-Forwarded-For` in front of the app (1–10): the token endpoint's failure throttle takes the source address that many entries from the right, never a value the client alone chose. 2 with Application Gateway or Front Door before App Service. See [callers.md](callers.md).",
    default: "`1` (App Service's front end)",
  },
  GRAPH_BASE_URL: { group: "Identity and tenant", meaning: "Microsoft Graph root (a national cloud's, or the sandbox's)." },
  DATAVERSE_URLS: {
    group: "Dataverse",
    meaning: "The org URLs, comma-separated, e.g. `https://contoso.crm.dynamics.com`. Give this or `DATAVERSE_ORGS`.",
    default: "— (this or `DATAVERSE_ORGS` is required)",
  },
  DATAVERSE_ORGS: {
    group: "Dataverse",
    meaning:
      "A JSON array describing each org, online or on-premises (AD FS); replaces `DATAVERSE_URLS`. See [on-premises.md](on-premises.md).",
  },
  AzureWebJobsStorage: {
    group: "Storage",
    meaning:
      "Storage for the bridge's tables and queues (and the Functions host): `UseDevelopmentStorage=true` locally; in Azure identity-based (`AzureWebJobsStorage__credential`, `__blobServiceUri`, …, set by the template).",
  },
  SYNC_SCHEDULE: {
    group: "Directory sync",
    meaning:
      "Six-field NCRONTAB (seconds first) of the sync timer. With another schedule than the default, deploy with a matching `ALERT_SYNC_INTERVAL_MINUTES` (scripts/deploy.sh works it out).",
  },
  SYNC_SCOPE_GROUP_IDS: {
    group: "Directory sync",
    meaning: "Comma-separated Entra group ids: only their direct members are in scope; a user leaving every group is disabled.",
    default: "all users",
  },
  SYNC_IDENTITY: {
    group: "Directory sync",
    meaning: "The logon name a `systemuser` gets: `upn` (userPrincipalName) or `sam` (`DOMAIN\\samAccountName`).",
  },
  SYNC_DISABLE_THRESHOLD: {
    group: "Directory sync",
    meaning: "Most disables a run applies before it halts for an admin's approval: a count (`500`) or a share of the org's users (`5%`).",
    default: "`500`",
  },
  SYNC_DRY_RUN: {
    group: "Directory sync",
    meaning:
      "`true`: plan and report, write nothing to Dataverse. A new Azure deployment starts with `true`; a redeployment keeps the current value.",
  },
  SYNC_ATTRIBUTE_MAP: {
    group: "Directory sync",
    meaning:
      'JSON overriding the Graph → `systemuser` mapping, e.g. `{"jobtitle":"department","mobilephone":null,"internalemailaddress":["mail","userPrincipalName"]}`.',
    default: "the built-in mapping",
  },
  REMAP_PLACEHOLDER_USERS: {
    group: "Remap",
    meaning: "Comma-separated directory accounts reserved as the temporary names of a remap.",
    default: "found automatically",
  },
  REMAP_LEASE_SECONDS: {
    group: "Remap",
    meaning:
      "How long a remap holds its user and temporary account without renewing them (it renews at each step): a remap whose process stopped is settled by the recovery pass once this has passed. Shorter settles sooner; a remap that goes longer without renewing (slow Dataverse retries, a wait for a temporary account) may be taken over, and then stops before its next write.",
    default: "`120`",
  },
  API_AUDIENCE: {
    group: "Admin API and console",
    meaning:
      "The `aud` that bearer tokens presented to the bridge must carry: the App ID URI (or client id) of the bridge's app registration, e.g. `api://identity-bridge`.",
  },
  ADMIN_ROLE: { group: "Admin API and console", meaning: "The app role the admin endpoints, the console and the CLI require." },
  TOKEN_CALLERS: {
    group: "S2S token callers",
    meaning: "JSON array of the S2S callers' policies (Key Vault secret names only, never values). See [callers.md](callers.md).",
    default: "none: `/api/token` refuses everyone",
  },
  CALLER_PROVISIONING: {
    group: "S2S token callers",
    meaning: "`on` lets `POST /api/callers/{id}/provision` create callers' application users and assign their roles.",
  },
  NOTIFICATION_URL: {
    group: "Change notifications",
    meaning: "Public https URL of `/api/notifications`: Graph change notifications start a sync within seconds.",
    default: "webhooks off",
  },
  NOTIFICATION_CLIENT_STATE_SECRET_NAME: {
    group: "Change notifications",
    meaning: "Name of the vault secret holding the subscriptions' clientState; required with `NOTIFICATION_URL`.",
  },
  PUBLIC_BASE_URL: {
    group: "Admin API and console",
    meaning:
      "The app's public origin: links in answers (`statusUrl`, `changesNext`), the console's redirect URI (`<PUBLIC_BASE_URL>/api/console/`), the OpenAPI server, and the `aud` a `private_key_jwt` assertion must carry. Never taken from a request's `Host`.",
    default: "`https://$WEBSITE_HOSTNAME` in Azure; the local address locally",
  },
};

/** Variables read outside the settings schema: telemetry (read first, so a bad setting cannot stop it) and the local sandbox. */
export const OTHER_VARIABLES: ReadonlyArray<{ name: string; meaning: string }> = [
  {
    name: "APPLICATIONINSIGHTS_CONNECTION_STRING",
    meaning: "Send telemetry to Application Insights with the Azure Monitor OpenTelemetry distro (set by the template).",
  },
  {
    name: "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    meaning: "`ClientId=<managed identity client id>;Authorization=AAD`: ingestion with an Entra token (set by the template).",
  },
  {
    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
    meaning: "Without a connection string: export OTLP/HTTP to this collector instead of printing telemetry to the console.",
  },
  { name: "OTEL_SDK_DISABLED", meaning: "`true` turns telemetry off." },
  { name: "BRIDGE_PORT", meaning: "`npm start` only: the local host's port (default 7071)." },
];
