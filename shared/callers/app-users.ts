// Application users and their security roles in one org (Web API; federation-adfs-telemetry.md §2), read and
// written AS THE BRIDGE (its own application user manages systemusers). Every literal goes through odata.ts.
import type { GetToken } from "../dataverse/http.js";
import type { OrgThrottle } from "../dataverse/limiter.js";
import { DataverseHttp, type HttpResponse } from "../dataverse/http.js";
import { guidLiteral, isGuid, queryString, stringLiteral } from "../dataverse/odata.js";

export interface AppUser {
  systemuserid: string;
  isdisabled: boolean;
  businessunitid: string;
}

export interface Role {
  roleid: string;
  name: string;
}

/** What caller status and provisioning need from an org. */
export interface AppUserPort {
  readonly orgUrl: string;
  findAppUser(appId: string, signal?: AbortSignal): Promise<AppUser | null>;
  rolesOf(systemuserid: string, signal?: AbortSignal): Promise<Role[]>;
  findRole(name: string, businessunitid: string, signal?: AbortSignal): Promise<Role | null>;
  rootBusinessUnit(signal?: AbortSignal): Promise<string>;
  createAppUser(appId: string, businessunitid: string, signal?: AbortSignal): Promise<string>;
  assignRole(systemuserid: string, roleid: string, signal?: AbortSignal): Promise<void>;
}

const ENTITY_ID_RE = /\(([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\)\s*$/i;
const values = (res: HttpResponse) => {
  const body = res.json<{ value?: unknown }>();
  return Array.isArray(body.value) ? body.value as Array<Record<string, unknown>> : [];
};

export class DataverseAppUsers implements AppUserPort {
  readonly orgUrl: string;
  private readonly http: DataverseHttp;

  /** `http`: a client, or the bridge's token and the org's throttle to build one with. */
  constructor(orgUrl: string, http: DataverseHttp | { getToken: GetToken; throttle: OrgThrottle }) {
    this.http = http instanceof DataverseHttp ? http : new DataverseHttp({ orgUrl, ...http, retry: { maxAttempts: 3 } });
    this.orgUrl = this.http.orgUrl;
  }

  async findAppUser(appId: string, signal?: AbortSignal): Promise<AppUser | null> {
    const url = `systemusers${queryString({ $select: "systemuserid,isdisabled,_businessunitid_value", $filter: `applicationid eq ${guidLiteral(appId)}` })}`;
    const row = values(await this.http.send({ kind: "lookup", method: "GET", url, signal }))[0];
    if (!row || typeof row.systemuserid !== "string") return null;
    return { systemuserid: row.systemuserid, isdisabled: row.isdisabled === true, businessunitid: String(row._businessunitid_value ?? "") };
  }

  async rolesOf(systemuserid: string, signal?: AbortSignal): Promise<Role[]> {
    const url = `systemusers(${guidLiteral(systemuserid)})/systemuserroles_association${queryString({ $select: "roleid,name" })}`;
    return values(await this.http.send({ kind: "lookup", method: "GET", url, signal }))
      .filter((r) => typeof r.roleid === "string" && typeof r.name === "string")
      .map((r) => ({ roleid: r.roleid as string, name: r.name as string }));
  }

  async findRole(name: string, businessunitid: string, signal?: AbortSignal): Promise<Role | null> {
    const filter = `name eq ${stringLiteral(name)} and _businessunitid_value eq ${guidLiteral(businessunitid)}`;
    const url = `roles${queryString({ $select: "roleid,name", $filter: filter })}`;
    const row = values(await this.http.send({ kind: "lookup", method: "GET", url, signal }))[0];
    return row && typeof row.roleid === "string" ? { roleid: row.roleid, name: String(row.name ?? name) } : null;
  }

  async rootBusinessUnit(signal?: AbortSignal): Promise<string> {
    const url = `businessunits${queryString({ $filter: "_parentbusinessunitid_value eq null", $select: "businessunitid" })}`;
    const id = values(await this.http.send({ kind: "lookup", method: "GET", url, signal }))[0]?.businessunitid;
    if (typeof id !== "string" || !isGuid(id)) throw new Error(`${this.orgUrl} has no root business unit`);
    return id;
  }

  /** An application user for the app, in the root business unit; returns its systemuserid. */
  async createAppUser(appId: string, businessunitid: string, signal?: AbortSignal): Promise<string> {
    const res = await this.http.send({
      kind: "create", method: "POST", url: "systemusers", signal,
      body: { applicationid: guidLiteral(appId), "businessunitid@odata.bind": `/businessunits(${guidLiteral(businessunitid)})` },
    });
    const id = ENTITY_ID_RE.exec(res.headers["odata-entityid"] ?? "")?.[1];
    if (!id) throw new Error(`${this.orgUrl} created the application user but did not say its id`);
    return id.toLowerCase();
  }

  async assignRole(systemuserid: string, roleid: string, signal?: AbortSignal): Promise<void> {
    await this.http.send({
      kind: "associate", method: "POST", url: `systemusers(${guidLiteral(systemuserid)})/systemuserroles_association/$ref`, signal,
      body: { "@odata.id": `${this.http.apiBase}roles(${guidLiteral(roleid)})` },
    });
  }
}
