// Contract §1: every app setting the bridge reads, validated as a whole with zod.
import { z } from "zod";
import { parseTokenCallers } from "./token-callers.js";
import { parseNcrontab } from "./ncrontab.js";
import { onlineOrgs, parseDataverseOrgs } from "./dataverse-orgs.js";
import { accessRuleOrgProblems, parseAccessRules } from "./access-rules.js";

const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a GUID");
const httpsUrl = z.string().url("must be an absolute https URL").refine((v) => v.startsWith("https://"), "must use https://")
  .transform((v) => v.replace(/\/+$/, ""));
/** https, or plain http to a loopback host only (the local host receiving the sandbox Graph's notifications). */
const notificationUrl = z.string().url("must be an absolute https URL").refine((v) => {
  if (!URL.canParse(v)) return true; // .url() already reported it (zod runs every check)
  const url = new URL(v);
  return url.protocol === "https:" || (url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname));
}, "must use https:// (plain http only to 127.0.0.1 / localhost)");
/** An http(s) origin: scheme, host and port only (no path, query, fragment or credentials). */
export function originProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return "must be an absolute URL such as https://bridge.contoso.com";
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must use https:// (or http:// locally)";
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    return "must be an origin only (scheme, host and port: no path, query, fragment or credentials)";
  }
  return undefined;
}
const publicBaseUrl = z.string().trim().superRefine((v, ctx) => {
  const problem = originProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}).transform((v) => new URL(v).origin);
const nonEmpty = z.string().trim().min(1, "must not be empty");
const optionalNonEmpty = z.string().trim().optional().transform((v) => (v ? v : undefined));
const bool = z.enum(["true", "false", "TRUE", "FALSE", "True", "False", "1", "0"], { message: "must be true or false" })
  .transform((v) => v === "1" || v.toLowerCase() === "true");
const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean)).pipe(z.array(item));

/** `500` or `5%`. */
export const disableThreshold = z.string().trim().regex(/^\d+(\.\d+)?%?$/, "must be a count (500) or a share (5%)")
  .refine((v) => !v.endsWith("%") || Number(v.slice(0, -1)) <= 100, "a share must be between 0% and 100%")
  .transform((v): { count: number } | { percent: number } => (v.endsWith("%") ? { percent: Number(v.slice(0, -1)) } : { count: Number(v) }));

export const settingsSchema = z.object({
  AZURE_TENANT_ID: guid,
  APP_CLIENT_ID: guid,
  AZURE_CLIENT_ID: guid.optional(),
  AZURE_AUTHORITY_HOST: httpsUrl.default("https://login.microsoftonline.com"),
  KEY_VAULT_URL: httpsUrl,
  APP_CREDENTIAL_SECRET_NAME: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, "must be a Key Vault secret name (letters, digits, dashes)").optional(),
  GRAPH_BASE_URL: httpsUrl.default("https://graph.microsoft.com"),
  DATAVERSE_URLS: csv(httpsUrl).pipe(z.array(z.string()).min(1, "must list at least one org URL")).optional(),
  DATAVERSE_ORGS: z.string().optional().transform((v, ctx) => {
    if (v === undefined) return undefined;
    const result = parseDataverseOrgs(v);
    if (typeof result === "string") {
      ctx.addIssue({ code: "custom", message: result });
      return z.NEVER;
    }
    return result;
  }),
  AzureWebJobsStorage: optionalNonEmpty,
  SYNC_SCHEDULE: z.string().default("0 */15 * * * *").superRefine((v, ctx) => {
    const problem = parseNcrontab(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  SYNC_SCOPE_GROUP_IDS: csv(guid).default([]),
  SYNC_IDENTITY: z.enum(["upn", "sam"], { message: "must be upn or sam" }).default("upn"),
  SYNC_DISABLE_THRESHOLD: disableThreshold.default({ count: 500 }),
  SYNC_DRY_RUN: bool.default(false),
  SYNC_ATTRIBUTE_MAP: optionalNonEmpty,
  REMAP_PLACEHOLDER_USERS: csv(nonEmpty).default([]),
  REMAP_LEASE_SECONDS: z.string().trim().regex(/^[1-9]\d{1,3}$/, "must be a whole number of seconds from 10 to 9999").default("120").transform(Number),
  API_AUDIENCE: nonEmpty,
  ADMIN_ROLE: nonEmpty.default("Bridge.Admin"),
  TOKEN_CALLERS: z.string().default("[]").transform((v, ctx) => {
    const result = parseTokenCallers(v);
    if (typeof result === "string") {
      ctx.addIssue({ code: "custom", message: result });
      return z.NEVER;
    }
    return result;
  }),
  CALLER_PROVISIONING: z.enum(["on", "off"], { message: "must be on or off" }).default("off"),
  NOTIFICATION_URL: notificationUrl.optional(),
  NOTIFICATION_CLIENT_STATE_SECRET_NAME: optionalNonEmpty,
  PUBLIC_BASE_URL: publicBaseUrl.optional(),
  ONPREM_CA_BUNDLE_SECRET_NAME: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, "must be a Key Vault secret name (letters, digits, dashes)").optional(),
  TRUSTED_PROXY_HOPS: z.string().trim().regex(/^([1-9]|10)$/, "must be a whole number from 1 to 10").default("1").transform(Number),
  ACCESS_RULES: z.string().default("[]").transform((v, ctx) => {
    const result = parseAccessRules(v);
    if (typeof result === "string") {
      ctx.addIssue({ code: "custom", message: result });
      return z.NEVER;
    }
    return result;
  }),
  ACCESS_REMOVAL_THRESHOLD: disableThreshold.default({ count: 500 }),
  SYNC_LICENSE_SKUS: csv(guid).default([]).transform((ids) => ids.map((id) => id.toLowerCase())),
}).superRefine((s, ctx) => {
  const orgs = s.DATAVERSE_ORGS ?? onlineOrgs(s.DATAVERSE_URLS ?? []);
  for (const message of accessRuleOrgProblems(s.ACCESS_RULES, orgs)) ctx.addIssue({ code: "custom", path: ["ACCESS_RULES"], message });
  if (s.ONPREM_CA_BUNDLE_SECRET_NAME && !s.DATAVERSE_ORGS?.some((o) => o.kind === "onpremises")) {
    // The bundle is trusted for on-premises hosts only; without one it would do nothing, which hides a mistake.
    ctx.addIssue({ code: "custom", path: ["ONPREM_CA_BUNDLE_SECRET_NAME"], message: "is set but DATAVERSE_ORGS has no onpremises org (the CA bundle is trusted only for on-premises AD FS and org hosts)" });
  }
  if (s.DATAVERSE_ORGS?.some((o) => o.kind === "onpremises") && s.SYNC_SCOPE_GROUP_IDS.length > 0) {
    // Scope membership is read as Entra object ids, which on-premises records do not carry (see docs/on-premises.md).
    ctx.addIssue({ code: "custom", path: ["SYNC_SCOPE_GROUP_IDS"], message: "is not supported yet with an onpremises org in DATAVERSE_ORGS" });
  }
  const onPremises = new Set(s.DATAVERSE_ORGS?.filter((o) => o.kind === "onpremises").map((o) => o.url) ?? []);
  for (const caller of s.TOKEN_CALLERS) {
    // At an on-premises org the caller's identity is its own AD FS application (client id = dataverseAppId), which
    // signs in with a secret or certificate: AD FS cannot trust the bridge's managed identity (no federation).
    const target = caller.resources.find((r) => onPremises.has(r));
    if (target && caller.credential === "federated") {
      ctx.addIssue({ code: "custom", path: ["TOKEN_CALLERS"], message: `caller "${caller.id}": the on-premises org ${target} needs "credential": {"secretName": …} (its AD FS application's secret or certificate); AD FS cannot accept a federated credential` });
    }
  }
  if (s.NOTIFICATION_URL && !s.NOTIFICATION_CLIENT_STATE_SECRET_NAME) {
    ctx.addIssue({ code: "custom", path: ["NOTIFICATION_CLIENT_STATE_SECRET_NAME"], message: "is required when NOTIFICATION_URL is set" });
  }
});

export type RawSettings = z.output<typeof settingsSchema>;

/** Every app setting (infra tests check the Bicep sets exactly these). */
export const APP_SETTING_NAMES = Object.keys(settingsSchema.shape) as ReadonlyArray<keyof typeof settingsSchema.shape>;

/** Settings that must be present (no default). */
export const REQUIRED_SETTING_NAMES = APP_SETTING_NAMES.filter((name) => !settingsSchema.shape[name].safeParse(undefined).success);

/** Hints shown next to a bad setting. */
export const SETTING_HINTS: Partial<Record<keyof typeof settingsSchema.shape, string>> = {
  AZURE_TENANT_ID: "the directory (tenant) id from Entra ID > Overview",
  APP_CLIENT_ID: "the bridge app registration's Application (client) id",
  AZURE_CLIENT_ID: "only for a user-assigned managed identity: its client id",
  KEY_VAULT_URL: "e.g. https://kv-bridge.vault.azure.net",
  APP_CREDENTIAL_SECRET_NAME: "the vault secret holding the app's client secret or PEM certificate+key; leave it unset to sign in with a federated credential trusting the managed identity",
  DATAVERSE_URLS: "comma-separated org URLs, e.g. https://contoso.crm.dynamics.com",
  DATAVERSE_ORGS: "a JSON array of org descriptors, e.g. [{\"url\":\"https://crm.contoso.com/org\",\"kind\":\"onpremises\",…}] (see docs/on-premises.md)",
  AzureWebJobsStorage: "a storage connection string, UseDevelopmentStorage=true locally, or identity-based settings",
  SYNC_SCHEDULE: "six-field NCRONTAB, e.g. 0 */15 * * * *",
  SYNC_SCOPE_GROUP_IDS: "comma-separated Entra group object ids",
  API_AUDIENCE: "the App ID URI (or client id) callers request tokens for, e.g. api://identity-bridge",
  TOKEN_CALLERS: "a JSON array of caller policies (see README, Token callers, and docs/callers.md)",
  CALLER_PROVISIONING: "on lets POST /api/callers/{id}/provision create application users and assign roles",
  PUBLIC_BASE_URL: "the app's public origin, e.g. https://bridge.contoso.com (default https://$WEBSITE_HOSTNAME in Azure)",
  ACCESS_RULES: "a JSON array of rules, e.g. [{\"group\":\"<group object id>\",\"businessUnit\":\"Sales\",\"roles\":[\"Salesperson\"],\"teams\":[\"Sales EMEA\"]}] (see docs/access.md)",
  ACCESS_REMOVAL_THRESHOLD: "a count (500) or a share (5%) of the org's enabled users",
  REMAP_LEASE_SECONDS: "seconds, e.g. 120: how long a stopped remap keeps its user before the recovery pass may settle it",
  SYNC_LICENSE_SKUS: "comma-separated Entra SKU ids (assignedLicenses skuId), e.g. from GET /v1.0/subscribedSkus",
  NOTIFICATION_URL: "the public https URL of /api/notifications (plain http only on loopback, for the sandbox)",
  ONPREM_CA_BUNDLE_SECRET_NAME: "the vault secret holding the PEM certificates of the private CA that on-premises AD FS and orgs use (docs/on-premises.md)",
  TRUSTED_PROXY_HOPS: "how many proxies append to X-Forwarded-For in front of the app: 1 = App Service's front end alone; 2 with Application Gateway or Front Door before it",
};
