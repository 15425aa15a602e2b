import { app } from "@azure/functions";
import { adminRoute, json } from "../shared/http/handlers.js";
import { oneUserDependencies } from "../shared/sync/services.js";
import { syncOneUser } from "../shared/sync/sync-one-user.js";

/** POST /api/users/{objectIdOrUpn}/sync: provision one user now, in every org; returns what changed. */
export const syncUserNow = adminRoute(async (request, _context, principal) => {
  const result = await syncOneUser(request.params.objectIdOrUpn ?? "", oneUserDependencies(`api:${principal.appId}`));
  return json(200, result);
});

app.http("userSync", { methods: ["POST"], route: "users/{objectIdOrUpn}/sync", authLevel: "anonymous", handler: syncUserNow });
