import { app } from "@azure/functions";
import { json } from "../shared/http/handlers.js";
import { adminRoute, bridge } from "./bridge.js";
import { lookUpUser, syncOneUser } from "../shared/sync/sync-one-user.js";

/** POST /api/users/{objectIdOrUpn}/sync: provision one user now, in every org; returns what changed. */
export const syncUserNow = adminRoute(async (request, _context, principal) => {
  const result = await syncOneUser(request.params.objectIdOrUpn ?? "", bridge().oneUser(`api:${principal.appId}`));
  return json(200, result);
});

/** GET /api/users/{objectIdOrUpn}: the directory user beside each org's records, and what a sync would change. */
export const lookUpUserHandler = adminRoute(async (request, _context, principal) =>
  json(200, await lookUpUser(request.params.objectIdOrUpn ?? "", bridge().oneUser(`api:${principal.appId}`))));

app.http("userSync", { methods: ["POST"], route: "users/{objectIdOrUpn}/sync", authLevel: "anonymous", handler: syncUserNow });
app.http("userLookup", { methods: ["GET"], route: "users/{objectIdOrUpn}", authLevel: "anonymous", handler: lookUpUserHandler });
