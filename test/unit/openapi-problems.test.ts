// The OpenAPI document's error side: every problem code the code base answers with is in the problem-type list
// (with the same status), the remap routes declare Idempotency-Key and their 409/422/502/503 answers, shared
// problem responses carry an example per code, and the oauth2 scheme points at the configured Entra tenant.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../shared/openapi/document.js";
import { PROBLEM_TYPES } from "../../shared/openapi/problem-types.js";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Every (code, status) thrown as an AppError (or a subclass's super call) or answered with problem(). */
function thrownCodes(): Array<{ code: string; status: number; file: string }> {
  const found: Array<{ code: string; status: number; file: string }> = [];
  for (const file of [...sources("shared"), ...sources("functions")]) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:new AppError|super)\(\s*(?:[^()]|\([^()]*\))*?,\s*(\d{3}),\s*"([a-z_]+)"/gs)) found.push({ status: Number(m[1]), code: m[2]!, file });
    for (const m of text.matchAll(/problem\(\s*(\d{3}),[^;]*?code: "([a-z_]+)"/gs)) found.push({ status: Number(m[1]), code: m[2]!, file });
  }
  return found;
}

type Doc = { paths: Record<string, Record<string, any>>; components: { responses: Record<string, any>; parameters: Record<string, any>; securitySchemes: Record<string, any> }; info: { description: string } };
const doc = openApiDocument("https://bridge.contoso.com", { authorityHost: "https://login.microsoftonline.us/", tenantId: "11111111-2222-3333-4444-555555555555", audience: "api://bridge-prod" }) as unknown as Doc;

describe("problem types", () => {
  it("lists every code the code base answers with, at its status", () => {
    const thrown = thrownCodes();
    expect(thrown.length).toBeGreaterThan(40);
    for (const { code, status, file } of thrown) expect({ code, file, status: PROBLEM_TYPES[code]?.status }).toEqual({ code, file, status });
  });

  it("are listed in the document's description", () => {
    for (const code of ["remap_rolled_back", "remap_incomplete", "placeholder_busy", "configuration_invalid", "idempotency_key_reused"]) {
      expect(doc.info.description).toMatch(new RegExp(`\\| \`${code}\` \\| ${PROBLEM_TYPES[code]!.status} \\|`));
    }
  });
});

describe("the remap routes' answers", () => {
  const remapUser = doc.paths["/api/users/remap"]!.post;
  const remapBulk = doc.paths["/api/users/remap/bulk"]!.post;

  it("declare the Idempotency-Key header", () => {
    for (const op of [remapUser, remapBulk]) expect(op.parameters).toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
    expect(doc.components.parameters.IdempotencyKey).toMatchObject({ name: "Idempotency-Key", in: "header", schema: { maxLength: 200 } });
  });

  it("a key reused with another body is 422, one still in progress is 409 (as shared/remap/idempotency.ts answers)", () => {
    expect(PROBLEM_TYPES.idempotency_key_reused!.status).toBe(422);
    expect(PROBLEM_TYPES.idempotency_in_progress!.status).toBe(409);
    expect(remapBulk.responses["422"].description).toContain("idempotency_key_reused");
    expect(remapBulk.responses["409"].description).toContain("idempotency_in_progress");
    expect(remapUser.responses["422"].description).toContain("idempotency_key_reused");
  });

  it("502 and 503 are shared problem responses with an example per code", () => {
    for (const op of [remapUser, remapBulk]) {
      expect(op.responses["502"]).toEqual({ $ref: "#/components/responses/RemapFailed" });
      expect(op.responses["503"]).toEqual({ $ref: "#/components/responses/RemapUnavailable" });
    }
    const examples = (name: string) => Object.keys(doc.components.responses[name].content["application/problem+json"].examples);
    expect(examples("RemapFailed")).toEqual(expect.arrayContaining(["remap_rolled_back", "remap_incomplete"]));
    expect(examples("RemapUnavailable")).toEqual(expect.arrayContaining(["placeholder_busy", "configuration_invalid"]));
    expect(doc.components.responses.RemapFailed.content["application/problem+json"].examples.remap_rolled_back.value)
      .toMatchObject({ type: "urn:identity-bridge:problem:remap_rolled_back", status: 502 });
    // Every admin route answers 401/403/503 through the shared responses.
    expect(doc.paths["/api/sync/status"]!.get.responses).toMatchObject({ 401: { $ref: "#/components/responses/Unauthorized" }, 403: { $ref: "#/components/responses/Forbidden" }, 503: { $ref: "#/components/responses/Unavailable" } });
  });
});

describe("sign-in", () => {
  it("is an oauth2 authorization-code flow at the configured authority and tenant, for the API's scope", () => {
    expect(doc.components.securitySchemes.entraOAuth).toMatchObject({
      type: "oauth2",
      flows: { authorizationCode: {
        authorizationUrl: "https://login.microsoftonline.us/11111111-2222-3333-4444-555555555555/oauth2/v2.0/authorize",
        tokenUrl: "https://login.microsoftonline.us/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token",
        scopes: { "api://bridge-prod/.default": expect.any(String) },
      } },
    });
    expect(doc.paths["/api/sync"]!.post.security).toContainEqual({ entraOAuth: ["api://bridge-prod/.default"] });
  });
});
