// Entra ID's browser sign-in for single-page applications: /authorize (a sign-in page that picks one of the
// sandbox's sign-in users), the authorization-code and refresh-token grants at the token endpoint with PKCE
// (S256), and CORS for SPA redirect URIs, as login.microsoftonline.com does for a "Single-page application".
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./https-service.js";
import { entraErrors, headerValue, sendEntraError, type EntraError } from "./entra-errors.js";
import type { SignInUser, Tenant } from "./tenant.js";

const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);
const CODE_TTL_MS = 10 * 60_000;

interface Grant {
  clientId: string;
  redirectUri: string;
  scope: string;
  user: SignInUser;
  nonce?: string;
  challenge?: string;
  expiresAt: number;
}

/** Codes and refresh tokens per tenant (a code is single-use). */
const codes = new WeakMap<Tenant, Map<string, Grant>>();
const refreshTokens = new WeakMap<Tenant, Map<string, Grant>>();
const store = (map: WeakMap<Tenant, Map<string, Grant>>, tenant: Tenant) => {
  let m = map.get(tenant);
  if (!m) map.set(tenant, (m = new Map()));
  return m;
};

const authErrors = {
  redirectMismatch: (uri: string, clientId: string): EntraError => ({
    status: 400, error: "invalid_request", code: 50011,
    message: `The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
  }),
  pkceRequired: (): EntraError => ({ status: 400, error: "invalid_request", code: 9002325, message: "Proof Key for Code Exchange is required for cross-origin authorization code redemption." }),
  verifierMismatch: (): EntraError => ({ status: 400, error: "invalid_grant", code: 501481, message: "The Code_Verifier does not match the code_challenge supplied in the authorization request." }),
  badCode: (): EntraError => ({ status: 400, error: "invalid_grant", code: 70008, message: "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource." }),
  codeRedirectMismatch: (): EntraError => ({ status: 400, error: "invalid_grant", code: 70000, message: "The request was denied because one or more grants are not valid: the redirect_uri does not match the one of the authorization request." }),
  notSpa: (): EntraError => ({ status: 400, error: "invalid_request", code: 9002326, message: "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: unknown." }),
};

/** CORS headers Entra sends for requests from a browser origin. */
export function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = headerValue(req, "origin");
  return origin ? { "access-control-allow-origin": origin, "access-control-expose-headers": "client-request-id, x-ms-request-id", vary: "Origin" } : {};
}

export function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(204, {
    ...corsHeaders(req),
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": headerValue(req, "access-control-request-headers") ?? "content-type",
    "access-control-max-age": "86400",
  });
  res.end();
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>` +
    `<body style="font-family: sans-serif; max-width: 28rem; margin: 3rem auto"><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

/** GET shows the sign-in page; POST (the page's form) signs the chosen user in and redirects with a code. */
export function handleAuthorize(tenant: Tenant, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
  const params = req.method === "POST" ? new URLSearchParams(body.toString("utf8")) : url.searchParams;
  const clientId = params.get("client_id") ?? "";
  const redirectUri = params.get("redirect_uri") ?? "";
  const app = tenant.apps.get(clientId);
  if (!app) return page(res, 400, "Sign in failed", `<p>AADSTS700016: Application with identifier '${escapeHtml(clientId)}' was not found in the directory.</p>`);
  if (!app.spaRedirectUris.includes(redirectUri)) return page(res, 400, "Sign in failed", `<p>AADSTS50011: ${escapeHtml(authErrors.redirectMismatch(redirectUri, clientId).message)}</p>`);
  const responseMode = params.get("response_mode") === "fragment" ? "#" : "?";
  const back = (answer: Record<string, string>) => {
    const state = params.get("state");
    const query = new URLSearchParams({ ...answer, ...(state ? { state } : {}) });
    res.writeHead(302, { location: `${redirectUri}${responseMode}${query}`, "cache-control": "no-store" });
    res.end();
  };
  if (params.get("response_type") !== "code") return back({ error: "unsupported_response_type", error_description: "AADSTS70005: response_type 'code' is required." });
  const challenge = params.get("code_challenge") ?? undefined;
  if (challenge && params.get("code_challenge_method") !== "S256") return back({ error: "invalid_request", error_description: "AADSTS501491: code_challenge_method must be S256." });

  if (req.method !== "POST") return signInPage(tenant, res, url, params);
  const user = tenant.signInUsers.get(params.get("login") ?? "");
  if (!user) return signInPage(tenant, res, url, params);
  const code = randomBytes(32).toString("base64url");
  store(codes, tenant).set(code, { clientId, redirectUri, scope: params.get("scope") ?? "", user, nonce: params.get("nonce") ?? undefined, challenge, expiresAt: Date.now() + CODE_TTL_MS });
  back({ code, client_info: clientInfo(tenant, user), session_state: randomBytes(16).toString("hex") });
}

function signInPage(tenant: Tenant, res: ServerResponse, url: URL, params: URLSearchParams): void {
  const hidden = [...params].filter(([name]) => name !== "login").map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`).join("");
  const users = [...tenant.signInUsers.values()];
  const choices = users.map((u, i) => `<p><label><input type="radio" name="login" value="${u.objectId}"${i === 0 ? " checked" : ""}> ${escapeHtml(u.displayName)} (${escapeHtml(u.userPrincipalName)})</label></p>`).join("");
  page(res, 200, "Sign in to the sandbox tenant", `<form method="post" action="${escapeHtml(url.pathname)}">${hidden}<fieldset><legend>Pick an account</legend>${choices}</fieldset><p><button type="submit" id="sign-in">Sign in</button></p></form>`);
}

const clientInfo = (tenant: Tenant, user: SignInUser) => Buffer.from(JSON.stringify({ uid: user.objectId, utid: tenant.tenantId })).toString("base64url");

/** The authorization_code and refresh_token grants; undefined when the grant is another one. */
export async function redeemUserGrant(tenant: Tenant, req: IncomingMessage, res: ServerResponse, form: URLSearchParams): Promise<boolean> {
  const grantType = form.get("grant_type");
  if (grantType !== "authorization_code" && grantType !== "refresh_token") return false;
  const cors = corsHeaders(req);
  const fail = (e: EntraError) => {
    for (const [name, value] of Object.entries(cors)) res.setHeader(name, value);
    sendEntraError(req, res, tenant.authorityUrl, e);
    return true;
  };
  const clientId = form.get("client_id");
  if (!clientId) return fail(entraErrors.missingParameter("client_id"));
  const app = tenant.apps.get(clientId);
  if (!app) return fail(entraErrors.appNotFound(clientId, tenant.tenantId));

  let grant: Grant | undefined;
  if (grantType === "authorization_code") {
    const code = form.get("code");
    if (!code) return fail(entraErrors.missingParameter("code"));
    grant = store(codes, tenant).get(code);
    store(codes, tenant).delete(code);
    if (!grant || grant.expiresAt < Date.now() || grant.clientId !== clientId) return fail(authErrors.badCode());
    if (form.get("redirect_uri") !== grant.redirectUri) return fail(authErrors.codeRedirectMismatch());
    const crossOrigin = headerValue(req, "origin") !== undefined;
    if (crossOrigin && !app.spaRedirectUris.includes(grant.redirectUri)) return fail(authErrors.notSpa());
    if (crossOrigin && !grant.challenge) return fail(authErrors.pkceRequired());
    if (grant.challenge) {
      const verifier = form.get("code_verifier") ?? "";
      if (createHash("sha256").update(verifier).digest("base64url") !== grant.challenge) return fail(authErrors.verifierMismatch());
    }
  } else {
    const token = form.get("refresh_token") ?? "";
    grant = store(refreshTokens, tenant).get(token);
    if (!grant || grant.clientId !== clientId) return fail(authErrors.badCode());
    store(refreshTokens, tenant).delete(token);
  }
  await answerTokens(tenant, res, { ...grant, scope: form.get("scope") ?? grant.scope }, cors);
  return true;
}

async function answerTokens(tenant: Tenant, res: ServerResponse, grant: Grant, cors: Record<string, string>): Promise<void> {
  const resourceScopes = grant.scope.split(" ").filter((s) => s && !OIDC_SCOPES.has(s));
  const resourceScope = resourceScopes[0] ?? "";
  const audience = resourceScope.endsWith("/.default") ? resourceScope.slice(0, -"/.default".length) : resourceScope.replace(/\/[^/]+$/, "");
  const lifetime = tenant.tokenLifetimeSeconds ?? 3600 + Math.floor(Math.random() * 1801);
  const { token } = await tenant.issueUserAccessToken({ clientId: grant.clientId, audience, user: grant.user, scp: "user_impersonation", lifetimeSeconds: lifetime });
  const refresh = randomBytes(32).toString("base64url");
  store(refreshTokens, tenant).set(refresh, { ...grant, nonce: undefined, expiresAt: Date.now() + 24 * 3600_000 });
  sendJson(res, 200, {
    token_type: "Bearer",
    scope: [resourceScope, ...grant.scope.split(" ").filter((s) => OIDC_SCOPES.has(s))].filter(Boolean).join(" "),
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: token,
    refresh_token: refresh,
    id_token: await tenant.issueIdToken({ clientId: grant.clientId, user: grant.user, nonce: grant.nonce }),
    client_info: clientInfo(tenant, grant.user),
  }, { "cache-control": "no-store, no-cache", pragma: "no-cache", ...cors });
}

/** GET /{tenant}/oauth2/v2.0/logout: back to post_logout_redirect_uri when given. */
export function handleLogout(res: ServerResponse, url: URL): void {
  const target = url.searchParams.get("post_logout_redirect_uri");
  if (target) {
    res.writeHead(302, { location: target, "cache-control": "no-store" });
    res.end();
    return;
  }
  page(res, 200, "Signed out", "<p>You have signed out.</p>");
}
