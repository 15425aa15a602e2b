// AD FS client credentials with the real client library (openid-client) over HTTPS against the AD FS emulator:
// secret and private_key_jwt, the token's AD FS shape, caching, refresh, rotation and the MSIS error paths.
import { decodeJwt } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AdfsServer, createAdfsHandler } from "../../dev/sandbox/adfs.js";
import { startHttpsService, type RunningService } from "../../dev/sandbox/https-service.js";
import { AdfsCredential, AdfsTokenError } from "../../shared/credentials/adfs-credential.js";
import type { SecretReader, SecretValue } from "../../shared/credentials/secret-store.js";
import { selfSignedCertificate } from "../../dev/sandbox/tls.js";
import { testTls } from "../support/tls.js";

const ORG = "https://crm.contoso.test/contoso";

/** The vault's view for one secret name (the Key Vault path is covered by the sandbox tests). */
class Vault implements SecretReader {
  readonly values = new Map<string, SecretValue>();
  reads = 0;
  invalidated = 0;
  async getSecret(name: string): Promise<SecretValue> {
    this.reads++;
    const value = this.values.get(name);
    if (!value) throw new Error(`no secret ${name}`);
    return value;
  }
  invalidate(): void {
    this.invalidated++;
  }
}

let adfs: AdfsServer;
let service: RunningService;
let certPem = "";
let keyPem = "";

beforeAll(async () => {
  adfs = await AdfsServer.create();
  service = await startHttpsService(testTls(), "adfs", createAdfsHandler(adfs));
  adfs.url = service.url;
  adfs.addRelyingParty(ORG);
  adfs.addRelyingParty("https://other.contoso.test/");
  ({ certPem, keyPem } = selfSignedCertificate("bridge-adfs"));
});

afterAll(async () => {
  await service?.close();
});

let vault: Vault;
beforeEach(() => {
  vault = new Vault();
  service.knobs.reset();
});

function credential(clientId: string, options: { now?: () => number } = {}): AdfsCredential {
  return new AdfsCredential({ authority: `${service.url}/adfs`, clientId, credentialSecretName: "adfs-cred" }, vault, options);
}

describe("AD FS client credentials (openid-client)", () => {
  it("gets an AD FS-shaped token with a client secret, for resource = the org URL, and caches it", async () => {
    const client = adfs.registerClient({ displayName: "bridge", secrets: ["s3cret"], permittedResources: [ORG] });
    vault.values.set("adfs-cred", { value: "s3cret", version: "1" });
    const cred = credential(client.clientId);
    const before = adfs.issued;
    const token = await cred.getToken(ORG);
    const claims = decodeJwt(token.token);
    expect(claims).toMatchObject({ aud: ORG, appid: client.clientId, apptype: "Confidential", ver: "1.0", iss: adfs.accessTokenIssuer });
    expect(claims.tid).toBeUndefined();
    expect(claims.upn).toBeUndefined();
    expect(service.knobs.count((r) => r.url === "/adfs/.well-known/openid-configuration")).toBe(1);
    // Cached: concurrent and later calls share the one token.
    const again = await Promise.all([cred.getToken(ORG), cred.getToken(ORG)]);
    expect(again.map((t) => t.token)).toEqual([token.token, token.token]);
    expect(adfs.issued - before).toBe(1);
    // forceRefresh (a 401 from the org) asks again.
    expect((await cred.getToken(ORG, { forceRefresh: true })).token).not.toBe(token.token);
    expect(adfs.issued - before).toBe(2);
  });

  it("refreshes five minutes before expiry", async () => {
    const client = adfs.registerClient({ displayName: "bridge", secrets: ["s3cret"], permittedResources: [ORG] });
    vault.values.set("adfs-cred", { value: "s3cret", version: "1" });
    let now = Date.now();
    const cred = credential(client.clientId, { now: () => now });
    const first = await cred.getToken(ORG);
    now += (3600 - 301) * 1000;
    expect((await cred.getToken(ORG)).token).toBe(first.token);
    now += 2000;
    expect((await cred.getToken(ORG)).token).not.toBe(first.token);
  });

  it("signs in with private_key_jwt from a PEM certificate + key (aud = token endpoint, x5t = certificate)", async () => {
    const client = adfs.registerClient({ displayName: "bridge cert", certificates: [certPem], permittedResources: [ORG] });
    vault.values.set("adfs-cred", { value: `${certPem}\n${keyPem}`, version: "1" });
    const token = await credential(client.clientId).getToken(ORG);
    expect(decodeJwt(token.token).appid).toBe(client.clientId);
    // The same key with a certificate AD FS does not know is refused.
    const stranger = adfs.registerClient({ displayName: "other cert", certificates: [], permittedResources: [ORG] });
    await expect(credential(stranger.clientId).getToken(ORG)).rejects.toThrow(/MSIS9622/);
  });

  it("explains a missing relying party (MSIS9602) and a missing application permission (MSIS9605)", async () => {
    const client = adfs.registerClient({ displayName: "bridge", secrets: ["s3cret"], permittedResources: [ORG] });
    vault.values.set("adfs-cred", { value: "s3cret", version: "1" });
    const cred = credential(client.clientId);
    const unknown = await cred.getToken("https://nobody.contoso.test").catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(AdfsTokenError);
    expect((unknown as AdfsTokenError).message).toMatch(/no relying party trust for "https:\/\/nobody\.contoso\.test".*MSIS9602/);
    expect((unknown as AdfsTokenError).adfsError).toBe("invalid_resource");
    const denied = await cred.getToken("https://other.contoso.test/").catch((e: unknown) => e);
    expect((denied as Error).message).toMatch(/has no permission on the relying party.*application permission.*MSIS9605/);
  });

  it("re-reads a rotated secret once on MSIS9622, and explains a wrong one without echoing it", async () => {
    const client = adfs.registerClient({ displayName: "bridge", secrets: ["new-secret"], permittedResources: [ORG] });
    vault.values.set("adfs-cred", { value: "old-secret", version: "1" });
    const cred = credential(client.clientId);
    // Rotation: the vault's next read has the new version.
    vault.invalidate = () => { vault.invalidated++; vault.values.set("adfs-cred", { value: "new-secret", version: "2" }); };
    expect(decodeJwt((await cred.getToken(ORG)).token).appid).toBe(client.clientId);
    expect(vault.invalidated).toBe(1);

    const wrong = adfs.registerClient({ displayName: "bridge 2", secrets: ["right"], permittedResources: [ORG] });
    const vault2 = new Vault();
    vault2.values.set("adfs-cred", { value: "wrong-value", version: "1" });
    const error = await new AdfsCredential({ authority: `${service.url}/adfs`, clientId: wrong.clientId, credentialSecretName: "adfs-cred" }, vault2)
      .getToken(ORG).then(() => new Error("no error"), (e: unknown) => e as Error);
    expect(error.message).toMatch(/refused the client credential.*Key Vault secret "adfs-cred".*MSIS9622/);
    expect(error.message).not.toContain("wrong-value");
  });

  it("names an unknown client (MSIS9607) and an unreachable OpenID configuration", async () => {
    vault.values.set("adfs-cred", { value: "x", version: "1" });
    await expect(credential("no-such-client").getToken(ORG)).rejects.toThrow(/knows no client "no-such-client".*MSIS9607/);
    const lost = new AdfsCredential({ authority: `${service.url}/nowhere`, clientId: "x", credentialSecretName: "adfs-cred" }, vault);
    await expect(lost.getToken(ORG)).rejects.toThrow(/could not read the AD FS OpenID configuration at https:\/\/127\.0\.0\.1:\d+\/nowhere/);
  });
});
