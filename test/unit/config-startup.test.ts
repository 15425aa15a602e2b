import { InvocationContext } from "@azure/functions";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../shared/config/config.js";
import { checkConfigurationAtStart } from "../../shared/config/startup-check.js";
import { errorResponse } from "../../shared/http/problem.js";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe("a bad configuration at run time", () => {
  it("is logged once at app start with every problem named", () => {
    for (const name of Object.keys(process.env)) if (/^(AZURE_|APP_|KEY_VAULT|DATAVERSE|API_|TOKEN_|AzureWebJobs)/.test(name)) delete process.env[name];
    process.env.AZURE_TENANT_ID = "nope";
    const errors: string[] = [];
    checkConfigurationAtStart({ error: (m) => errors.push(m), info: () => undefined });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/AZURE_TENANT_ID: must be a GUID/);
    expect(errors[0]).toMatch(/DATAVERSE_URLS: is missing/);
  });

  it("makes requests answer 503 problem+json without the details", () => {
    const logged: string[] = [];
    const context = new InvocationContext({ logHandler: (_l, ...args) => logged.push(args.join(" ")) });
    const response = errorResponse(new ConfigError(["KEY_VAULT_URL: is missing"]), context);
    expect(response.status).toBe(503);
    expect((response.headers as Record<string, string>)["content-type"]).toBe("application/problem+json");
    expect(String(response.body)).not.toContain("KEY_VAULT_URL");
    expect(logged.join("\n")).toContain("KEY_VAULT_URL: is missing");
  });
});
