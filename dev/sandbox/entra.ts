// Entra ID emulator: OIDC discovery, JWKS, the client-credentials token endpoint (client secret or
// RFC 7523 certificate assertion), instance discovery, and the App Service managed-identity endpoint.
// Behaviour and error shapes follow login.microsoftonline.com, so real clients (MSAL, @azure/identity) run unchanged.
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, type Handler } from "./https-service.js";
import { entraErrors, headerValue, sendEntraError, type EntraError } from "./entra-errors.js";
import { isFederatedAssertion, verifyClientAssertion, verifyFederatedAssertion } from "./entra-assertion.js";
import { handleManagedIdentityToken } from "./entra-msi.js";
import { answerPreflight, corsHeaders, handleAuthorize, handleLogout, redeemUserGrant } from "./entra-authorize.js";
import type { AppRegistration, Tenant } from "./tenant.js";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** Scopes MSAL may add to any request; they name no resource. */
const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);
/** Tenant aliases that are valid for discovery only (client credentials need a tenant). */
const MULTI_TENANT = new Set(["common", "organizations"]);

export function createEntraHandler(tenant: Tenant): Handler {
  return async (req, res, body) => {
    const authority = tenant.authorityUrl;
    const url = new URL(req.url ?? "/", authority || "https://127.0.0.1");
    const path = url.pathname.replace(/\/+$/, "");
    if (path === "/msi/token") return handleManagedIdentityToken(tenant, req, res, url);
    if (path === "/common/discovery/instance") return sendJson(res, 200, instanceDiscovery(tenant, url));

    const [, tidRaw = "", ...rest] = path.split("/");
    const route = rest.join("/");
    const tid = tidRaw.toLowerCase() === tenant.tenantId.toLowerCase() ? tenant.tenantId : tidRaw.toLowerCase();
    const known = tid === tenant.tenantId || MULTI_TENANT.has(tid);
    // Browsers (single-page apps) read discovery and redeem codes cross-origin.
    if (req.method === "OPTIONS") return answerPreflight(req, res);
    const cors = corsHeaders(req);

    switch (route) {
      case "v2.0/.well-known/openid-configuration":
      case ".well-known/openid-configuration":
        if (!known) return sendEntraError(req, res, authority, entraErrors.tenantNotFound(tidRaw));
        return sendJson(res, 200, openIdConfiguration(tenant, tid, route.startsWith("v2.0")), cors);
      case "discovery/v2.0/keys":
      case "discovery/keys":
        if (!known) return sendEntraError(req, res, authority, entraErrors.tenantNotFound(tidRaw));
        return sendJson(res, 200, { keys: tenant.signingKeys.map((k) => ({ ...k.publicJwk, issuer: tenant.issuer })) }, cors);
      case "oauth2/v2.0/authorize":
        if (tid !== tenant.tenantId) return sendEntraError(req, res, authority, entraErrors.tenantNotFound(tidRaw));
        return handleAuthorize(tenant, req, res, url, body);
      case "oauth2/v2.0/logout":
        return handleLogout(res, url);
      case "oauth2/v2.0/token":
      case "oauth2/token":
        if (tid !== tenant.tenantId) return sendEntraError(req, res, authority, entraErrors.tenantNotFound(tidRaw));
        if (req.method !== "POST") return sendEntraError(req, res, authority, entraErrors.postOnly());
        return tokenEndpoint(tenant, req, res, body, route === "oauth2/token");
      default:
        return sendJson(res, 404, { error: "not_found", error_description: `No such Entra endpoint: ${url.pathname}` });
    }
  };
}

function openIdConfiguration(tenant: Tenant, tid: string, v2: boolean): Record<string, unknown> {
  const base = `${tenant.authorityUrl}/${tid}`;
  // Multi-tenant documents carry a placeholder, as Entra's do.
  const issuerTid = MULTI_TENANT.has(tid) ? "{tenantid}" : tid;
  const issuer = `${tenant.authorityUrl}/${issuerTid}/v2.0`;
  return {
    token_endpoint: v2 ? `${base}/oauth2/v2.0/token` : `${base}/oauth2/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: v2 ? `${base}/discovery/v2.0/keys` : `${base}/discovery/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    // Every token this emulator signs is v2-shaped, so both documents name the v2 issuer (Entra's v1 one would be sts.windows.net).
    issuer,
    request_uri_parameter_supported: false,
    authorization_endpoint: v2 ? `${base}/oauth2/v2.0/authorize` : `${base}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: v2 ? `${base}/oauth2/v2.0/logout` : `${base}/oauth2/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "azp", "appid", "roles", "idtyp", "ver"],
    tenant_region_scope: "EU",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
  };
}

function instanceDiscovery(tenant: Tenant, url: URL): Record<string, unknown> {
  const host = new URL(tenant.authorityUrl).host;
  return {
    tenant_discovery_endpoint: `${tenant.authorityUrl}/${tenant.tenantId}/v2.0/.well-known/openid-configuration`,
    "api-version": url.searchParams.get("api-version") ?? "1.1",
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

interface ClientAuth {
  clientId?: string;
  secret?: string;
}

/** RFC 6749 §2.3.1: client_secret_basic encodes id and secret with form-urlencoding before base64. */
function basicAuth(req: IncomingMessage): ClientAuth {
  const h = headerValue(req, "authorization");
  if (!h || !/^basic /i.test(h)) return {};
  const decoded = Buffer.from(h.slice(6).trim(), "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return {};
  const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
  return { clientId: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
}

async function tokenEndpoint(tenant: Tenant, req: IncomingMessage, res: ServerResponse, body: Buffer, v1: boolean): Promise<void> {
  const authority = tenant.authorityUrl;
  const fail = (e: EntraError) => sendEntraError(req, res, authority, e);
  const form = new URLSearchParams(body.toString("utf8"));
  const grant = form.get("grant_type");
  if (!grant) return fail(entraErrors.missingParameter("grant_type"));
  if (!v1 && await redeemUserGrant(tenant, req, res, form)) return;
  if (grant !== "client_credentials") return fail(entraErrors.unsupportedGrant(grant));

  const basic = basicAuth(req);
  const clientId = form.get("client_id") ?? basic.clientId;
  if (!clientId) return fail(entraErrors.missingParameter("client_id"));

  // v1 names the resource directly; v2 takes `<resource>/.default`.
  let resource: string;
  if (v1) {
    const r = form.get("resource");
    if (!r) return fail(entraErrors.missingParameter("resource"));
    resource = r;
  } else {
    const scopeParam = form.get("scope");
    if (!scopeParam) return fail(entraErrors.missingParameter("scope"));
    const scopes = scopeParam.split(" ").filter((s) => s && !OIDC_SCOPES.has(s));
    if (scopes.length !== 1) return fail(entraErrors.invalidScope(scopeParam));
    const scope = scopes[0]!;
    if (!scope.endsWith("/.default")) return fail(entraErrors.scopeNotDefault(scope));
    resource = scope.slice(0, -"/.default".length);
    if (!resource) return fail(entraErrors.invalidScope(scope));
  }

  const app = tenant.apps.get(clientId);
  if (!app) return fail(entraErrors.appNotFound(clientId, tenant.tenantId));

  const secret = form.get("client_secret") ?? basic.secret;
  const assertion = form.get("client_assertion");
  let usedCertificate = false;
  if (assertion !== null) {
    if (form.get("client_assertion_type") !== JWT_BEARER) return fail(entraErrors.badAssertionType());
    const tokenUrl = `${authority}/${tenant.tenantId}/oauth2/${v1 ? "" : "v2.0/"}token`;
    const problem = isFederatedAssertion(app, assertion)
      ? await verifyFederatedAssertion(tenant, app, assertion)
      : await verifyClientAssertion(app, assertion, [tokenUrl, `${authority}/${tenant.tenantId}/oauth2/v2.0/token`, `${authority}/${tenant.tenantId}/oauth2/token`]);
    if (problem) return fail(problem);
    usedCertificate = true;
  } else if (secret !== undefined && secret !== null) {
    if (!app.secrets.includes(secret)) return fail(entraErrors.invalidSecret(clientId));
  } else {
    return fail(entraErrors.missingCredential());
  }

  const lifetime = tenant.tokenLifetimeSeconds ?? 3600 + Math.floor(Math.random() * 1801);
  const { token, expiresOn } = await tenant.issueAccessToken({
    clientId,
    audience: resource,
    roles: rolesFor(app, resource),
    lifetimeSeconds: lifetime,
    claims: usedCertificate ? { azpacr: "2" } : {},
  });
  const headers = { "cache-control": "no-store, no-cache", pragma: "no-cache" };
  if (v1) {
    const now = expiresOn - lifetime;
    return sendJson(res, 200, {
      token_type: "Bearer", expires_in: String(lifetime), ext_expires_in: String(lifetime),
      expires_on: String(expiresOn), not_before: String(now), resource, access_token: token,
    }, headers);
  }
  sendJson(res, 200, { token_type: "Bearer", expires_in: lifetime, ext_expires_in: lifetime, access_token: token }, headers);
}

/** App roles granted on the resource; Entra treats an App ID URI with or without a trailing slash alike. */
function rolesFor(app: AppRegistration, resource: string): string[] {
  const trimmed = resource.replace(/\/+$/, "");
  return app.roles[resource] ?? app.roles[trimmed] ?? app.roles[`${trimmed}/`] ?? [];
}
