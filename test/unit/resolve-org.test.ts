// One rule for choosing an org (issue 14): the same answer from every use case that takes an `org`.
import { describe, expect, it } from "vitest";
import { resolveOrg } from "../../shared/config/org-url.js";
import { AppError } from "../../shared/errors/app-error.js";

const one = ["https://contoso.crm.dynamics.com"];
const two = [...one, "https://fabrikam.crm.dynamics.com"];

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error("expected a refusal");
}

describe("resolveOrg", () => {
  it("normalizes a configured org however it is spelled", () => {
    expect(resolveOrg(two, "HTTPS://Fabrikam.crm.dynamics.com/")).toBe("https://fabrikam.crm.dynamics.com");
  });

  it("takes the only org when none is named, and asks for one when several are configured", () => {
    expect(resolveOrg(one, undefined)).toBe(one[0]);
    expect(resolveOrg(one, "  ")).toBe(one[0]);
    const error = refusal(() => resolveOrg(two, undefined));
    expect([error.status, error.code]).toEqual([400, "org_required"]);
  });

  it("refuses an org that is not configured with 400 unknown_org, echoing a capped value", () => {
    const error = refusal(() => resolveOrg(two, `https://evil.example/${"x".repeat(5_000)}`));
    expect([error.status, error.code]).toEqual([400, "unknown_org"]);
    expect(error.message.length).toBeLessThan(400);
  });
});
