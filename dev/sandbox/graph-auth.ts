// Bearer-token check for the Graph emulator: a token signed by the tenant's keys, issued by the tenant,
// for the Graph audience (the emulator's base URL, or Graph's public URL / app id), unexpired.
import type { IncomingMessage } from "node:http";
import { createLocalJWKSet, jwtVerify, type JWTPayload } from "jose";
import { GraphHttpError } from "./graph-odata.js";
import type { Tenant } from "./tenant.js";

const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

export interface GraphCaller {
  appId: string;
  objectId: string;
  claims: JWTPayload;
}

const WWW_AUTHENTICATE = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`;

function unauthorized(message: string): GraphHttpError {
  return new GraphHttpError(401, "InvalidAuthenticationToken", message, { "www-authenticate": WWW_AUTHENTICATE });
}

export async function authenticate(req: IncomingMessage, tenant: Tenant, baseUrl: string): Promise<GraphCaller> {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthorized("Access token is empty.");
  const audiences = [baseUrl, `${baseUrl}/`, "https://graph.microsoft.com", "https://graph.microsoft.com/", GRAPH_APP_ID];
  let claims: JWTPayload;
  try {
    const jwks = createLocalJWKSet({ keys: tenant.signingKeys.map((k) => k.publicJwk) });
    ({ payload: claims } = await jwtVerify(match[1]!, jwks, { audience: audiences, issuer: [tenant.issuer, `https://sts.windows.net/${tenant.tenantId}/`], algorithms: ["RS256"] }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_JWT_EXPIRED") throw unauthorized("Lifetime validation failed, the token is expired.");
    if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && (err as { claim?: string }).claim === "aud") throw unauthorized("Invalid audience.");
    if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && (err as { claim?: string }).claim === "iss") throw unauthorized("Invalid issuer.");
    throw unauthorized("Access token validation failure.");
  }
  if (claims.tid !== tenant.tenantId) throw unauthorized("Access token validation failure. Invalid tenant.");
  return { appId: String(claims.appid ?? claims.azp ?? ""), objectId: String(claims.oid ?? ""), claims };
}
