import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import type { Bridge } from "../shared/bridge.js";
import { BodyTooLargeError, readBodyBytes } from "../shared/http/json-body.js";
import { unknownQueryParameters, unknownQueryText } from "../shared/http/query.js";
import { parseForm } from "../shared/tokens/form.js";
import { requestSource } from "../shared/http/auth-failures.js";
import { issueToken, refuseUnparsed } from "../shared/tokens/issue-token.js";
import { isOAuthError, NO_STORE_HEADERS, OAuthError, oauthErrorResponse } from "../shared/tokens/oauth-errors.js";
import { bridge } from "./bridge.js";
import { errorMessage } from "../shared/errors/app-error.js";

const MAX_BODY_BYTES = 64 * 1024;
const JSON_UTF8 = "application/json;charset=UTF-8";

/** POST /api/token: OAuth 2.0 token endpoint for S2S callers, over `source`'s token service. */
export function tokenHandler(source: () => Bridge) {
  return (request: HttpRequest, context: InvocationContext) => issue(source(), request, context);
}

export const token = tokenHandler(bridge);

/** The answer's headers, the same object for every issuance (the host only reads them). */
const ISSUED_HEADERS: Readonly<Record<string, string>> = Object.freeze({ ...NO_STORE_HEADERS, "content-type": JSON_UTF8 });

async function issue(root: Bridge, request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const log: (line: string) => void = context.log.bind(context);
  try {
    const deps = root.tokens.service;
    const source = requestSource(request.headers.get("x-forwarded-for"), root.config.trustedProxyHops);
    const body = await readForm(request);
    if (isOAuthError(body)) return errorResponse(await refuseUnparsed(body, deps, source, log));
    const origin = root.config.publicBaseUrl; // never the Host header
    const result = await issueToken({
      form: parseForm(body),
      authorization: request.headers.get("authorization") ?? undefined,
      source,
      // RFC 7523: the token endpoint URL; RFC 7523bis and openid-client: the issuer identifier (our origin).
      assertionAudiences: [`${origin}/api/token`, origin, `${origin}/`],
      log,
    }, deps);
    return { status: 200, jsonBody: result, headers: ISSUED_HEADERS };
  } catch (error) {
    if (isOAuthError(error)) return errorResponse(error);
    context.error(`token endpoint failure: ${errorMessage(error)}`);
    return errorResponse(new OAuthError("server_error", "the token service failed"));
  }
}

async function readForm(request: HttpRequest): Promise<string | OAuthError> {
  const unknown = unknownQueryParameters(request);
  if (unknown.length > 0) {
    return new OAuthError("invalid_request", `${unknownQueryText(unknown)}: the request's parameters go in the form body`, { reason: "unknown_query_parameter" });
  }
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    return new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded", { reason: "bad_content_type" });
  }
  try {
    return (await readBodyBytes(request, MAX_BODY_BYTES)).toString("utf8");
  } catch (error) {
    if (error instanceof BodyTooLargeError) return new OAuthError("invalid_request", `the body is larger than ${MAX_BODY_BYTES} bytes`, { status: 413, reason: "body_too_large" });
    throw error;
  }
}

function errorResponse(error: OAuthError): HttpResponseInit {
  const response = oauthErrorResponse(error);
  return { status: response.status, jsonBody: response.body, headers: response.headers };
}

app.http("token", { methods: ["POST"], route: "token", authLevel: "anonymous", handler: token });
