import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/config.js";
import { rulesForOrg } from "../../shared/config/access-rules.js";
import { problemsOf } from "../support/config-problems.js";
import { VALID_SETTINGS } from "../support/settings.js";

const valid = VALID_SETTINGS;
const GROUP = "0A1B2C3D-0000-4000-8000-000000000001";
const rules = (value: unknown) => ({ ...valid, ACCESS_RULES: JSON.stringify(value) });

describe("access settings", () => {
  it("default to no rules, a removal threshold of 500 and every user licensed", () => {
    expect(loadConfig(valid).access).toEqual({ rules: [], removalThreshold: { count: 500 }, licenseSkus: [] });
  });

  it("read ordered rules, lower-case the group and org URLs, and keep rule order", () => {
    const config = loadConfig(rules([
      { group: GROUP, orgs: ["https://Contoso.crm.dynamics.com/"], businessUnit: "Sales", roles: ["Salesperson"], teams: ["Sales EMEA"] },
      { group: GROUP, roles: ["Basic User"] },
    ]));
    expect(config.access.rules).toEqual([
      { group: GROUP.toLowerCase(), orgs: ["https://contoso.crm.dynamics.com"], businessUnit: "Sales", roles: ["Salesperson"], teams: ["Sales EMEA"] },
      { group: GROUP.toLowerCase(), roles: ["Basic User"], teams: [] },
    ]);
    expect(rulesForOrg(config.access.rules, "https://fabrikam.crm4.dynamics.com")).toHaveLength(1);
    expect(rulesForOrg(config.access.rules, "https://contoso.crm.dynamics.com")).toHaveLength(2);
  });

  it("name every problem of the rules", () => {
    const problems = problemsOf(rules([
      { group: "not-a-guid", roles: ["A"] },
      { group: GROUP },
      { group: GROUP, roles: ["A", "a"], colour: "red" },
      { group: GROUP, orgs: ["https://other.crm.dynamics.com"], roles: ["A"] },
    ]));
    const text = problems.join("\n");
    expect(text).toMatch(/ACCESS_RULES: .*\[0\.group\] must be a GUID/);
    expect(text).toMatch(/\[1\] names nothing to give: add a businessUnit, roles or teams/);
    expect(text).toMatch(/\[2\.roles\] must not name the same one twice/);
    expect(text).toMatch(/\[2\] Unrecognized key.*colour/);
    expect(problemsOf(rules([{ group: GROUP, orgs: ["https://other.crm.dynamics.com"], roles: ["A"] }])).join("\n"))
      .toMatch(/ACCESS_RULES: \[0\.orgs\] https:\/\/other\.crm\.dynamics\.com is not a configured org/);
    expect(problemsOf({ ...valid, ACCESS_RULES: "{" })[0]).toMatch(/^ACCESS_RULES: is not valid JSON \(a JSON array of rules/);
    expect(problemsOf(rules({ group: GROUP }))[0]).toMatch(/^ACCESS_RULES: must be a JSON array of rules/);
  });

  it("accept a rule naming an on-premises org", () => {
    const orgs = JSON.stringify([
      { url: "https://contoso.crm.dynamics.com" },
      { url: "https://crm.contoso.com/org", kind: "onpremises", authority: "https://adfs.contoso.com/adfs", clientId: "bridge", credentialSecretName: "adfs-secret" },
    ]);
    const env = { ...valid, DATAVERSE_URLS: undefined, DATAVERSE_ORGS: orgs, ACCESS_RULES: JSON.stringify([{ group: GROUP, orgs: ["https://crm.contoso.com/org"], roles: ["A"] }]) };
    expect(loadConfig(env).access.rules).toHaveLength(1);
  });

  it("read ACCESS_REMOVAL_THRESHOLD like the disable threshold and SYNC_LICENSE_SKUS as GUIDs", () => {
    const config = loadConfig({ ...valid, ACCESS_REMOVAL_THRESHOLD: "2%", SYNC_LICENSE_SKUS: ` ${GROUP}, 6fd2c87f-b296-42f0-b197-1e91e994b900` });
    expect(config.access.removalThreshold).toEqual({ percent: 2 });
    expect(config.access.licenseSkus).toEqual([GROUP.toLowerCase(), "6fd2c87f-b296-42f0-b197-1e91e994b900"]);
    const problems = problemsOf({ ...valid, ACCESS_REMOVAL_THRESHOLD: "lots", SYNC_LICENSE_SKUS: "E5" });
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ACCESS_REMOVAL_THRESHOLD: must be a count \(500\) or a share \(5%\)/),
      expect.stringMatching(/^SYNC_LICENSE_SKUS: must be a GUID/),
    ]));
  });
});
