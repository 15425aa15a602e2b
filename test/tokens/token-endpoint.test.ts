// Conformance of POST /api/token over raw HTTP shapes (RFC 6749, 7523, 8693) against the sandbox tenant.
import { createHash, createPublicKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { Tenant } from "../../dev/sandbox/tenant.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import {
  ACCESS_TOKEN_TYPE, addTestCallers, basic, clientAssertion, entraTokenPosts, hs256, JWT_BEARER, postForm, TOKEN_EXCHANGE, unsignedJwt,
  type ExtraCallers,
} from "./support.js";

let env: BridgeEnvironment;
let extra: ExtraCallers;
let handler: typeof import("../../functions/token.http.js").token;
let org1: string;
let org2: string;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 2 });
  extra = addTestCallers(env, { reportingRate: 100_000 });
  env.sandbox.tenant.tokenLifetimeSeconds = 4000;
  org1 = env.sandbox.dataverse[0]!.url;
  org2 = env.sandbox.dataverse[1]!.url;
  // These conformance checks send many failing requests from one local source; the failure throttle has
  // its own tests (client-auth-hardening.test.ts).
  const { tokenHandler } = await import("../../functions/token.http.js");
  const root = (await import("../support/test-bridge.js")).testBridge({ tokens: { authFailures: false } });
  handler = tokenHandler(() => root);
});
afterAll(async () => env?.stop());

const ids = () => env.sandbox.identities;
const scope = (org: string) => `${org}/.default`;
const secretCaller = () => ids().secretCaller;
const jwtCaller = () => ids().jwtCaller;
const subjectToken = async (claims: Record<string, unknown> = {}, options: { clientId?: string; audience?: string; lifetimeSeconds?: number; key?: Awaited<ReturnType<typeof Tenant.newSigningKey>> } = {}) =>
  (await env.sandbox.tenant.issueAccessToken({
    clientId: options.clientId ?? ids().entraCaller.app.clientId,
    audience: options.audience ?? ids().apiAudience,
    lifetimeSeconds: options.lifetimeSeconds,
    key: options.key,
    claims,
  })).token;
const exchange = (subject: string, extraForm: Record<string, string> = {}) =>
  postForm(handler, { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, resource: org1, ...extraForm });

function expectNoStore(headers: Record<string, string>) {
  expect(headers["cache-control"]).toBe("no-store");
  expect(headers["pragma"]).toBe("no-cache");
}

function expectOAuthError(res: { status: number; headers: Record<string, string>; body: any }, status: number, error: string) {
  expect({ status: res.status, error: res.body?.error }).toEqual({ status, error });
  expect(typeof res.body.error_description).toBe("string");
  expect(res.body.access_token).toBeUndefined();
  expectNoStore(res.headers);
}

describe("client_credentials", () => {
  it("client_secret_basic: issues the org's Dataverse token with its real remaining lifetime", async () => {
    const res = await postForm(handler, { grant_type: "client_credentials", scope: scope(org1) }, { authorization: basic(secretCaller().clientId, secretCaller().secret) });
    expect(res.status).toBe(200);
    expectNoStore(res.headers);
    expect(res.body.token_type).toBe("Bearer");
    expect(res.body.issued_token_type).toBeUndefined();
    const claims = decodeJwt(res.body.access_token);
    expect(claims.aud).toBe(org1);
    expect(claims.appid).toBe(ids().callerApps.reporting!.clientId);
    const remaining = (claims.exp as number) - Math.floor(Date.now() / 1000);
    expect(res.body.expires_in).toBeLessThanOrEqual(4000);
    expect(Math.abs(res.body.expires_in - remaining)).toBeLessThanOrEqual(2);
  });

  it("client_secret_post, with resource instead of scope", async () => {
    const res = await postForm(handler, { grant_type: "client_credentials", client_id: secretCaller().clientId, client_secret: secretCaller().secret, resource: `${org1}/` });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).aud).toBe(org1);
  });

  it("a wrong secret via the Authorization header: 401 invalid_client with WWW-Authenticate", async () => {
    const res = await postForm(handler, { grant_type: "client_credentials", scope: scope(org1) }, { authorization: basic(secretCaller().clientId, "wrong") });
    expectOAuthError(res, 401, "invalid_client");
    expect(res.headers["www-authenticate"]).toMatch(/^Basic /);
  });

  it("a wrong secret in the body: 401 invalid_client without WWW-Authenticate", async () => {
    const res = await postForm(handler, { grant_type: "client_credentials", client_id: secretCaller().clientId, client_secret: "wrong", scope: scope(org1) });
    expectOAuthError(res, 401, "invalid_client");
    expect(res.headers["www-authenticate"]).toBeUndefined();
  });

  it("unknown client, no client authentication, a caller using another method's credentials: invalid_client", async () => {
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials", client_id: "nobody", client_secret: "x", scope: scope(org1) }), 401, "invalid_client");
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials", client_id: secretCaller().clientId, scope: scope(org1) }), 401, "invalid_client");
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials", client_id: jwtCaller().clientId, client_secret: "x", scope: scope(org1) }), 401, "invalid_client");
  });

  it("every invalid_client answer has one text: a private_key_jwt id cannot be told from an unknown one", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const byAssertion = async (id: string, pem = stranger, type = JWT_BEARER) => postForm(handler, {
      grant_type: "client_credentials", client_id: id, client_assertion_type: type, client_assertion: await clientAssertion(pem, id), scope: scope(org1),
    });
    const answers = [
      await byAssertion(jwtCaller().clientId), // a real private_key_jwt id, signed by another key
      await byAssertion("nobody"), // an unknown id
      await byAssertion(secretCaller().clientId), // a secret caller's id
      await byAssertion(jwtCaller().clientId, jwtCaller().privateKeyPem, "urn:other"),
      await postForm(handler, { grant_type: "client_credentials", client_id: "nobody", client_assertion_type: JWT_BEARER, client_assertion: "not-a-jwt", scope: scope(org1) }),
      await postForm(handler, { grant_type: "client_credentials", client_id: "nobody", client_secret: "x", scope: scope(org1) }),
      await postForm(handler, { grant_type: "client_credentials", scope: scope(org1) }),
      await postForm(handler, { grant_type: "client_credentials", scope: scope(org1) }, { authorization: "Bearer x" }),
    ];
    for (const res of answers) expectOAuthError(res, 401, "invalid_client");
    expect(new Set(answers.map((res) => res.body.error_description))).toEqual(new Set(["client authentication failed"]));
  });

  it("private_key_jwt: a signed assertion for this endpoint is accepted once, a replay is refused", async () => {
    const assertion = await clientAssertion(jwtCaller().privateKeyPem, jwtCaller().clientId);
    const form = { grant_type: "client_credentials", client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: scope(org1) };
    const first = await postForm(handler, form);
    expect(first.status).toBe(200);
    expect(decodeJwt(first.body.access_token).aud).toBe(org1);
    expectOAuthError(await postForm(handler, form), 401, "invalid_client");
  });

  it("private_key_jwt: wrong aud, wrong iss, far-future or past exp, wrong assertion type are refused", async () => {
    const pem = jwtCaller().privateKeyPem;
    const id = jwtCaller().clientId;
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      await clientAssertion(pem, id, { aud: "https://login.microsoftonline.com/x/oauth2/v2.0/token" }),
      await clientAssertion(pem, id, { iss: "someone-else" }),
      await clientAssertion(pem, id, { exp: now + 3600 }),
      await clientAssertion(pem, id, { exp: now - 600 }),
    ];
    for (const assertion of cases) {
      expectOAuthError(await postForm(handler, { grant_type: "client_credentials", client_id: id, client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: scope(org1) }), 401, "invalid_client");
    }
    const good = await clientAssertion(pem, id);
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials", client_assertion_type: "urn:other", client_assertion: good, scope: scope(org1) }), 401, "invalid_client");
  });

  it("private_key_jwt: the assertion audience comes from PUBLIC_BASE_URL, never the request's Host", async () => {
    const pem = jwtCaller().privateKeyPem;
    const id = jwtCaller().clientId;
    const { callHandler } = await import("../support/bridge-env.js");
    const post = (assertion: string, url: string) => callHandler(handler, url, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: scope(org1) }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", host: "evil.example" },
    });
    const forged = await clientAssertion(pem, id, { aud: "http://evil.example/api/token" });
    expectOAuthError(await post(forged, "http://evil.example/api/token"), 401, "invalid_client");
    const real = await clientAssertion(pem, id, { aud: "http://127.0.0.1:7071/api/token" });
    expect((await post(real, "http://evil.example/api/token")).status).toBe(200);
  });

  it("private_key_jwt: alg none, HS256 keyed with the public key, and an unknown key are refused", async () => {
    const id = jwtCaller().clientId;
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: id, sub: id, aud: "http://127.0.0.1:7071/api/token", exp: now + 120, iat: now, jti: randomUUID() };
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const forged = [
      unsignedJwt(claims),
      await hs256({ ...claims, jti: randomUUID() }, new TextEncoder().encode(jwtCaller().publicKeyPem)),
      await hs256({ ...claims, jti: randomUUID() }, createPublicKey(jwtCaller().publicKeyPem).export({ type: "spki", format: "der" })),
      await clientAssertion(other, id),
    ];
    for (const assertion of forged) {
      expectOAuthError(await postForm(handler, { grant_type: "client_credentials", client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: scope(org1) }), 401, "invalid_client");
    }
  });

  it("a target outside the caller's policy is invalid_scope", async () => {
    const assertion = await clientAssertion(jwtCaller().privateKeyPem, jwtCaller().clientId);
    // erp may only have org1.
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials", client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: scope(org2) }), 400, "invalid_scope");
    const auth = { authorization: basic(secretCaller().clientId, secretCaller().secret) };
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials", scope: "https://other.crm.dynamics.com/.default" }, auth), 400, "invalid_scope");
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials", scope: `${org1}/user_impersonation` }, auth), 400, "invalid_scope");
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials" }, auth), 400, "invalid_scope");
  });
});

describe("token exchange (RFC 8693)", () => {
  it("issues for the caller's own Entra access token", async () => {
    const res = await exchange(await subjectToken());
    expect(res.status).toBe(200);
    expectNoStore(res.headers);
    expect(res.body).toMatchObject({ token_type: "Bearer", issued_token_type: ACCESS_TOKEN_TYPE });
    expect(decodeJwt(res.body.access_token).aud).toBe(org1);
    expect(res.body.expires_in).toBeGreaterThan(0);
  });

  it("never lets the answer outlive the subject token: expires_in is capped at its remaining lifetime", async () => {
    const res = await exchange(await subjectToken({}, { lifetimeSeconds: 6 * 60 }));
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBeGreaterThan(5 * 60 - 30);
    expect(res.body.expires_in).toBeLessThanOrEqual(6 * 60);
    const long = await exchange(await subjectToken({}, { lifetimeSeconds: 24 * 3600 }));
    expect(long.body.expires_in).toBeGreaterThan(6 * 60); // a long-lived subject leaves the token's own lifetime
  });

  it("refuses bad subject tokens with invalid_request", async () => {
    const now = Math.floor(Date.now() / 1000);
    const tenant = env.sandbox.tenant;
    const unknownKey = await Tenant.newSigningKey();
    const base = decodeJwt(await subjectToken());
    const publicJwk = tenant.signingKeys[0]!.publicJwk;
    const bad: Array<[string, string]> = [
      ["unknown key", await subjectToken({}, { key: unknownKey })],
      ["wrong aud", await subjectToken({}, { audience: "api://someone-else" })],
      ["wrong iss", await subjectToken({ iss: "https://login.example.com/evil/v2.0" })],
      ["wrong tid", await subjectToken({ tid: randomUUID() })],
      ["expired", await subjectToken({ exp: now - 600, nbf: now - 4000, iat: now - 4000 })],
      ["nbf in the future", await subjectToken({ nbf: now + 3600 })],
      ["alg none", unsignedJwt({ ...base })],
      ["HS256 keyed with the public JWK", await hs256({ ...base }, new TextEncoder().encode(JSON.stringify(publicJwk)), publicJwk.kid)],
      ["HS256 keyed with the modulus", await hs256({ ...base }, Buffer.from(publicJwk.n!, "base64url"), publicJwk.kid)],
      ["not an app token", await subjectToken({ idtyp: "user" })],
      ["app not in TOKEN_CALLERS", await subjectToken({}, { clientId: ids().adminApp.clientId })],
      ["garbage", "not-a-jwt"],
    ];
    for (const [label, token] of bad) {
      const res = await exchange(token);
      expect({ label, status: res.status, error: res.body.error }).toEqual({ label, status: 400, error: "invalid_request" });
    }
  });

  it("a resource the caller may not have is invalid_target", async () => {
    const subject = await subjectToken({}, { clientId: extra.limitedApp.clientId });
    expect((await exchange(subject)).status).toBe(200);
    expectOAuthError(await exchange(subject, { resource: org2 }), 400, "invalid_target");
  });

  it("malformed exchanges are invalid_request", async () => {
    const subject = await subjectToken();
    expectOAuthError(await postForm(handler, { grant_type: TOKEN_EXCHANGE, subject_token: subject, resource: org1 }), 400, "invalid_request");
    expectOAuthError(await exchange(subject, { actor_token: subject, actor_token_type: ACCESS_TOKEN_TYPE }), 400, "invalid_request");
    expectOAuthError(await postForm(handler, { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE, resource: org1 }), 400, "invalid_request");
  });
});

describe("request shape and policy", () => {
  const auth = () => ({ authorization: basic(secretCaller().clientId, secretCaller().secret) });

  it("unsupported_grant_type, missing grant_type, duplicate parameters, wrong content type, two auth methods", async () => {
    expectOAuthError(await postForm(handler, { grant_type: "password", scope: scope(org1) }, auth()), 400, "unsupported_grant_type");
    expectOAuthError(await postForm(handler, { scope: scope(org1) }, auth()), 400, "invalid_request");
    expectOAuthError(await postForm(handler, `grant_type=client_credentials&scope=${encodeURIComponent(scope(org1))}&scope=x`, auth()), 400, "invalid_request");
    expectOAuthError(await postForm(handler, "{}", { ...auth(), "content-type": "application/json" }), 400, "invalid_request");
    expectOAuthError(await postForm(handler, { grant_type: "client_credentials", client_id: secretCaller().clientId, client_secret: secretCaller().secret, scope: scope(org1) }, auth()), 400, "invalid_request");
  });

  it("a disabled caller is refused even with the right secret", async () => {
    const res = await postForm(handler, { grant_type: "client_credentials", scope: scope(org1) }, { authorization: basic(extra.disabled.id, extra.disabled.secret) });
    expectOAuthError(res, 400, "unauthorized_client");
  });

  it("past the caller's rate: 429 with Retry-After", async () => {
    const call = () => postForm(handler, { grant_type: "client_credentials", scope: scope(org1) }, { authorization: basic(extra.slow.id, extra.slow.secret) });
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    const limited = await call();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(limited.body.access_token).toBeUndefined();
    expectNoStore(limited.headers);
  });
});

describe("Dataverse token cache against the sandbox Entra", () => {
  it("1,000 concurrent requests for a cold org cause one request to Entra", async () => {
    const before = entraTokenPosts(env);
    const auth = { authorization: basic(secretCaller().clientId, secretCaller().secret) };
    const results = await Promise.all(Array.from({ length: 1000 }, () => postForm(handler, { grant_type: "client_credentials", scope: scope(org2) }, auth)));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(results.map((r) => r.body.access_token)).size).toBe(1);
    expect(entraTokenPosts(env) - before).toBe(1);
  });
});

describe("audit", () => {
  it("writes a row per issuance (token hash, expiry) and per refusal, never the token or a secret", async () => {
    const ok = await postForm(handler, { grant_type: "client_credentials", scope: scope(org1) }, { authorization: basic(secretCaller().clientId, secretCaller().secret) });
    expect(ok.status).toBe(200);
    const refusedSecret = "definitely-wrong-secret-value";
    expect((await postForm(handler, { grant_type: "client_credentials", client_id: secretCaller().clientId, client_secret: refusedSecret, scope: scope(org1) })).status).toBe(401);

    const { TABLES } = await import("../../shared/state/storage.js");
    const { readAudit } = await import("../../shared/tokens/audit-query.js");
    const { storage } = (await import("../support/test-bridge.js")).testBridge();
    const rows = await readAudit(await storage.table(TABLES.tokenAudit));
    const hash = createHash("sha256").update(ok.body.access_token).digest("hex");
    // Every caller of the org shares the cached token, so several rows carry its hash.
    const issued = rows.find((r) => r.tokenSha256 === hash && r.caller === "reporting" && r.method === "client_secret_basic");
    expect(issued).toMatchObject({ outcome: "issued", caller: "reporting", target: org1, method: "client_secret_basic", grant: "client_credentials" });
    expect(new Date(issued!.expiresOn as string).getTime()).toBe((decodeJwt(ok.body.access_token).exp as number) * 1000);
    expect(rows.some((r) => r.outcome === "refused" && r.caller === "reporting" && r.error === "invalid_client" && r.reason === "wrong_secret")).toBe(true);
    expect(rows.some((r) => r.outcome === "refused" && r.error === "invalid_scope")).toBe(true);
    expect(rows.some((r) => r.outcome === "refused" && r.reason === "rate_limited" && r.caller === "slow")).toBe(true);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(ok.body.access_token);
    expect(dump).not.toContain(refusedSecret);
    expect(dump).not.toContain(secretCaller().secret);
    expect(dump).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/); // no JWT at all (subject tokens, assertions)
  });

  it("fails closed: no token when only the audit write fails (storage otherwise up)", async () => {
    const { TableAuditSink } = await import("../../shared/tokens/audit.js");
    const { tokenHandler } = await import("../../functions/token.http.js");
    const root = (await import("../support/test-bridge.js")).testBridge({ tokens: { authFailures: false } });
    const submitted: number[] = [];
    const fail = async (count: number): Promise<never> => {
      submitted.push(count);
      throw new Error("InternalError: the audit table cannot be written");
    };
    const failing = new TableAuditSink(async () => ({ submitTransaction: async (actions: unknown[]) => fail(actions.length), createEntity: async () => fail(1) }));
    const failingRoot = { ...root, tokens: { ...root.tokens, service: { ...root.tokens.service, audit: failing } } };
    const res = await postForm(tokenHandler(() => failingRoot), { grant_type: "client_credentials", scope: scope(org1) }, { authorization: basic(secretCaller().clientId, secretCaller().secret) });
    expectOAuthError(res, 503, "temporarily_unavailable");
    expect(res.text).not.toMatch(/eyJ/);
    expect(submitted.length).toBeGreaterThan(0); // the write was attempted, and its failure withheld the token
  });

  it("fails closed: no token when the audit cannot be written", async () => {
    await env.azurite.stop();
    const res = await postForm(handler, { grant_type: "client_credentials", scope: scope(org1) }, { authorization: basic(secretCaller().clientId, secretCaller().secret) });
    expectOAuthError(res, 503, "temporarily_unavailable");
    expect(res.text).not.toMatch(/eyJ/);
  }, 60_000);
});
