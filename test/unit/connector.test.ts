// The Power Platform custom connector is generated from the OpenAPI document: it validates as Swagger 2.0 (with
// @apidevtools/swagger-parser), holds the admin operations a flow needs, signs in with Entra at the configured
// tenant, and the copy in connector/ is what `npm run connector` writes.
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import { connectorDefinition, connectorProperties, toSwaggerSchema } from "../../shared/openapi/connector.js";

const signIn = { authorityHost: "https://login.microsoftonline.com", tenantId: "11111111-2222-3333-4444-555555555555", audience: "api://bridge-prod" };
const definition = connectorDefinition("https://bridge.contoso.com", signIn) as any;

describe("the custom connector", () => {
  it("is valid Swagger 2.0", async () => {
    await expect(SwaggerParser.validate(structuredClone(definition))).resolves.toMatchObject({ swagger: "2.0", host: "bridge.contoso.com" });
  });

  it("a validator that would catch a bad definition (the test can fail)", async () => {
    const broken = structuredClone(definition);
    broken.definitions.RunReport.properties.runId = { anyOf: [{ type: "string" }, { type: "null" }] }; // JSON Schema 2020-12, not Swagger 2.0
    await expect(SwaggerParser.validate(broken)).rejects.toThrow();
  });

  it("holds the admin operations a flow needs, and none of the others", () => {
    const ops = Object.values(definition.paths as Record<string, Record<string, { operationId: string }>>).flatMap((item) => Object.values(item).map((o) => o.operationId));
    expect(ops).toEqual(expect.arrayContaining(["startSync", "getSyncRun", "getSyncStatus", "approveSyncRun", "lookUpUser", "remapUser", "remapBulk", "getBulkRemap"]));
    expect(ops).not.toContain("issueToken");
    expect(ops).not.toContain("receiveNotifications");
    const getRun = definition.paths["/api/sync/runs/{runId}"].get;
    expect(getRun.parameters).toContainEqual(expect.objectContaining({ name: "runId", in: "path", required: true, type: "string" }));
    expect(getRun.responses["200"].schema).toEqual({ $ref: "#/definitions/RunReport" });
    const start = definition.paths["/api/sync"].post;
    expect(start.parameters).toContainEqual(expect.objectContaining({ in: "body", schema: { $ref: "#/definitions/StartSyncRequest" } }));
    expect(definition.paths["/api/users/remap/bulk"].post.parameters).toContainEqual(expect.objectContaining({ name: "Idempotency-Key", in: "header", type: "string" }));
  });

  it("signs in with Entra at the tenant, for the API's scope", () => {
    expect(definition.securityDefinitions.oauth2_auth).toMatchObject({
      type: "oauth2", flow: "accessCode",
      authorizationUrl: "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/authorize",
      tokenUrl: "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token",
    });
    const oauth = (connectorProperties(signIn, "c1") as any).properties.connectionParameters.token.oAuthSettings;
    expect(oauth).toMatchObject({ identityProvider: "aad", clientId: "c1", scopes: ["api://bridge-prod/.default"], customParameters: { tenantId: { value: signIn.tenantId }, resourceUri: { value: "api://bridge-prod" } } });
  });

  it("reduces JSON Schema to what Swagger 2.0 says: nullable, const, unions", () => {
    expect(toSwaggerSchema({ type: ["string", "null"], maxLength: 5 })).toEqual({ type: "string", maxLength: 5, "x-nullable": true });
    expect(toSwaggerSchema({ anyOf: [{ $ref: "#/components/schemas/X" }, { type: "null" }] })).toEqual({ $ref: "#/definitions/X", "x-nullable": true });
    expect(toSwaggerSchema({ const: "ok" })).toEqual({ type: "string", enum: ["ok"] });
    expect(toSwaggerSchema({ type: "object", required: [], propertyNames: { type: "string" } })).toEqual({ type: "object" });
  });

  it("connector/ holds what npm run connector writes", () => {
    const committed = JSON.parse(readFileSync("connector/apiDefinition.swagger.json", "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(connectorDefinition("https://bridge.contoso.com"))));
    expect(JSON.parse(readFileSync("connector/apiProperties.json", "utf8"))).toEqual(connectorProperties());
  });
});
