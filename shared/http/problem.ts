// RFC 9457 problem details for every error the HTTP API answers (except /api/token: OAuth errors).
import type { HttpResponseInit, InvocationContext } from "@azure/functions";
import { errorName, isAnswerable } from "../errors/app-error.js";
import type { ProblemCode } from "../errors/codes.js";

const TITLES: Record<number, string> = {
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
  429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
};

export function problem(
  status: number,
  detail: string,
  options: { code?: ProblemCode; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
): HttpResponseInit {
  return {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store", ...options.headers },
    body: JSON.stringify({
      type: options.code ? `urn:identity-bridge:problem:${options.code}` : "about:blank",
      title: TITLES[status] ?? "Error",
      status,
      detail,
      ...options.extra,
    }),
  };
}

/** Maps any thrown error to a problem response; unexpected errors are logged and answered without details. */
export function errorResponse(error: unknown, context: InvocationContext): HttpResponseInit {
  if (isAnswerable(error)) {
    if (error.status >= 500) context.error(error.publicMessage === undefined ? `${error.code}: ${error.message}` : error.message);
    const headers = error.status === 401 ? { "www-authenticate": wwwAuthenticate(error.code) } : undefined;
    return problem(error.status, error.publicMessage ?? error.message, { code: error.code, headers, extra: error.detail });
  }
  context.error(`unexpected error: ${errorName(error)}: ${error instanceof Error ? error.message : String(error)}`);
  return problem(500, "The bridge hit an unexpected error; the log has the details.", { code: "internal" });
}

function wwwAuthenticate(code: string): string {
  return code === "missing_token" ? "Bearer" : `Bearer error="invalid_token"`;
}
