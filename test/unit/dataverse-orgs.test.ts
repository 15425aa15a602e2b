import { describe, expect, it } from "vitest";
import { loadConfig, orgDescriptor } from "../../shared/config/config.js";
import { problemsOf } from "../support/config-problems.js";
import { REQUIRED_SETTINGS } from "../support/settings.js";

const base = REQUIRED_SETTINGS;

const onprem = {
  url: "https://crm.contoso.com/Contoso/",
  kind: "onpremises",
  authority: "https://adfs.contoso.com/adfs/",
  clientId: "bridge-adfs-client",
  credentialSecretName: "bridge-adfs-credential",
  netbiosDomains: { "Corp.Contoso.com": "corp" },
};


describe("DATAVERSE_ORGS", () => {
  it("describes online and on-premises orgs with their defaults, replacing DATAVERSE_URLS", () => {
    const config = loadConfig({
      ...base,
      DATAVERSE_URLS: "https://ignored.crm.dynamics.com",
      DATAVERSE_ORGS: JSON.stringify([{ url: "https://Contoso.crm.dynamics.com/" }, onprem]),
    });
    expect(config.dataverseUrls).toEqual(["https://contoso.crm.dynamics.com", "https://crm.contoso.com/contoso"]);
    expect(config.orgs[0]).toEqual({ url: "https://contoso.crm.dynamics.com", kind: "online", apiVersion: "9.2", netbiosDomains: {} });
    expect(config.orgs[1]).toEqual({
      url: "https://crm.contoso.com/contoso",
      kind: "onpremises",
      apiVersion: "9.1",
      adfs: { authority: "https://adfs.contoso.com/adfs", clientId: "bridge-adfs-client", credentialSecretName: "bridge-adfs-credential" },
      netbiosDomains: { "corp.contoso.com": "CORP" },
    });
    expect(orgDescriptor(config, "HTTPS://crm.contoso.com/Contoso/")?.kind).toBe("onpremises");
  });

  it("keeps DATAVERSE_URLS working as online descriptors", () => {
    const config = loadConfig({ ...base, DATAVERSE_URLS: "https://a.crm.dynamics.com,https://A.crm.dynamics.com/" });
    expect(config.orgs).toEqual([{ url: "https://a.crm.dynamics.com", kind: "online", apiVersion: "9.2", netbiosDomains: {} }]);
  });

  it("names what an on-premises org lacks, and settings that do not apply online", () => {
    const problems = problemsOf({
      ...base,
      DATAVERSE_ORGS: JSON.stringify([{ url: "https://crm.contoso.com/x", kind: "onpremises", apiVersion: "9.2" }, { url: "https://a.crm.dynamics.com", clientId: "x" }]),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^DATAVERSE_ORGS: /);
    for (const part of ["[0.authority] is required", "[0.clientId] is required", "[0.credentialSecretName] is required", "[0.apiVersion] on-premises orgs serve 9.0 or 9.1", "[1.clientId] applies only"]) {
      expect(problems[0]).toContain(part);
    }
  });

  it("refuses bad JSON, duplicates, plain http, unknown fields and a missing org list", () => {
    expect(problemsOf({ ...base, DATAVERSE_ORGS: "[{" })[0]).toMatch(/^DATAVERSE_ORGS: is not valid JSON/);
    expect(problemsOf({ ...base, DATAVERSE_ORGS: JSON.stringify([{ url: "https://a.crm.dynamics.com" }, { url: "https://A.crm.dynamics.com/" }]) })[0]).toMatch(/appears twice/);
    expect(problemsOf({ ...base, DATAVERSE_ORGS: JSON.stringify([{ url: "http://a.crm.dynamics.com" }]) })[0]).toMatch(/must use https/);
    expect(problemsOf({ ...base, DATAVERSE_ORGS: JSON.stringify([{ url: "https://a.crm.dynamics.com", secret: "hunter2" }]) })[0]).not.toContain("hunter2");
    expect(problemsOf({ ...base, DATAVERSE_ORGS: "[]" })[0]).toMatch(/at least one org/);
    expect(problemsOf(base).some((p) => p.startsWith("DATAVERSE_URLS: is missing"))).toBe(true);
  });

  it("refuses scope groups with an on-premises org (membership is read as Entra ids)", () => {
    const problems = problemsOf({ ...base, DATAVERSE_ORGS: JSON.stringify([onprem]), SYNC_SCOPE_GROUP_IDS: "11111111-2222-3333-4444-555555555555" });
    expect(problems[0]).toMatch(/^SYNC_SCOPE_GROUP_IDS: is not supported yet/);
  });

  it("a token caller of an on-premises org needs its AD FS application's credential in the vault, not a federated one", () => {
    const caller = { id: "erp", name: "ERP", auth: "secret", secretName: "erp-secret", dataverseAppId: "5a5a5a5a-0000-4000-8000-00000000000b", resources: ["https://crm.contoso.com/contoso"] };
    const federated = problemsOf({ ...base, DATAVERSE_ORGS: JSON.stringify([onprem]), TOKEN_CALLERS: JSON.stringify([caller]) });
    expect(federated[0]).toMatch(/^TOKEN_CALLERS: caller "erp": the on-premises org https:\/\/crm\.contoso\.com\/contoso needs "credential": \{"secretName"/);
    const withSecret = loadConfig({ ...base, DATAVERSE_ORGS: JSON.stringify([onprem]), TOKEN_CALLERS: JSON.stringify([{ ...caller, credential: { secretName: "erp-adfs" } }]) });
    expect(withSecret.tokenCallers[0]!.credential).toEqual({ secretName: "erp-adfs" });
  });
});
