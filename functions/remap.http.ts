// POST /api/users/remap, POST /api/users/remap/bulk, GET /api/users/remap/bulk/{jobId}.
import { app, type HttpRequest, type InvocationContext } from "@azure/functions";
import type { AdminPrincipal } from "../shared/auth/admin-auth.js";
import { json } from "../shared/http/handlers.js";
import { adminRoute, bridge } from "./bridge.js";
import { readJsonBody } from "../shared/http/json-body.js";
import { bulkBody, bulkStatus, remapBody, remapBulk, remapOne, type ApiAnswer, type ApiCall } from "../shared/remap/remap-api.js";

function call(request: HttpRequest, context: InvocationContext, principal: AdminPrincipal): ApiCall {
  return {
    principal,
    idempotencyKey: request.headers.get("idempotency-key") ?? undefined,
    statusUrl: (jobId) => bridge().link(`/api/users/remap/bulk/${encodeURIComponent(jobId)}`),
    log: (line) => context.warn(line),
  };
}

const answer = (a: ApiAnswer) => json(a.status, a.body, a.headers);

export const remapUserHandler = adminRoute(async (request, context, principal) =>
  answer(await remapOne(await readJsonBody(request, remapBody), call(request, context, principal), bridge().remapApi)));

export const remapBulkHandler = adminRoute(async (request, context, principal) =>
  answer(await remapBulk(await readJsonBody(request, bulkBody), call(request, context, principal), bridge().remapApi)));

export const remapBulkStatusHandler = adminRoute(async (request, context, principal) =>
  answer(await bulkStatus(request.params.jobId ?? "", call(request, context, principal), bridge().remapApi)));

app.http("remapUser", { methods: ["POST"], route: "users/remap", authLevel: "anonymous", handler: remapUserHandler });
app.http("remapBulk", { methods: ["POST"], route: "users/remap/bulk", authLevel: "anonymous", handler: remapBulkHandler });
app.http("remapBulkStatus", { methods: ["GET"], route: "users/remap/bulk/{jobId}", authLevel: "anonymous", handler: remapBulkStatusHandler });
