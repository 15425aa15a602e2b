// Shared helpers of the token endpoint tests: extra callers in TOKEN_CALLERS, form posts, forged JWTs.
import { randomBytes, randomUUID } from "node:crypto";
import { importPKCS8, SignJWT } from "jose";
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { decodeJwt } from "jose";
import { expect } from "vitest";
import { seedCallerIdentity } from "../../dev/sandbox/seed.js";
import type { BridgeEnvironment } from "../support/bridge-env.js";
import { callHandler } from "../support/bridge-env.js";

export const TOKEN_URL = "http://127.0.0.1:7071/api/token";
export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export interface ExtraCallers {
  disabled: { id: string; secret: string };
  slow: { id: string; secret: string };
  limitedApp: { id: string; clientId: string };
}

/** Adds test callers to the sandbox's TOKEN_CALLERS (before the bridge reads its configuration). */
export function addTestCallers(env: BridgeEnvironment, options: { reportingRate?: number } = {}): ExtraCallers {
  const { tenant, identities, dataverse } = env.sandbox;
  const org1 = dataverse[0]!.url;
  const disabled = { id: "retired", secret: randomBytes(16).toString("base64url") };
  const slow = { id: "slow", secret: randomBytes(16).toString("base64url") };
  tenant.setSecret("caller-retired-secret", disabled.secret);
  tenant.setSecret("caller-slow-secret", slow.secret);
  const limited = tenant.registerApp({ displayName: "Limited worker" });
  const orgs1 = [dataverse[0]!.org];
  const own = (displayName: string, app?: typeof limited) => seedCallerIdentity(tenant, orgs1, { displayName, roles: [`${displayName} role`], app }).clientId;
  const callers = identities.tokenCallers.map((c) => (c.id === "reporting" && options.reportingRate ? { ...c, ratePerMinute: options.reportingRate } : c));
  callers.push(
    { id: disabled.id, name: "Retired", auth: "secret", secretName: "caller-retired-secret", dataverseAppId: own("Retired"), resources: [org1], disabled: true },
    { id: slow.id, name: "Slow", auth: "secret", secretName: "caller-slow-secret", dataverseAppId: own("Slow"), resources: [org1], ratePerMinute: 2 },
    { id: "limited", name: "Limited", auth: "entra", appId: limited.clientId, dataverseAppId: own("Limited", limited), resources: [org1] },
  );
  process.env.TOKEN_CALLERS = JSON.stringify(callers);
  return { disabled, slow, limitedApp: { id: "limited", clientId: limited.clientId } };
}

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * POSTs a token request. Every issuance seen here is checked: the token is never the bridge's own
 * (appid = APP_CLIENT_ID), whatever the test asserts besides.
 */
export async function postForm(handler: Handler, form: Record<string, string> | string, headers: Record<string, string> = {}) {
  const res = await callHandler(handler, TOKEN_URL, {
    method: "POST",
    body: typeof form === "string" ? form : new URLSearchParams(form).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
  if (typeof res.body?.access_token === "string") expectNotBridgeToken(res.body.access_token);
  return res;
}

export function expectNotBridgeToken(accessToken: string): void {
  const claims = decodeJwt(accessToken);
  const bridge = process.env.APP_CLIENT_ID?.toLowerCase();
  expect(bridge, "APP_CLIENT_ID is set").toBeTruthy();
  expect(String(claims.appid ?? claims.azp).toLowerCase(), "an issued token is never the bridge's own").not.toBe(bridge);
}

export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64")}`;
}

export async function clientAssertion(privateKeyPem: string, clientId: string, overrides: { aud?: string; exp?: number; jti?: string; iss?: string; alg?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const key = await importPKCS8(privateKeyPem, overrides.alg ?? "RS256");
  return new SignJWT({ jti: overrides.jti ?? randomUUID() })
    .setProtectedHeader({ alg: overrides.alg ?? "RS256", typ: "JWT" })
    .setIssuer(overrides.iss ?? clientId)
    .setSubject(clientId)
    .setAudience(overrides.aud ?? TOKEN_URL)
    .setIssuedAt(now)
    .setExpirationTime(overrides.exp ?? now + 120)
    .sign(key);
}

/** An unsigned JWT (`alg: none`). */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
}

/** HS256 signed with `secret` (the classic public-key-as-HMAC-secret confusion). */
export async function hs256(claims: Record<string, unknown>, secret: Uint8Array, kid?: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT", ...(kid ? { kid } : {}) }).sign(secret);
}

export function entraTokenPosts(env: BridgeEnvironment): number {
  // MSAL adds ?client-request-id=…, so match the path only.
  return env.sandbox.entra.knobs.count((r) => r.method === "POST" && r.url.split("?")[0]!.endsWith("/oauth2/v2.0/token"));
}
