// TOKEN_CALLERS: the S2S callers allowed to get Dataverse tokens, and what each may get.
import { z } from "zod";
import { normalizeOrgUrl } from "./org-url.js";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const secretName = z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, "must be a Key Vault secret name (letters, digits, dashes)");

/**
 * How the bridge signs in as a caller's own Dataverse app: "federated" (a federated identity
 * credential on that app trusts the bridge's managed identity; no secret anywhere) or that app's client
 * secret / PEM certificate + key in Key Vault.
 */
const credentialSchema = z.union([
  z.literal("federated"),
  z.object({ secretName }).strict(),
], { message: "must be \"federated\" or {\"secretName\": \"<Key Vault secret>\"}" });

export type CallerCredential = z.output<typeof credentialSchema>;

const callerSchema = z.object({
  id: z.string().trim().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, "letters, digits and . _ : - only"),
  name: z.string().trim().min(1).max(256),
  auth: z.enum(["secret", "private_key_jwt", "entra"]),
  secretName: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/).optional(),
  jwksUri: z.string().url().refine((v) => v.startsWith("https://"), "must use https://").optional(),
  publicKeySecretName: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/).optional(),
  appId: z.string().regex(GUID, "must be a GUID").transform((v) => v.toLowerCase()).optional(),
  /** The Entra app registration whose Dataverse application user this caller acts as. */
  dataverseAppId: z.string({ message: "is required: the client id of the caller's own Dataverse app registration" })
    .regex(GUID, "must be a GUID (the client id of the caller's own Dataverse app registration)").transform((v) => v.toLowerCase()),
  credential: credentialSchema.default("federated"),
  /** Security roles (by name) its application user holds; provisioning assigns exactly these. */
  roles: z.array(z.string().trim().min(1).max(100)).max(50).default([]),
  resources: z.array(z.string().url().transform(normalizeOrgUrl)).min(1),
  ratePerMinute: z.number().int().positive().max(1_000_000).default(60),
  disabled: z.boolean().default(false),
}).strict().superRefine((c, ctx) => {
  if (c.auth === "secret" && !c.secretName) ctx.addIssue({ code: "custom", path: ["secretName"], message: "is required for auth \"secret\"" });
  if (c.auth === "private_key_jwt" && !c.jwksUri === !c.publicKeySecretName) {
    ctx.addIssue({ code: "custom", path: ["jwksUri"], message: "give exactly one of jwksUri or publicKeySecretName for auth \"private_key_jwt\"" });
  }
  if (c.auth === "entra" && !c.appId) ctx.addIssue({ code: "custom", path: ["appId"], message: "is required for auth \"entra\"" });
});

export type TokenCaller = z.output<typeof callerSchema>;

/** The identity a caller's tokens are issued to: its app and how the bridge signs in as it. */
export function callerIdentityKey(caller: Pick<TokenCaller, "dataverseAppId" | "credential">): string {
  return caller.credential === "federated" ? `${caller.dataverseAppId}|federated` : `${caller.dataverseAppId}|secret:${caller.credential.secretName}`;
}

/** What only the bridge may use: its own apps and the vault secrets holding its credentials. */
export interface BridgeIdentities {
  /** APP_CLIENT_ID (lower case). */
  appClientId: string;
  /** Each on-premises org's AD FS client (DATAVERSE_ORGS[].clientId), as configured. */
  adfsClientIds: string[];
  /** APP_CREDENTIAL_SECRET_NAME, each org's credentialSecretName, NOTIFICATION_CLIENT_STATE_SECRET_NAME. */
  secretNames: string[];
}

/**
 * The bridge's identities are never a caller's: a caller acting as APP_CLIENT_ID or an AD FS client of the bridge,
 * or naming one of its credential secrets, would be handed the bridge's own tokens. One message per problem.
 */
export function reservedIdentityProblems(callers: TokenCaller[], bridge: BridgeIdentities): string[] {
  const adfs = new Set(bridge.adfsClientIds.map((id) => id.trim().toLowerCase()));
  const secrets = new Set(bridge.secretNames.map((name) => name.toLowerCase())); // Key Vault names are case-insensitive
  const problems: string[] = [];
  for (const c of callers) {
    if (c.dataverseAppId === bridge.appClientId.trim().toLowerCase()) {
      problems.push(`caller "${c.id}": dataverseAppId is APP_CLIENT_ID, the bridge's own app; give the caller its own app registration and application user (see docs/callers.md)`);
    }
    for (const [field, id] of [["dataverseAppId", c.dataverseAppId], ["appId", c.appId]] as const) {
      if (id && adfs.has(id.toLowerCase())) problems.push(`caller "${c.id}": ${field} is the bridge's AD FS client (DATAVERSE_ORGS clientId); give the caller its own AD FS application`);
    }
    for (const [field, name] of callerSecretNames(c)) {
      if (secrets.has(name.toLowerCase())) problems.push(`caller "${c.id}": ${field} names one of the bridge's own credential secrets; give the caller its own secret`);
    }
  }
  return problems;
}

/** Every vault secret a caller's policy names, with the field naming it. */
export function callerSecretNames(caller: TokenCaller): Array<[string, string]> {
  const names: Array<[string, string | undefined]> = [
    ["secretName", caller.secretName], ["publicKeySecretName", caller.publicKeySecretName],
    ["credential.secretName", caller.credential === "federated" ? undefined : caller.credential.secretName],
  ];
  return names.filter((entry): entry is [string, string] => entry[1] !== undefined);
}

/** Parses the JSON policy; returns the callers or one message naming every problem. */
export function parseTokenCallers(json: string): TokenCaller[] | string {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return "is not valid JSON";
  }
  const result = z.array(callerSchema).safeParse(raw);
  if (!result.success) {
    return result.error.issues.map((i) => `${i.path.length ? `[${i.path.join(".")}] ` : ""}${i.message}`).join("; ");
  }
  const ids = new Set<string>();
  for (const caller of result.data) {
    if (ids.has(caller.id)) return `caller id "${caller.id}" appears twice`;
    ids.add(caller.id);
  }
  return result.data;
}
