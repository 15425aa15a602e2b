// The on-premises flavour of the Dataverse emulator: Dynamics 365 (CE) 9.x on-premises / IFD behind AD FS
// (federation-adfs-telemetry.md §3). Differences from online, and only those:
// - Web API at /api/data/v9.0 and /api/data/v9.1 (no 9.2);
// - bearer tokens come from AD FS (iss = its access_token_issuer, aud = the org URL, appid = the AD FS client);
// - `domainname` is `NETBIOS\sAMAccountName` of an Active Directory account (here: a directory user synced from
//   AD), and the platform fills `activedirectoryguid` (read-only) with that account's objectGUID;
// - as online, a name whose AD account some record already holds (the record itself included) is refused:
//   that is why a changed sAMAccountName goes through a temporary account.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createLocalJWKSet, jwtVerify, type JWTPayload } from "jose";
import type { AdfsServer } from "../adfs.js";
import { adObjectGuid, netBiosName, type DirectoryUser } from "../directory.js";
import type { Handler } from "../https-service.js";
import type { Tenant } from "../tenant.js";
import type { AuthOutcome, OrgAuthenticator } from "./auth.js";
import { DataverseError, fromSpec } from "./errors.js";
import { createDataverseHandler } from "./handler.js";
import type { DataverseOrg } from "./org.js";
import type { Changes } from "./payload.js";

const ON_PREMISES_API = /^\/api\/data\/v9\.[01]\//;

export interface OnPremisesSettings {
  adfs: AdfsServer;
  /** AD DNS domain → NetBIOS name (default: the DNS name's first label, upper-cased). */
  netbiosDomains?: Record<string, string>;
}

/** Turns `org` into an on-premises org: Web API 9.1 in its URLs and the AD account rule for domainname. */
export function makeOnPremises(org: DataverseOrg, settings: OnPremisesSettings): void {
  org.apiVersion = "9.1";
  const netbios = (dns: string) => settings.netbiosDomains?.[dns.toLowerCase()] ?? netBiosName(dns);
  org.domainNameRule = (next: Changes) => {
    const name = String(next.domainname);
    const account = findAdAccount(org, name, netbios);
    if (!account) {
      throw new DataverseError(400, org.directoryNotFoundError.code, `The user name ${name} was not found in Active Directory.`);
    }
    const guid = adObjectGuid(account)!;
    for (const rec of org.users.values()) if (rec.activedirectoryguid === guid) throw fromSpec(org.duplicateDomainError);
    next.activedirectoryguid = guid;
    return account;
  };
}

/** The active AD account `DOMAIN\sam` names (directory users synced from AD, with a GUID anchor). */
function findAdAccount(org: DataverseOrg, name: string, netbios: (dns: string) => string): DirectoryUser | undefined {
  const m = /^([^\\]+)\\([^\\]+)$/.exec(name);
  if (!m) return undefined;
  const [domain, sam] = [m[1]!.toLowerCase(), m[2]!.toLowerCase()];
  for (const user of org.tenant.directory.users.values()) {
    if (user.state !== "active" || user.onPremisesSyncEnabled !== true || !adObjectGuid(user)) continue;
    if (user.onPremisesSamAccountName?.toLowerCase() !== sam || !user.onPremisesDomainName) continue;
    if (netbios(user.onPremisesDomainName).toLowerCase() === domain) return user;
  }
  return undefined;
}

/** AD FS access tokens for the org URL; the caller is the application user of the token's `appid`. */
export class AdfsAuthenticator implements OrgAuthenticator {
  constructor(private readonly adfs: AdfsServer, private readonly org: DataverseOrg) {}

  challenge(): string {
    return `Bearer authorization_uri=${this.adfs.url}/adfs/oauth2/authorize, resource_id=${this.org.url}/`;
  }

  async authenticate(authorization: string | undefined): Promise<AuthOutcome> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!m) return { ok: false, status: 401, reason: "missing bearer token" };
    let claims: JWTPayload;
    try {
      const keys = createLocalJWKSet({ keys: this.adfs.signingKeys.map((k) => k.publicJwk) });
      const base = this.org.url.replace(/\/$/, "");
      ({ payload: claims } = await jwtVerify(m[1]!, keys, { audience: [base, `${base}/`], issuer: this.adfs.accessTokenIssuer, requiredClaims: ["exp", "appid"] }));
    } catch (err) {
      return { ok: false, status: 401, reason: (err as Error).message };
    }
    const user = this.org.findByApplicationId(String(claims.appid));
    if (!user) return { ok: false, status: 403, error: new DataverseError(403, "0x80072560", "The user is not a member of the organization.") };
    if (user.isdisabled) return { ok: false, status: 403, error: new DataverseError(403, "0x80040225", `The user with SystemUserId=${user.systemuserid} is disabled.`) };
    return { ok: true, user, claims };
  }
}

/** The HTTP front of an on-premises org: the online handler behind a 9.0/9.1 gate, with AD FS authentication. */
export function createOnPremisesDataverseHandler(tenant: Tenant, org: DataverseOrg, adfs: AdfsServer): Handler {
  const inner = createDataverseHandler(tenant, org, { authenticator: new AdfsAuthenticator(adfs, org) });
  return async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path.startsWith("/api/data/") && !ON_PREMISES_API.test(path)) {
      const text = JSON.stringify(new DataverseError(404, "0x80060888", `Resource not found for the segment '${path.split("/")[3] ?? ""}'.`).body);
      res.writeHead(404, { "content-type": "application/json; odata.metadata=minimal", "OData-Version": "4.0", "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    await inner(req, res, body);
  };
}
