// Bearer-token check as Dataverse does it: a token from the org's tenant for the org URL, whose app has an
// application user in the org (or whose user has a systemuser). Keys come from the tenant's published
// signing keys; the key set is rebuilt whenever they change (rotation).
import { createLocalJWKSet, jwtVerify, type JWTPayload } from "jose";
import type { SigningKey, Tenant } from "../tenant.js";
import { DataverseError } from "./errors.js";
import type { DataverseOrg } from "./org.js";
import type { SystemUserRecord } from "./schema.js";

export type AuthOutcome =
  | { ok: true; user: SystemUserRecord; claims: JWTPayload }
  | { ok: false; status: 401; reason: string }
  | { ok: false; status: 403; error: DataverseError };

/** What the HTTP front needs of an org's token check (Entra online, AD FS on-premises). */
export interface OrgAuthenticator {
  challenge(): string;
  authenticate(authorization: string | undefined): Promise<AuthOutcome>;
}

export class Authenticator implements OrgAuthenticator {
  private kids = "";
  /** Verified tokens (the benchmark sends the same token thousands of times); cleared on key change. */
  private readonly verified = new Map<string, JWTPayload>();
  private jwks: ReturnType<typeof createLocalJWKSet> | null = null;

  constructor(private readonly tenant: Tenant, private readonly org: DataverseOrg) {}

  /** `WWW-Authenticate` of a 401, values unquoted (reference §9). */
  challenge(): string {
    return `Bearer authorization_uri=${this.tenant.authorityUrl}/${this.tenant.tenantId}/oauth2/authorize, resource_id=${this.org.url}/`;
  }

  async authenticate(authorization: string | undefined): Promise<AuthOutcome> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!m) return { ok: false, status: 401, reason: "missing bearer token" };
    const jwks = this.keySet();
    let claims = this.verified.get(m[1]!);
    if (claims && (claims.exp ?? 0) <= Date.now() / 1000) {
      this.verified.delete(m[1]!);
      claims = undefined;
    }
    if (!claims) {
      try {
        const base = this.org.url.replace(/\/$/, "");
        ({ payload: claims } = await jwtVerify(m[1]!, jwks, { audience: [base, `${base}/`], requiredClaims: ["exp", "tid"] }));
      } catch (err) {
        return { ok: false, status: 401, reason: (err as Error).message };
      }
      if (this.verified.size >= 256) this.verified.clear();
      this.verified.set(m[1]!, claims);
    }
    const tid = this.tenant.tenantId;
    if (claims.tid !== tid) return { ok: false, status: 401, reason: "wrong tenant" };
    if (claims.iss !== this.tenant.issuer && claims.iss !== `https://sts.windows.net/${tid}/`) return { ok: false, status: 401, reason: "wrong issuer" };

    const appId = (claims.appid ?? claims.azp) as string | undefined;
    const isUserToken = typeof claims.scp === "string" && claims.idtyp !== "app";
    const user = isUserToken
      ? (typeof claims.oid === "string" ? this.org.findByObjectId(claims.oid) : undefined)
      : (appId ? this.org.findByApplicationId(appId) : undefined);
    if (!user) return { ok: false, status: 403, error: new DataverseError(403, "0x80072560", "The user is not a member of the organization.") };
    if (user.isdisabled) {
      // Code unverified; the message follows the one Dataverse shows for disabled users.
      return { ok: false, status: 403, error: new DataverseError(403, "0x80040225",
        `The user with SystemUserId=${user.systemuserid} in OrganizationContext=${this.org.organizationId} is disabled. Disabled users cannot access the system. Consider enabling this user.`) };
    }
    return { ok: true, user, claims };
  }

  private keySet(): ReturnType<typeof createLocalJWKSet> {
    const keys: SigningKey[] = this.tenant.signingKeys;
    const kids = keys.map((k) => k.kid).join(",");
    if (kids !== this.kids || !this.jwks) {
      this.kids = kids;
      this.verified.clear();
      this.jwks = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
    }
    return this.jwks;
  }
}
