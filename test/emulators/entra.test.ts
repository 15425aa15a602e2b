// Fidelity of the Entra ID emulator: real clients (@azure/identity / MSAL Node, jose) must get, accept and
// verify tokens exactly as against login.microsoftonline.com, and see Entra's errors.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential } from "@azure/identity";
import { createRemoteJWKSet, decodeJwt, jwtVerify, SignJWT } from "jose";
import { createEntraHandler } from "../../dev/sandbox/entra.js";
import { startHttpsService, type RunningService } from "../../dev/sandbox/https-service.js";
import { Tenant, type AppRegistration } from "../../dev/sandbox/tenant.js";
import { ensureSandboxTls, selfSignedCertificate } from "../../dev/sandbox/tls.js";

// Same as testTls() in test/support/sandbox.ts, without importing the whole sandbox (and every other emulator).
const testTls = () => ensureSandboxTls(process.env.SANDBOX_TLS_DIR ?? "");

const API = "api://identity-bridge";
let tenant: Tenant;
let entra: RunningService;
let app: AppRegistration;
const secret = "s3cret~value";
let certDir: string;
let certPem: string;
let keyPem: string;

function makeCert(_dir: string, name: string): { certPem: string; keyPem: string } {
  return selfSignedCertificate(name);
}

// MSAL adds ?client-request-id=… to the token URL, so match the path only.
const tokenPosts = () => entra.knobs.count((r) => r.method === "POST" && r.url.split("?")[0]!.endsWith("/oauth2/v2.0/token"));
const lastStatus = () => entra.knobs.requests[entra.knobs.requests.length - 1]!.status;
const secretCredential = (clientId: string, clientSecret: string) =>
  new ClientSecretCredential(tenant.tenantId, clientId, clientSecret, { authorityHost: entra.url, disableInstanceDiscovery: true });

async function postToken(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${entra.url}/${tenant.tenantId}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  tenant = await Tenant.create();
  entra = await startHttpsService(testTls(), "entra", createEntraHandler(tenant));
  tenant.authorityUrl = entra.url;
  app = tenant.registerApp({ displayName: "bridge", secrets: [secret], roles: { [API]: ["Bridge.Admin", "Token.Issue"] } });
  certDir = mkdtempSync(join(tmpdir(), "entra-test-"));
  ({ certPem, keyPem } = makeCert(certDir, "client"));
});

afterAll(async () => {
  await entra?.close();
  rmSync(certDir, { recursive: true, force: true });
});

describe("discovery and keys", () => {
  it("publishes a v2 OIDC document MSAL accepts and a JWKS holding every signing key", async () => {
    await tenant.rotateSigningKey();
    const doc = (await (await fetch(`${entra.url}/${tenant.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(doc.issuer).toBe(tenant.issuer);
    expect(doc.token_endpoint).toBe(`${entra.url}/${tenant.tenantId}/oauth2/v2.0/token`);
    expect(doc.authorization_endpoint).toBe(`${entra.url}/${tenant.tenantId}/oauth2/v2.0/authorize`);
    const jwks = (await (await fetch(doc.jwks_uri!)).json()) as { keys: Array<{ kid: string; n: string; d?: string }> };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual(tenant.signingKeys.map((k) => k.kid).sort());
    expect(jwks.keys.length).toBe(2);
    expect(jwks.keys.every((k) => k.n && k.d === undefined)).toBe(true); // public only
    const v1 = (await (await fetch(`${entra.url}/${tenant.tenantId}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(v1.jwks_uri).toBe(`${entra.url}/${tenant.tenantId}/discovery/keys`);
  });

  it("answers an unknown tenant with AADSTS90002 and instance discovery with its own host", async () => {
    const res = await fetch(`${entra.url}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; error_codes: number[] };
    expect(body.error).toBe("invalid_request");
    expect(body.error_codes).toEqual([90002]);
    const inst = (await (await fetch(`${entra.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=x`)).json()) as { metadata: Array<{ aliases: string[] }> };
    expect(inst.metadata[0]!.aliases).toEqual([new URL(entra.url).host]);
  });
});

describe("client credentials with ClientSecretCredential", () => {
  it("issues an app-only token whose claims and signature check against the published keys, and MSAL caches it", async () => {
    const before = tokenPosts();
    const cred = secretCredential(app.clientId, secret);
    const at = await cred.getToken(`${API}/.default`);
    const doc = (await (await fetch(`${entra.url}/${tenant.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    const { payload, protectedHeader } = await jwtVerify(at.token, createRemoteJWKSet(new URL(doc.jwks_uri)), { issuer: doc.issuer, audience: API, algorithms: ["RS256"] });
    expect(protectedHeader.kid).toBe(tenant.signingKeys[0]!.kid);
    expect(payload.tid).toBe(tenant.tenantId);
    expect(payload.appid).toBe(app.clientId);
    expect(payload.azp).toBe(app.clientId);
    expect(payload.oid).toBe(app.servicePrincipalId);
    expect(payload.sub).toBe(app.servicePrincipalId);
    expect(payload.idtyp).toBe("app");
    expect(payload.azpacr).toBe("1");
    expect(payload.roles).toEqual(["Bridge.Admin", "Token.Issue"]);
    const lifetime = payload.exp! - payload.iat!;
    expect(lifetime).toBeGreaterThanOrEqual(3600);
    expect(lifetime).toBeLessThanOrEqual(5400);
    expect(Math.abs(at.expiresOnTimestamp - payload.exp! * 1000)).toBeLessThan(5000);
    // A second call is served from MSAL's cache: the response shape was accepted as cacheable.
    await cred.getToken(`${API}/.default`);
    expect(tokenPosts() - before).toBe(1);
  });

  it("omits roles for a resource the app holds none on, and honours the lifetime knob", async () => {
    tenant.tokenLifetimeSeconds = 600;
    try {
      const at = await secretCredential(app.clientId, secret).getToken("https://graph.example.test/.default");
      const claims = decodeJwt(at.token);
      expect(claims.aud).toBe("https://graph.example.test");
      expect(claims.roles).toBeUndefined();
      expect(claims.exp! - claims.iat!).toBe(600);
    } finally {
      tenant.tokenLifetimeSeconds = undefined;
    }
  });

  it("accepts client_secret_basic and answers Entra's v2 response shape with no-store", async () => {
    const basic = Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(secret)}`).toString("base64");
    const res = await postToken({ grant_type: "client_credentials", scope: `${API}/.default` }, { authorization: `Basic ${basic}` });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["access_token", "expires_in", "ext_expires_in", "token_type"]);
    expect(res.body.token_type).toBe("Bearer");
    expect(res.headers.get("cache-control")).toContain("no-store");
  });

  it("rejects a wrong secret with AADSTS7000215 (invalid_client, 401) surfaced by the SDK", async () => {
    // @azure/identity wraps MSAL's ServerError in AuthenticationRequiredError, whose message keeps Entra's error.
    const err = await secretCredential(app.clientId, "wrong").getToken(`${API}/.default`).catch((e: unknown) => e);
    expect((err as Error).name).toBe("AuthenticationRequiredError");
    expect((err as Error).message).toMatch(/^invalid_client: Error\(s\): 7000215 .*AADSTS7000215: Invalid client secret provided/);
    expect(lastStatus()).toBe(401);
  });

  it("rejects an unknown app with AADSTS700016", async () => {
    const err = await secretCredential("11111111-2222-3333-4444-555555555555", secret).getToken(`${API}/.default`).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^unauthorized_client: .*AADSTS700016/);
    expect(lastStatus()).toBe(400);
  });

  it("answers scope errors and missing credentials as Entra does, with trace and correlation ids", async () => {
    const noDefault = await postToken({ grant_type: "client_credentials", client_id: app.clientId, client_secret: secret, scope: `${API}/Read` }, { "client-request-id": "corr-1" });
    expect(noDefault.status).toBe(400);
    expect(noDefault.body.error).toBe("invalid_scope");
    expect(noDefault.body.error_codes).toEqual([1002012]);
    expect(noDefault.body.correlation_id).toBe("corr-1");
    expect(typeof noDefault.body.trace_id).toBe("string");
    expect(noDefault.body.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
    expect(noDefault.body.error_description).toMatch(/^AADSTS1002012: .* Trace ID: .* Correlation ID: corr-1 Timestamp: /);
    const two = await postToken({ grant_type: "client_credentials", client_id: app.clientId, client_secret: secret, scope: `${API}/.default https://x.test/.default` });
    expect(two.body.error_codes).toEqual([70011]);
    const none = await postToken({ grant_type: "client_credentials", client_id: app.clientId, scope: `${API}/.default` });
    expect(none.status).toBe(401);
    expect(none.body.error_codes).toEqual([7000218]);
    const grant = await postToken({ grant_type: "password", client_id: app.clientId, scope: `${API}/.default` });
    expect(grant.body.error).toBe("unsupported_grant_type");
  });
});

describe("client credentials with a certificate (RFC 7523)", () => {
  it("ClientCertificateCredential authenticates with a registered PEM certificate", async () => {
    const certApp = tenant.registerApp({ displayName: "cert app", certificates: [certPem], roles: { [API]: ["Token.Issue"] } });
    const cred = new ClientCertificateCredential(tenant.tenantId, certApp.clientId, { certificate: `${certPem}\n${keyPem}` }, { authorityHost: entra.url, disableInstanceDiscovery: true });
    const at = await cred.getToken(`${API}/.default`);
    const claims = decodeJwt(at.token);
    expect(claims.appid).toBe(certApp.clientId);
    expect(claims.azpacr).toBe("2");
    expect(claims.roles).toEqual(["Token.Issue"]);
  });

  it("refuses a certificate not registered on the app with AADSTS700027", async () => {
    const other = makeCert(certDir, "other");
    const certApp = tenant.registerApp({ displayName: "cert app 2", certificates: [certPem] });
    const cred = new ClientCertificateCredential(tenant.tenantId, certApp.clientId, { certificate: `${other.certPem}\n${other.keyPem}` }, { authorityHost: entra.url, disableInstanceDiscovery: true });
    const err = await cred.getToken(`${API}/.default`).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^invalid_client: .*AADSTS700027/);
    expect(lastStatus()).toBe(401);
  });

  it("checks the assertion's signature, audience and expiry", async () => {
    const certApp = tenant.registerApp({ displayName: "cert app 3", certificates: [certPem] });
    const x5tS256 = Buffer.from(new X509Certificate(certPem).fingerprint256.replace(/:/g, ""), "hex").toString("base64url");
    const tokenUrl = `${entra.url}/${tenant.tenantId}/oauth2/v2.0/token`;
    const sign = (claims: Record<string, unknown>, key = createPrivateKey(keyPem)) =>
      new SignJWT({ jti: crypto.randomUUID(), ...claims }).setProtectedHeader({ alg: "PS256", "x5t#S256": x5tS256 }).setIssuer(certApp.clientId).setSubject(certApp.clientId).sign(key);
    const now = Math.floor(Date.now() / 1000);
    const form = (assertion: string) => ({
      grant_type: "client_credentials", client_id: certApp.clientId, scope: `${API}/.default`,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: assertion,
    });
    const ok = await postToken(form(await sign({ aud: tokenUrl, exp: now + 600, nbf: now })));
    expect(ok.status).toBe(200);
    const wrongAud = await postToken(form(await sign({ aud: "https://elsewhere.test/token", exp: now + 600 })));
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.body.error).toBe("invalid_client");
    const expired = await postToken(form(await sign({ aud: tokenUrl, exp: now - 3600 })));
    expect(expired.body.error_codes).toEqual([700024]);
    const otherKey = createPrivateKey(makeCert(certDir, "forger").keyPem);
    const forged = await postToken(form(await sign({ aud: tokenUrl, exp: now + 600 }, otherKey)));
    expect(forged.body.error_codes).toEqual([700027]);
  });
});

describe("App Service managed identity endpoint", () => {
  const saved: Record<string, string | undefined> = {};
  const vars = ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"];
  beforeAll(() => {
    for (const v of vars) { saved[v] = process.env[v]; delete process.env[v]; }
    process.env.IDENTITY_ENDPOINT = `${entra.url}/msi/token`;
    process.env.IDENTITY_HEADER = tenant.identityHeader;
  });
  afterAll(() => {
    for (const v of vars) { if (saved[v] === undefined) delete process.env[v]; else process.env[v] = saved[v]; }
  });

  it("ManagedIdentityCredential (system-assigned) gets a token for the function app's identity", async () => {
    const at = await new ManagedIdentityCredential().getToken("https://vault.azure.net/.default");
    const { payload } = await jwtVerify(at.token, createRemoteJWKSet(new URL(`${entra.url}/${tenant.tenantId}/discovery/v2.0/keys`)), { issuer: tenant.issuer, audience: "https://vault.azure.net" });
    expect(payload.appid).toBe(tenant.managedIdentity.clientId);
    expect(payload.oid).toBe(tenant.managedIdentity.principalId);
    expect(payload.idtyp).toBe("app");
    const call = entra.knobs.requests.find((r) => r.url.startsWith("/msi/token"))!;
    const q = new URL(call.url, entra.url).searchParams;
    expect(q.get("api-version")).toBe("2019-08-01");
    expect(q.get("resource")).toBe("https://vault.azure.net");
  });

  it("selects the identity by client_id, and refuses an identity the app does not have", async () => {
    const at = await new ManagedIdentityCredential({ clientId: tenant.managedIdentity.clientId }).getToken("https://mi-by-id.test/.default");
    expect(decodeJwt(at.token).appid).toBe(tenant.managedIdentity.clientId);
    const err = await new ManagedIdentityCredential({ clientId: "99999999-9999-9999-9999-999999999999" }).getToken("https://mi-other.test/.default").catch((e: unknown) => e);
    expect((err as Error).message).toContain("Unable to load the proper Managed Identity");
  });

  it("answers the App Service protocol: epoch-seconds expires_on string, and 400/401 without the right header", async () => {
    const url = `${entra.url}/msi/token?resource=${encodeURIComponent("https://raw.test")}&api-version=2019-08-01`;
    const ok = await fetch(url, { headers: { "X-IDENTITY-HEADER": tenant.identityHeader } });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as Record<string, string>;
    expect(body).toMatchObject({ resource: "https://raw.test", token_type: "Bearer", client_id: tenant.managedIdentity.clientId });
    expect(body.expires_on).toMatch(/^\d+$/);
    expect(Number(body.expires_on)).toBe(decodeJwt(body.access_token!).exp);
    expect((await fetch(url)).status).toBe(400);
    expect((await fetch(url, { headers: { "X-IDENTITY-HEADER": "nope" } })).status).toBe(401);
    expect((await fetch(url.replace("2019-08-01", "2017-09-01"), { headers: { "X-IDENTITY-HEADER": tenant.identityHeader } })).status).toBe(400);
  });
});
