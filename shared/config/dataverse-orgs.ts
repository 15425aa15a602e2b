// DATAVERSE_ORGS: one descriptor per org, online or on-premises / IFD. Every place that resolves an
// org (clients, tokens, sync, remap) works from these; DATAVERSE_URLS becomes online descriptors.
import { z } from "zod";
import { normalizeOrgUrl } from "./org-url.js";

export type OrgKind = "online" | "onpremises";
export type ApiVersion = "9.2" | "9.1" | "9.0";

/** How the bridge signs in at an on-premises org's AD FS (an application group's server application). */
export interface AdfsSettings {
  /** `https://adfs.contoso.com/adfs` (its OpenID configuration lives under it). */
  authority: string;
  clientId: string;
  /** Key Vault secret: the client secret, or a PEM holding certificate + private key (private_key_jwt). */
  credentialSecretName: string;
}

export interface OrgDescriptor {
  /** Normalized (lower-case, no trailing slash): the key of the org everywhere. */
  url: string;
  kind: OrgKind;
  apiVersion: ApiVersion;
  /** On-premises only. */
  adfs?: AdfsSettings;
  /** On-premises only: AD DNS domain (lower-cased) → NetBIOS name (upper-cased). */
  netbiosDomains: Readonly<Record<string, string>>;
}

const secretName = z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, "must be a Key Vault secret name (letters, digits, dashes)");
const https = z.string().url("must be an absolute https URL").refine((v) => v.startsWith("https://"), "must use https://");

const entrySchema = z.object({
  url: https,
  kind: z.enum(["online", "onpremises"], { message: "must be online or onpremises" }).default("online"),
  apiVersion: z.enum(["9.2", "9.1", "9.0"], { message: "must be 9.2, 9.1 or 9.0" }).optional(),
  authority: https.optional(),
  clientId: z.string().trim().min(1).max(256).optional(),
  credentialSecretName: secretName.optional(),
  netbiosDomains: z.record(
    z.string().regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, "keys must be AD DNS domain names (contoso.com)"),
    z.string().regex(/^[A-Za-z0-9!@#$%^'(){}~._-]{1,15}$/, "values must be NetBIOS domain names (at most 15 characters)"),
  ).optional(),
}).strict().superRefine((o, ctx) => {
  if (o.kind === "onpremises") {
    for (const field of ["authority", "clientId", "credentialSecretName"] as const) {
      if (!o[field]) ctx.addIssue({ code: "custom", path: [field], message: `is required for kind "onpremises"` });
    }
    if (o.apiVersion === "9.2") ctx.addIssue({ code: "custom", path: ["apiVersion"], message: "on-premises orgs serve 9.0 or 9.1 (no 9.2)" });
  } else {
    for (const field of ["authority", "clientId", "credentialSecretName", "netbiosDomains"] as const) {
      if (o[field] !== undefined) ctx.addIssue({ code: "custom", path: [field], message: `applies only to kind "onpremises"` });
    }
  }
});

function describe(entry: z.output<typeof entrySchema>): OrgDescriptor {
  const url = normalizeOrgUrl(entry.url);
  if (entry.kind === "online") return { url, kind: "online", apiVersion: entry.apiVersion ?? "9.2", netbiosDomains: {} };
  const netbiosDomains: Record<string, string> = {};
  for (const [dns, netbios] of Object.entries(entry.netbiosDomains ?? {})) netbiosDomains[dns.toLowerCase()] = netbios.toUpperCase();
  return {
    url,
    kind: "onpremises",
    apiVersion: entry.apiVersion ?? "9.1",
    adfs: { authority: entry.authority!.replace(/\/+$/, ""), clientId: entry.clientId!, credentialSecretName: entry.credentialSecretName! },
    netbiosDomains,
  };
}

/** Parses DATAVERSE_ORGS; returns the descriptors or one message naming every problem (never echoing values). */
export function parseDataverseOrgs(json: string): OrgDescriptor[] | string {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return "is not valid JSON";
  }
  const result = z.array(entrySchema).min(1, "must describe at least one org").safeParse(raw);
  if (!result.success) {
    return result.error.issues.map((i) => `${i.path.length ? `[${i.path.join(".")}] ` : ""}${i.message}`).join("; ");
  }
  const orgs = result.data.map(describe);
  const seen = new Set<string>();
  for (const org of orgs) {
    if (seen.has(org.url)) return `org "${org.url}" appears twice`;
    seen.add(org.url);
  }
  return orgs;
}

/** DATAVERSE_URLS as descriptors: online orgs on the default Web API version. */
export function onlineOrgs(urls: readonly string[]): OrgDescriptor[] {
  return [...new Set(urls.map(normalizeOrgUrl))].map((url) => ({ url, kind: "online", apiVersion: "9.2", netbiosDomains: {} }));
}
