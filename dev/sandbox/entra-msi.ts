// The App Service managed-identity endpoint (IDENTITY_ENDPOINT, protocol api-version 2019-08-01):
// GET ?resource=…&api-version=2019-08-01[&client_id|object_id|principal_id|mi_res_id=…] with X-IDENTITY-HEADER.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./https-service.js";
import { headerValue } from "./entra-errors.js";
import type { Tenant } from "./tenant.js";

/** App Service's managed-identity tokens are long-lived (about 24 h); the platform caches them. */
const MI_TOKEN_LIFETIME = 24 * 3600 - 1;

/** App Service errors: `{"statusCode", "message", "correlationId"}`. */
function miError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { statusCode: status, message, correlationId: randomUUID() });
}

export async function handleManagedIdentityToken(tenant: Tenant, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== "GET") return miError(res, 405, "The requested resource does not support http method '" + req.method + "'.");
  const header = headerValue(req, "x-identity-header");
  if (header === undefined) return miError(res, 400, "The request is missing the X-IDENTITY-HEADER header.");
  if (header !== tenant.identityHeader) return miError(res, 401, "The X-IDENTITY-HEADER header value is not valid.");
  const apiVersion = url.searchParams.get("api-version");
  if (apiVersion !== "2019-08-01") return miError(res, 400, `The api-version '${apiVersion ?? ""}' is not supported. Use 2019-08-01.`);
  const resource = url.searchParams.get("resource");
  if (!resource) return miError(res, 400, "The 'resource' query parameter is required.");

  // The app has one identity; a user-assigned selector must name it.
  const mi = tenant.managedIdentity;
  const selectors: Array<[string, string]> = [["client_id", mi.clientId], ["object_id", mi.principalId], ["principal_id", mi.principalId], ["mi_res_id", miResourceId(tenant)]];
  for (const [param, expected] of selectors) {
    const given = url.searchParams.get(param);
    if (given !== null && given.toLowerCase() !== expected.toLowerCase()) return miError(res, 400, "Unable to load the proper Managed Identity.");
  }

  // The token's audience is the resource as requested (Entra v1 semantics for managed identities).
  const lifetime = tenant.tokenLifetimeSeconds ?? MI_TOKEN_LIFETIME;
  const { token, expiresOn } = await tenant.issueAccessToken({
    clientId: mi.clientId,
    audience: resource,
    lifetimeSeconds: lifetime,
    claims: { azpacr: "2", xms_mirid: miResourceId(tenant) },
  });
  sendJson(res, 200, { access_token: token, expires_on: String(expiresOn), resource, token_type: "Bearer", client_id: mi.clientId });
}

/** ARM id of the (fictional) Function App holding the system-assigned identity. */
export function miResourceId(tenant: Tenant): string {
  return `/subscriptions/${tenant.tenantId}/resourcegroups/identity-bridge-sandbox/providers/Microsoft.Web/sites/identity-bridge`;
}
