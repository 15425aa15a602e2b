// Wrappers the HTTP adapters share: an unknown query parameter is refused, every error becomes problem+json;
// admin routes authenticate first.
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { authenticateAdmin, type AdminAuth, type AdminPrincipal } from "../auth/admin-auth.js";
import { errorResponse } from "./problem.js";
import { refuseUnknownQuery } from "./query.js";

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export function withProblemResponses(handler: Handler): Handler {
  return async (request, context) => {
    try {
      refuseUnknownQuery(request);
      return await handler(request, context);
    } catch (error) {
      return errorResponse(error, context);
    }
  };
}

/** `auth` is read per request (the adapters pass the composition root's, built at first use). */
export function adminRoute(auth: () => AdminAuth, handler: (request: HttpRequest, context: InvocationContext, principal: AdminPrincipal) => Promise<HttpResponseInit>): Handler {
  return withProblemResponses(async (request, context) => handler(request, context, await authenticateAdmin(request, auth())));
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { "cache-control": "no-store", ...headers } };
}
