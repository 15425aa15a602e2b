import { app, type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { serveConsole } from "../shared/console/console-site.js";
import { withProblemResponses } from "../shared/http/handlers.js";
import { bridge } from "./bridge.js";

/** GET /api/console/…: the admin console (a single-page app; it signs in with Entra and calls the admin API). */
export const consoleSite = withProblemResponses(async (request: HttpRequest): Promise<HttpResponseInit> => {
  const path = request.params.path ?? "";
  // The app's redirect URI is exactly <PUBLIC_BASE_URL>/api/console/: send /api/console there.
  if (new URL(request.url).pathname.replace(/\/+$/, "") === "/api/console" && !new URL(request.url).pathname.endsWith("/")) {
    return { status: 301, headers: { location: `${bridge().config.publicBaseUrl}/api/console/` } };
  }
  return serveConsole(path, bridge().config);
});

app.http("console", { methods: ["GET"], route: "console/{*path}", authLevel: "anonymous", handler: consoleSite });
