// Entra ID (login.microsoftonline.com) error responses: OAuth 2.0 error JSON extended with AADSTS codes,
// trace and correlation ids and a timestamp, in the shape and wording Entra sends them.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./https-service.js";

export interface EntraError {
  status: 400 | 401 | 405;
  error: string;
  code: number;
  /** Text after `AADSTS<code>: `. */
  message: string;
}

/** Entra formats timestamps as `2024-05-01 12:34:56Z`. */
const entraTimestamp = (d: Date) => d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");

export function sendEntraError(req: IncomingMessage, res: ServerResponse, authority: string, e: EntraError): void {
  const traceId = randomUUID();
  const correlationId = headerValue(req, "client-request-id") ?? randomUUID();
  const timestamp = entraTimestamp(new Date());
  const body = {
    error: e.error,
    error_description: `AADSTS${e.code}: ${e.message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [e.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${authority}/error?code=${e.code}`,
  };
  const headers: Record<string, string> = { "cache-control": "no-store, no-cache", pragma: "no-cache", "x-ms-request-id": traceId, "client-request-id": correlationId };
  // RFC 6749 §5.2: invalid_client after Authorization-header auth needs a challenge.
  if (e.status === 401 && req.headers.authorization) headers["www-authenticate"] = 'Basic realm="login.microsoftonline.com"';
  sendJson(res, e.status, body, headers);
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export const entraErrors = {
  tenantNotFound: (tid: string): EntraError => ({
    status: 400, error: "invalid_request", code: 90002,
    message: `Tenant '${tid}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  }),
  postOnly: (): EntraError => ({ status: 405, error: "invalid_request", code: 900561, message: "The endpoint only accepts POST requests. Received a GET request." }),
  missingParameter: (name: string): EntraError => ({
    status: 400, error: "invalid_request", code: 900144, message: `The request body must contain the following parameter: '${name}'.`,
  }),
  unsupportedGrant: (grant: string): EntraError => ({
    status: 400, error: "unsupported_grant_type", code: 70003, message: `The app requested an unsupported grant type '${grant}'.`,
  }),
  appNotFound: (clientId: string, tid: string): EntraError => ({
    status: 400, error: "unauthorized_client", code: 700016,
    message: `Application with identifier '${clientId}' was not found in the directory '${tid}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  }),
  invalidScope: (scope: string): EntraError => ({
    status: 400, error: "invalid_scope", code: 70011, message: `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
  }),
  scopeNotDefault: (scope: string): EntraError => ({
    status: 400, error: "invalid_scope", code: 1002012,
    message: `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  }),
  invalidSecret: (clientId: string): EntraError => ({
    status: 401, error: "invalid_client", code: 7000215,
    message: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  }),
  missingCredential: (): EntraError => ({
    status: 401, error: "invalid_client", code: 7000218, message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  badAssertionType: (): EntraError => ({
    status: 400, error: "invalid_request", code: 50027,
    message: "Client assertion type is invalid. Expected 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
  }),
  unknownCertificate: (thumbprint: string): EntraError => ({
    status: 401, error: "invalid_client", code: 700027,
    message: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}']`,
  }),
  badAssertionSignature: (): EntraError => ({ status: 401, error: "invalid_client", code: 700027, message: "Client assertion failed signature validation." }),
  assertionTime: (): EntraError => ({ status: 401, error: "invalid_client", code: 700024, message: "Client assertion is not within its valid time range." }),
  noFederatedRecord: (iss: string, sub: string, aud: string): EntraError => ({
    status: 401, error: "invalid_client", code: 70021,
    message: `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: '${aud}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
  }),
  noFederatedSubject: (sub: string): EntraError => ({
    status: 401, error: "invalid_client", code: 700213,
    message: `No matching federated identity record found for presented assertion subject '${sub}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
  }),
  assertionClaims: (detail: string): EntraError => ({ status: 401, error: "invalid_client", code: 50027, message: `JWT token is invalid or is malformed. ${detail}` }),
};
