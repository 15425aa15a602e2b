// The on-premises flavour of the Dataverse emulator and the AD FS emulator, as a client sees them over HTTPS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { adObjectGuid } from "../../dev/sandbox/directory.js";
import type { Sandbox } from "../../dev/sandbox/sandbox.js";
import { startTestSandbox } from "../support/sandbox.js";

let sandbox: Sandbox;
let token: string;

beforeAll(async () => {
  sandbox = await startTestSandbox({ seed: { users: 6 }, onPremisesOrgs: 1 });
  const ids = sandbox.onPremisesIdentities!;
  const form = new URLSearchParams({ grant_type: "client_credentials", client_id: ids.adfsClient.clientId, client_secret: sandbox.tenant.vault.get(ids.adfsCredentialSecretName)!.at(-1)!.value, resource: org().url });
  const res = await fetch(`${sandbox.adfs!.url}/adfs/oauth2/token/`, { method: "POST", body: form });
  expect(res.status).toBe(200);
  token = ((await res.json()) as { access_token: string }).access_token;
});
afterAll(async () => { await sandbox?.stop(); });

const org = () => sandbox.onPremises[0]!.org;
const api = (path: string, init: RequestInit = {}, bearer = token) =>
  fetch(`${org().url}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}`, accept: "application/json", "content-type": "application/json", ...(init.headers ?? {}) } });

describe("AD FS emulator", () => {
  it("publishes its OpenID configuration with the http access-token issuer, and keys", async () => {
    const config = (await (await fetch(`${sandbox.adfs!.url}/adfs/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(config).toMatchObject({ issuer: `${sandbox.adfs!.url}/adfs`, token_endpoint: `${sandbox.adfs!.url}/adfs/oauth2/token/`, jwks_uri: `${sandbox.adfs!.url}/adfs/discovery/keys` });
    expect(config.access_token_issuer).toBe(`http://${new URL(sandbox.adfs!.url).host}/adfs/services/trust`);
    const keys = (await (await fetch(String(config.jwks_uri))).json()) as { keys: unknown[] };
    expect(keys.keys.length).toBeGreaterThan(0);
    expect(decodeJwt(token)).toMatchObject({ aud: org().url, ver: "1.0", apptype: "Confidential", iss: config.access_token_issuer });
  });

  it("answers OAuth errors with MSIS codes", async () => {
    const post = (params: Record<string, string>) => fetch(`${sandbox.adfs!.url}/adfs/oauth2/token/`, { method: "POST", body: new URLSearchParams(params) });
    const bad = await post({ grant_type: "client_credentials", client_id: sandbox.onPremisesIdentities!.adfsClient.clientId, client_secret: "nope", resource: org().url });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: "invalid_client", error_description: expect.stringMatching(/^MSIS9622: /) });
    const grant = await post({ grant_type: "password" });
    expect(await grant.json()).toMatchObject({ error: "unsupported_grant_type", error_description: expect.stringMatching(/^MSIS9611: /) });
  });
});

describe("on-premises Dataverse emulator", () => {
  it("serves /api/data/v9.1 and v9.0, not v9.2", async () => {
    expect((await api("/api/data/v9.1/systemusers?$select=domainname&$top=1")).status).toBe(200);
    expect((await api("/api/data/v9.0/systemusers?$select=domainname&$top=1")).status).toBe(200);
    const online = await api("/api/data/v9.2/systemusers?$top=1");
    expect(online.status).toBe(404);
    expect(((await online.json()) as { error: { code: string } }).error.code).toBe("0x80060888");
  });

  it("takes AD FS tokens for the org only: an Entra token or another audience is 401 with an AD FS challenge", async () => {
    const entra = (await sandbox.tenant.issueAccessToken({ clientId: sandbox.identities.bridgeApp.clientId, audience: org().url })).token;
    const refused = await api("/api/data/v9.1/systemusers?$top=1", {}, entra);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toContain(`authorization_uri=${sandbox.adfs!.url}/adfs/oauth2/authorize`);
    const other = (await sandbox.adfs!.emulator.issueAccessToken(sandbox.onPremisesIdentities!.adfsClient.clientId, "https://elsewhere.contoso.test")).token;
    expect((await api("/api/data/v9.1/systemusers?$top=1", {}, other)).status).toBe(401);
  });

  it("resolves DOMAIN\\sam against AD accounts and fills activedirectoryguid; a cloud-only or unknown name is refused", async () => {
    const directory = sandbox.tenant.directory;
    const ad = directory.addUser({ userPrincipalName: "dana@contoso.com", onPremisesSamAccountName: "dana", onPremisesDomainName: "contoso.local" });
    directory.addUser({ userPrincipalName: "cloud@contoso.com" });
    const created = await api("/api/data/v9.1/systemusers", { method: "POST", body: JSON.stringify({ domainname: "CONTOSO\\dana", firstname: "Dana", lastname: "Scully" }), headers: { prefer: "return=representation" } });
    expect(created.status).toBe(201);
    const row = (await created.json()) as { systemuserid: string; activedirectoryguid: string; azureactivedirectoryobjectid: string | null };
    expect(row.activedirectoryguid).toBe(adObjectGuid(ad));
    expect(row.azureactivedirectoryobjectid).toBeNull();
    expect(created.headers.get("odata-entityid")).toContain("/api/data/v9.1/systemusers(");
    for (const name of ["cloud@contoso.com", "CONTOSO\\nobody", "FABRIKAM\\dana"]) {
      const refused = await api("/api/data/v9.1/systemusers", { method: "POST", body: JSON.stringify({ domainname: name, lastname: "X" }) });
      expect(refused.status, name).toBe(400);
    }
    // Read-only: a client cannot set the GUID itself.
    const patched = await api(`/api/data/v9.1/systemusers(${row.systemuserid})`, { method: "PATCH", body: JSON.stringify({ activedirectoryguid: "11111111-1111-1111-1111-111111111111" }) });
    expect(patched.status).toBeLessThan(500);
    expect(org().get(row.systemuserid)!.activedirectoryguid).toBe(adObjectGuid(ad));
  });
});
