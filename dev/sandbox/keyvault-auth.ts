// Key Vault's authentication and RBAC decisions: the bearer challenge real vaults send, token validation
// against the tenant's keys, and the Forbidden (ForbiddenByRbac) answer for callers without a role assignment.
import { createLocalJWKSet, jwtVerify, errors, type JWTPayload } from "jose";
import type { Tenant } from "./tenant.js";

export const VAULT_RESOURCE = "https://vault.azure.net";

export type VaultAction = "getSecret" | "setSecret" | "readMetadata";

export interface KvError {
  status: number;
  body: { error: { code: string; message: string; innererror?: { code: string } } };
  headers?: Record<string, string>;
}

/** What a real vault answers in WWW-Authenticate; @azure/keyvault-common reads the tenant from `authorization`. */
export function challengeHeader(tenant: Tenant): string {
  return `Bearer authorization="${tenant.authorityUrl}/${tenant.tenantId}", resource="${VAULT_RESOURCE}"`;
}

const unauthorized = (tenant: Tenant, message: string): AuthResult => ({
  ok: false,
  error: { status: 401, body: { error: { code: "Unauthorized", message } }, headers: { "www-authenticate": challengeHeader(tenant) } },
});

export type AuthResult = { ok: true; claims: JWTPayload } | { ok: false; error: KvError };

/** The caller's token claims, or the 401 a vault sends. */
export async function authenticate(tenant: Tenant, authorization: string | undefined): Promise<AuthResult> {
  const match = authorization?.match(/^Bearer\s+(\S+)$/i);
  if (!match) return unauthorized(tenant, "AKV10000: Request is missing a Bearer or PoP token.");
  const jwks = createLocalJWKSet({ keys: tenant.signingKeys.map((k) => k.publicJwk) });
  try {
    const { payload } = await jwtVerify(match[1]!, jwks, { algorithms: ["RS256"], clockTolerance: 300 });
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!aud.some((a) => a === VAULT_RESOURCE || a === `${VAULT_RESOURCE}/`)) {
      return unauthorized(tenant, `AKV10022: Invalid audience. Expected ${VAULT_RESOURCE}, found: ${aud.join(",")}.`);
    }
    if (payload.iss !== tenant.issuer) return unauthorized(tenant, `AKV10032: Invalid issuer. Expected one of ${tenant.issuer}, found ${String(payload.iss)}.`);
    if (payload.tid !== tenant.tenantId) return unauthorized(tenant, `AKV10032: Invalid tenant. Expected ${tenant.tenantId}, found ${String(payload.tid)}.`);
    return { ok: true, claims: payload };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return unauthorized(tenant, "AKV10032: Token expired.");
    return unauthorized(tenant, `AKV10000: Invalid token: ${(err as Error).message}`);
  }
}

/**
 * RBAC as the product is deployed: the managed identity holds Key Vault Secrets User (read only, removable via
 * tenant.managedIdentityCanReadVault); other principals act as Secrets Officers; tenant.vaultForbiddenSecrets denies reads.
 */
export function authorize(tenant: Tenant, claims: JWTPayload, action: VaultAction, secretName: string | null): KvError | null {
  const appid = String(claims.appid ?? claims.azp ?? "");
  const isMi = appid === tenant.managedIdentity.clientId;
  let allowed = true;
  if (isMi && (!tenant.managedIdentityCanReadVault || action === "setSecret")) allowed = false;
  if (action === "getSecret" && secretName !== null && (tenant.vaultForbiddenSecrets.has("*") || tenant.vaultForbiddenSecrets.has(secretName))) allowed = false;
  if (allowed) return null;
  const resource = `/subscriptions/${tenant.tenantId}/resourcegroups/identity-bridge-sandbox/providers/microsoft.keyvault/vaults/sandbox-kv${secretName ? `/secrets/${secretName}` : ""}`;
  const message = [
    "Caller is not authorized to perform action on resource.",
    "If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.",
    `Caller: appid=${appid};oid=${String(claims.oid ?? "")};iss=${String(claims.iss ?? "")}`,
    `Action: 'Microsoft.KeyVault/vaults/secrets/${action}/action'`,
    `Resource: '${resource}'`,
    "Assignment: (not found)",
    "DenyAssignmentId: null",
    "DecisionReason: 'DeniedWithNoValidRBAC' ",
    "Vault: sandbox-kv;location=westeurope",
    "",
  ].join("\r\n");
  return { status: 403, body: { error: { code: "Forbidden", message, innererror: { code: "ForbiddenByRbac" } } } };
}
