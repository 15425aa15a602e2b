// Admin endpoints: a valid Entra bearer token for API_AUDIENCE carrying ADMIN_ROLE.
import type { HttpRequest } from "@azure/functions";
import { AppError } from "../errors/app-error.js";
import { EntraTokenValidator, TokenValidationError, type EntraClaims } from "./entra-token.js";

export interface AdminPrincipal {
  /** The caller application (`azp`/`appid`). */
  appId: string;
  /** The caller's object id (`oid`). */
  objectId: string;
  claims: EntraClaims;
}

export function bearerToken(request: HttpRequest): string | undefined {
  const header = request.headers.get("authorization");
  const match = header ? /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** What admin authentication needs: the API_AUDIENCE validator and ADMIN_ROLE. */
export interface AdminAuth {
  validator: Pick<EntraTokenValidator, "validate">;
  adminRole: string;
}

export async function authenticateAdmin(request: HttpRequest, { validator, adminRole: role }: AdminAuth): Promise<AdminPrincipal> {
  const token = bearerToken(request);
  if (!token) throw new AppError("This endpoint needs an Entra access token: Authorization: Bearer <token>.", 401, "missing_token");
  let claims: EntraClaims;
  try {
    claims = await validator.validate(token);
  } catch (error) {
    if (error instanceof TokenValidationError) {
      if (error.reason === "metadata_unavailable") throw new AppError("The tenant's signing keys cannot be read right now.", 503, "metadata_unavailable", { cause: error });
      throw new AppError(`The bearer token was refused: ${error.message}.`, 401, "invalid_token", { cause: error });
    }
    throw error;
  }
  if (!Array.isArray(claims.roles) || !claims.roles.includes(role)) {
    throw new AppError(`The caller lacks the "${role}" app role.`, 403, "missing_role");
  }
  return { appId: EntraTokenValidator.callerAppId(claims) ?? "unknown", objectId: claims.oid ?? "unknown", claims };
}
