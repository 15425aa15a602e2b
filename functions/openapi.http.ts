import { app } from "@azure/functions";
import { json, withProblemResponses } from "../shared/http/handlers.js";
import { openApiDocument } from "../shared/openapi/document.js";
import { bridge } from "./bridge.js";

/** GET /api/openapi.json: the OpenAPI 3.1 description of every route (no auth). */
export const openApi = withProblemResponses(async () => {
  const { config } = bridge();
  const signIn = { authorityHost: config.authorityHost, tenantId: config.tenantId, audience: config.api.audience };
  return json(200, openApiDocument(config.publicBaseUrl, signIn), { "cache-control": "public, max-age=300" });
});

app.http("openApi", { methods: ["GET"], route: "openapi.json", authLevel: "anonymous", handler: openApi });
