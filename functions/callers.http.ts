import { app } from "@azure/functions";
import { z } from "zod";
import { callerStatuses, provisionCaller } from "../shared/callers/callers.js";
import { json } from "../shared/http/handlers.js";
import { adminRoute, bridge } from "./bridge.js";
import { readJsonBody } from "../shared/http/json-body.js";

const provisionBody = z.object({ dryRun: z.boolean().optional() }).strict();

/** GET /api/callers: each S2S caller's status per org, misconfigurations named with their fix. */
export const listCallers = adminRoute(async () => json(200, { callers: await callerStatuses(bridge().callers) }));

/** POST /api/callers/{id}/provision: create what is missing of the caller's application users and roles. */
export const provisionCallerRoute = adminRoute(async (request, context, principal) => {
  const body = await readJsonBody(request, provisionBody, { allowEmpty: true });
  const result = await provisionCaller(request.params.id ?? "", { dryRun: body.dryRun ?? false, by: principal.appId }, bridge().callers);
  if (result.changed) context.log(`caller-provisioned ${JSON.stringify({ caller: result.caller, by: principal.appId, actions: result.actions })}`);
  return json(200, result);
});

app.http("callers", { methods: ["GET"], route: "callers", authLevel: "anonymous", handler: listCallers });
app.http("callerProvision", { methods: ["POST"], route: "callers/{id}/provision", authLevel: "anonymous", handler: provisionCallerRoute });
