import { app, type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { authorizationServerMetadata, METADATA_ROUTE } from "../shared/tokens/metadata.js";

/** GET /api/.well-known/oauth-authorization-server: RFC 8414 metadata of the token endpoint. */
export async function tokenMetadata(request: HttpRequest): Promise<HttpResponseInit> {
  // The same origin the token endpoint accepts in client assertions (one place to switch to PUBLIC_BASE_URL).
  const origin = new URL(request.url).origin;
  return { status: 200, jsonBody: authorizationServerMetadata(origin), headers: { "cache-control": "public, max-age=3600", "content-type": "application/json" } };
}

app.http("tokenMetadata", { methods: ["GET"], route: METADATA_ROUTE, authLevel: "anonymous", handler: tokenMetadata });
