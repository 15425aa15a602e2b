// The Entra emulator's browser sign-in for single-page apps, as Entra behaves: /authorize with an exact
// redirect-URI match (AADSTS50011), code redemption with PKCE S256 (AADSTS501481 on a wrong verifier,
// AADSTS9002325 for a cross-origin redemption without PKCE), single-use codes, CORS for the SPA's origin,
// and delegated tokens carrying the user's app roles and no idtyp "app".
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { createEntraHandler } from "../../dev/sandbox/entra.js";
import { startHttpsService, type RunningService } from "../../dev/sandbox/https-service.js";
import { Tenant, type AppRegistration, type SignInUser } from "../../dev/sandbox/tenant.js";
import { ensureSandboxTls } from "../../dev/sandbox/tls.js";

const API = "api://identity-bridge";
const REDIRECT = "http://127.0.0.1:7071/api/console/";
const ORIGIN = "http://127.0.0.1:7071";
let tenant: Tenant;
let entra: RunningService;
let spa: AppRegistration;
let admin: SignInUser;

beforeAll(async () => {
  tenant = await Tenant.create();
  entra = await startHttpsService(ensureSandboxTls(process.env.SANDBOX_TLS_DIR ?? ""), "entra", createEntraHandler(tenant));
  tenant.authorityUrl = entra.url;
  spa = tenant.registerApp({ displayName: "bridge", spaRedirectUris: [REDIRECT] });
  admin = tenant.addSignInUser({ userPrincipalName: "admin@contoso.com", displayName: "Admin", appRoles: { [API]: ["Bridge.Admin"] } });
});
afterAll(async () => { await entra?.close(); });

const authorizeUrl = () => `${entra.url}/${tenant.tenantId}/oauth2/v2.0/authorize`;

/** Signs the admin in through the authorize endpoint's form; returns the redirect's parameters. */
async function signIn(params: Record<string, string>): Promise<URLSearchParams> {
  const form = new URLSearchParams({ client_id: spa.clientId, redirect_uri: REDIRECT, response_type: "code", scope: `${API}/.default openid profile offline_access`, state: "s1", nonce: "n1", response_mode: "fragment", ...params, login: admin.objectId });
  const res = await fetch(authorizeUrl(), { method: "POST", body: form, redirect: "manual" });
  expect(res.status).toBe(302);
  const location = res.headers.get("location")!;
  expect(location.startsWith(`${REDIRECT}#`)).toBe(true);
  return new URLSearchParams(location.split("#")[1]);
}

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

async function redeem(form: Record<string, string>, origin: string | undefined = ORIGIN) {
  const res = await fetch(`${entra.url}/${tenant.tenantId}/oauth2/v2.0/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...(origin ? { origin } : {}) },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: spa.clientId, redirect_uri: REDIRECT, ...form }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe("SPA sign-in (authorization code + PKCE)", () => {
  it("shows a sign-in page, then redeems the code once for a delegated token with the user's app roles", async () => {
    const page = await fetch(`${authorizeUrl()}?${new URLSearchParams({ client_id: spa.clientId, redirect_uri: REDIRECT, response_type: "code", scope: `${API}/.default` })}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Admin (admin@contoso.com)");
    const { verifier, challenge } = pkce();
    const answer = await signIn({ code_challenge: challenge, code_challenge_method: "S256" });
    expect(answer.get("state")).toBe("s1");
    const redeemed = await redeem({ code: answer.get("code")!, code_verifier: verifier });
    expect(redeemed.status).toBe(200);
    expect(redeemed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const access = decodeJwt(redeemed.body.access_token);
    expect(access).toMatchObject({ aud: API, azp: spa.clientId, oid: admin.objectId, roles: ["Bridge.Admin"], scp: "user_impersonation", tid: tenant.tenantId });
    expect(access.idtyp).toBeUndefined();
    expect(decodeJwt(redeemed.body.id_token)).toMatchObject({ aud: spa.clientId, nonce: "n1", preferred_username: "admin@contoso.com" });
    expect((await redeem({ code: answer.get("code")!, code_verifier: verifier })).body.error_codes).toEqual([70008]);
    const refreshed = await redeem({ grant_type: "refresh_token", refresh_token: redeemed.body.refresh_token, scope: `${API}/.default` });
    expect(decodeJwt(refreshed.body.access_token).roles).toEqual(["Bridge.Admin"]);
  });

  it("refuses a wrong verifier (AADSTS501481) and a cross-origin redemption without PKCE (AADSTS9002325)", async () => {
    const { challenge } = pkce();
    const wrong = await redeem({ code: (await signIn({ code_challenge: challenge, code_challenge_method: "S256" })).get("code")!, code_verifier: pkce().verifier });
    expect(wrong).toMatchObject({ status: 400, body: { error: "invalid_grant", error_codes: [501481] } });
    expect(wrong.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const noPkce = await redeem({ code: (await signIn({})).get("code")! });
    expect(noPkce.body.error_codes).toEqual([9002325]);
  });

  it("refuses a redirect URI that is not registered exactly (AADSTS50011), without redirecting", async () => {
    const res = await fetch(`${authorizeUrl()}?${new URLSearchParams({ client_id: spa.clientId, redirect_uri: `${REDIRECT}x`, response_type: "code" })}`, { redirect: "manual" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("AADSTS50011");
  });

  it("answers CORS preflights and serves discovery to browsers", async () => {
    const preflight = await fetch(`${entra.url}/${tenant.tenantId}/oauth2/v2.0/token`, { method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const discovery = await fetch(`${entra.url}/${tenant.tenantId}/v2.0/.well-known/openid-configuration`, { headers: { origin: ORIGIN } });
    expect(discovery.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });
});
