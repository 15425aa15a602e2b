import { app, type HttpResponseInit } from "@azure/functions";
import { withProblemResponses } from "../shared/http/handlers.js";
import { authorizationServerMetadata, METADATA_ROUTE } from "../shared/tokens/metadata.js";
import { bridge } from "./bridge.js";

/** GET /api/.well-known/oauth-authorization-server: RFC 8414 metadata of the token endpoint. */
export const tokenMetadata = withProblemResponses(async (): Promise<HttpResponseInit> => {
  // The configured public origin, as the token endpoint uses for client assertions; never the Host header.
  const origin = bridge().config.publicBaseUrl;
  return { status: 200, jsonBody: authorizationServerMetadata(origin), headers: { "cache-control": "public, max-age=3600", "content-type": "application/json" } };
});

app.http("tokenMetadata", { methods: ["GET"], route: METADATA_ROUTE, authLevel: "anonymous", handler: tokenMetadata });
