// A real OAuth client library (openid-client v6) against POST /api/token served by the local Functions host.
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
installFunctionsCore(); // before anything loads @azure/functions, so functions register for real
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as client from "openid-client";
import { decodeJwt, importPKCS8 } from "jose";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE } from "./support.js";

let env: BridgeEnvironment;
let host: LocalHost;
let org1: string;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1 });
  org1 = env.sandbox.dataverse[0]!.url;
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  // The whole app, as `npm start` serves it.
  host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: () => {} });
});
afterAll(async () => {
  await host?.close();
  await env?.stop();
});

function configuration(clientId: string, metadata?: string, auth?: client.ClientAuth): client.Configuration {
  const config = new client.Configuration({ issuer: host.url, token_endpoint: `${host.url}/api/token` }, clientId, metadata, auth);
  client.allowInsecureRequests(config); // the local host is plain http on loopback
  return config;
}

describe("openid-client against the bridge", () => {
  it("client credentials with client_secret_basic", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    const tokens = await client.clientCredentialsGrant(configuration(clientId, secret, client.ClientSecretBasic(secret)), { scope: `${org1}/.default` });
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(decodeJwt(tokens.access_token).aud).toBe(org1);
    expect(tokens.expiresIn()).toBeGreaterThan(0);
  });

  it("client credentials with client_secret_post", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    const tokens = await client.clientCredentialsGrant(configuration(clientId, secret, client.ClientSecretPost(secret)), { resource: org1 });
    expect(decodeJwt(tokens.access_token).aud).toBe(org1);
  });

  it("client credentials with private_key_jwt (aud = the issuer identifier, as openid-client sends it)", async () => {
    const { clientId, privateKeyPem } = env.sandbox.identities.jwtCaller;
    const key = await importPKCS8(privateKeyPem, "RS256");
    const tokens = await client.clientCredentialsGrant(configuration(clientId, undefined, client.PrivateKeyJwt(key)), { scope: `${org1}/.default` });
    expect(decodeJwt(tokens.access_token).aud).toBe(org1);
  });

  it("token exchange with the caller's Entra access token", async () => {
    const { entraCaller, apiAudience } = env.sandbox.identities;
    const { token: subject } = await env.sandbox.tenant.issueAccessToken({ clientId: entraCaller.app.clientId, audience: apiAudience });
    const tokens = await client.genericGrantRequest(configuration(entraCaller.app.clientId, undefined, client.None()), TOKEN_EXCHANGE, {
      subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, resource: org1,
    });
    expect(tokens.issued_token_type).toBe(ACCESS_TOKEN_TYPE);
    expect(decodeJwt(tokens.access_token).aud).toBe(org1);
  });

  it("a wrong secret: 401 with a Basic challenge carrying invalid_client", async () => {
    const { clientId } = env.sandbox.identities.secretCaller;
    const error = await client.clientCredentialsGrant(configuration(clientId, "nope", client.ClientSecretBasic("nope")), { scope: `${org1}/.default` }).catch((e: unknown) => e);
    // openid-client reads the challenge first: RFC 6749 §5.2's 401 + WWW-Authenticate for Basic clients.
    expect(error).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    const challenge = error as client.WWWAuthenticateChallengeError;
    expect(challenge.status).toBe(401);
    expect(challenge.cause[0]).toMatchObject({ scheme: "basic", parameters: { error: "invalid_client" } });
    expect(await challenge.response.json()).toMatchObject({ error: "invalid_client" });
  });

  it("answers over HTTP with the no-store headers and a JSON content type", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    const res = await fetch(`${host.url}/api/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: secret, scope: `${org1}/.default` }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });
});
