import { app } from "@azure/functions";
import { accessStatus } from "../shared/access/access-api.js";
import { json } from "../shared/http/handlers.js";
import { adminRoute, bridge } from "./bridge.js";

/** GET /api/access: every org's ACCESS_RULES resolved, or the problem that stops each rule, with its fix. */
export const getAccess = adminRoute(async () => json(200, await accessStatus(bridge().access)));

app.http("access", { methods: ["GET"], route: "access", authLevel: "anonymous", handler: getAccess });
