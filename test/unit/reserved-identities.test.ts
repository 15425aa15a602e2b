// Issue #19 item 3: the bridge's own identities are never a caller's. A TOKEN_CALLERS entry acting as an AD FS
// client of the bridge (DATAVERSE_ORGS[].clientId) or naming one of its credential secrets (APP_CREDENTIAL_SECRET_NAME,
// an org's credentialSecretName, NOTIFICATION_CLIENT_STATE_SECRET_NAME) is refused at start-up, and again where a
// caller's token would be obtained (a policy that slipped past configuration never reaches AD FS or the vault).
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/config.js";
import { CALLER_IDENTITY_RESERVED, CallerTokens } from "../../shared/tokens/caller-tokens.js";
import { problemsOf } from "../support/config-problems.js";
import { REQUIRED_SETTINGS } from "../support/settings.js";

const ADFS_CLIENT = "5c0ffee0-1111-4222-8333-944445555666";
const base = {
  ...REQUIRED_SETTINGS,
  NOTIFICATION_URL: "https://bridge.example/api/notifications",
  NOTIFICATION_CLIENT_STATE_SECRET_NAME: "bridge-client-state",
  DATAVERSE_ORGS: JSON.stringify([{
    url: "https://crm.contoso.com/Contoso", kind: "onpremises", authority: "https://adfs.contoso.com/adfs",
    clientId: ADFS_CLIENT.toUpperCase(), credentialSecretName: "bridge-adfs-credential", netbiosDomains: { "corp.contoso.com": "corp" },
  }]),
};
const caller = (overrides: Record<string, unknown>) => ({
  id: "c", name: "C", auth: "secret", secretName: "c-secret", dataverseAppId: "0c0c0c0c-1111-4222-8333-944445555666",
  credential: { secretName: "c-adfs" }, resources: ["https://crm.contoso.com/Contoso"], ...overrides,
});
const problems = (...callers: Array<Record<string, unknown>>) => problemsOf({ ...base, TOKEN_CALLERS: JSON.stringify(callers) });

describe("at start-up", () => {
  it("accepts a caller with identities of its own", () => {
    expect(loadConfig({ ...base, TOKEN_CALLERS: JSON.stringify([caller({})]) }).tokenCallers).toHaveLength(1);
  });

  it("refuses a caller acting as the bridge's AD FS client", () => {
    expect(problems(caller({ dataverseAppId: ADFS_CLIENT }))).toEqual([expect.stringMatching(/^TOKEN_CALLERS: caller "c": dataverseAppId is the bridge's AD FS client/)]);
  });

  it("refuses a caller naming any of the bridge's credential secrets, in any field", () => {
    for (const [field, value] of [
      ["credential", { secretName: "bridge-adfs-credential" }], ["credential", { secretName: "Bridge-App-Credential" }],
      ["secretName", "bridge-client-state"], ["secretName", "bridge-app-credential"],
    ] as const) {
      expect(problems(caller({ [field]: value })), `${field}=${JSON.stringify(value)}`).toEqual([expect.stringMatching(/names one of the bridge's own credential secrets/)]);
    }
    const jwt = caller({ auth: "private_key_jwt", secretName: undefined, publicKeySecretName: "bridge-adfs-credential" });
    expect(problems(jwt)).toEqual([expect.stringMatching(/^TOKEN_CALLERS: caller "c": publicKeySecretName names one of the bridge's own/)]);
  });
});

describe("at issuance", () => {
  const tokensFor = () => {
    const reads: string[] = [];
    const tokens = new CallerTokens({
      settings: {
        tenantId: base.AZURE_TENANT_ID, authorityHost: "https://login.microsoftonline.com", disableInstanceDiscovery: true, bridgeAppId: base.APP_CLIENT_ID,
        adfsAuthority: () => "https://adfs.contoso.com/adfs",
        reserved: { adfsClientIds: [ADFS_CLIENT.toUpperCase()], secretNames: ["bridge-adfs-credential", "bridge-app-credential"] },
      },
      platform: { getToken: async () => { throw new Error("must not be reached"); } },
      secrets: { getSecret: async (name) => { reads.push(name); throw new Error("must not be reached"); }, invalidate: () => undefined },
    });
    return { tokens, reads };
  };

  it("never seeks a token as the bridge's AD FS client or with its credential secret", async () => {
    const { tokens, reads } = tokensFor();
    const org = "https://crm.contoso.com/Contoso";
    await expect(tokens.acquire({ id: "c", dataverseAppId: ADFS_CLIENT, credential: { secretName: "c-adfs" } }, org)).rejects.toMatchObject({ code: CALLER_IDENTITY_RESERVED });
    await expect(tokens.acquire({ id: "c", dataverseAppId: "0c0c0c0c-1111-4222-8333-944445555666", credential: { secretName: "BRIDGE-ADFS-CREDENTIAL" } }, org)).rejects.toMatchObject({ code: CALLER_IDENTITY_RESERVED });
    expect(reads).toEqual([]);
  });
});
