import { app } from "@azure/functions";
import { withProblemResponses } from "../shared/http/handlers.js";
import { bridge } from "./bridge.js";

/** GET /api/openapi.json: the OpenAPI 3.1 description of every route (no auth), built once, with an ETag. */
export const openApi = withProblemResponses(async (request) => bridge().openApi.answer(request.headers.get("if-none-match")));

app.http("openApi", { methods: ["GET"], route: "openapi.json", authLevel: "anonymous", handler: openApi });
