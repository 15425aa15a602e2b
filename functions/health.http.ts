import { app, type HttpResponseInit } from "@azure/functions";
import { withProblemResponses } from "../shared/http/handlers.js";
import { BRIDGE_VERSION } from "../shared/version.js";

/** GET /api/health: liveness only; says nothing about configuration. */
export const health = withProblemResponses(async (): Promise<HttpResponseInit> =>
  ({ status: 200, jsonBody: { status: "ok", version: BRIDGE_VERSION }, headers: { "cache-control": "no-store" } }));

app.http("health", { methods: ["GET"], route: "health", authLevel: "anonymous", handler: health });
