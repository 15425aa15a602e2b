// The org side of access (Web API): business units, roles and teams by name, each user's unit, roles and team
// memberships read in pages ($expand on systemusers), and the writes — the unit bind, then `$ref` associations of
// roles, then of teams — one change set per user (in order, all or nothing) in `$batch` requests.
import { decodeBatchResponse, encodeChangeSets, BatchFormatError, type BatchPartResponse, type BatchRequest } from "../dataverse/batch-codec.js";
import { errorBodyParts, isDataverseError } from "../dataverse/errors.js";
import { DataverseHttp, type GetToken, type HttpResponse } from "../dataverse/http.js";
import type { OrgThrottle } from "../dataverse/limiter.js";
import { guidLiteral, inValues, isGuid, queryString, stringLiteral } from "../dataverse/odata.js";
import { isProtectedRow } from "../sync/user-index.js";
import type { SystemUser } from "../dataverse/types.js";
import type { AccessPlan, UserAccess } from "./plan.js";

export interface BusinessUnit { id: string; name: string; parentId: string | null }
export interface RoleCopy { id: string; name: string; businessUnitId: string }
export interface Team { id: string; name: string; teamType: number; isDefault: boolean }

/** A user's access with what decides whether the bridge may touch it. */
export interface CurrentAccess extends UserAccess {
  systemUserId: string;
  disabled: boolean;
  /** Application user or accessmode 3/4/5: never touched. */
  protected: boolean;
}

export interface AccessWrite {
  systemUserId: string;
  plan: Pick<AccessPlan, "moveTo" | "addRoles" | "removeRoles" | "addTeams" | "removeTeams">;
}

export interface AccessWriteResult {
  ok: boolean;
  code?: string;
  message?: string;
}

export interface AccessOrgPort {
  readonly orgUrl: string;
  listBusinessUnits(signal?: AbortSignal): Promise<BusinessUnit[]>;
  /** Every unit's copy of each role named (names compare case-insensitively), in a few reads whatever their number. */
  findRoles(names: readonly string[], signal?: AbortSignal): Promise<RoleCopy[]>;
  /** The teams with one of these names (case-insensitively), in a few reads whatever their number. */
  findTeams(names: readonly string[], signal?: AbortSignal): Promise<Team[]>;
  /** The users' current access, by systemuserid (lower-cased); users not found are absent. */
  readAccess(systemUserIds: readonly string[], signal?: AbortSignal): Promise<Map<string, CurrentAccess>>;
  /**
   * The current access of the records anchored to these directory objects (`anchor`: azureactivedirectoryobjectid
   * online, activedirectoryguid on-premises), each with its anchor: finding a record and reading its access in one.
   */
  readAccessByAnchor(anchors: readonly string[], anchor: string, signal?: AbortSignal): Promise<Array<CurrentAccess & { anchor: string }>>;
  /** One result per write, in order; `background`: the requests wait behind the org's others for a slot. */
  applyAccess(writes: readonly AccessWrite[], signal?: AbortSignal, background?: boolean): Promise<AccessWriteResult[]>;
}

/** Ids per `In` read (GUIDs cost ~45 URL characters each: well within the URL budget). */
const READ_CHUNK = 150;
/** Names per role or team read: 20 team names of 160 characters stay near 10,000 URL characters even percent-encoded. */
const NAMES_PER_READ = 20;
/** Requests per `$batch` (Dataverse allows 1,000). */
const BATCH_OPERATIONS = 500;

type Row = Record<string, unknown>;
const rows = (res: HttpResponse): Row[] => {
  const body = res.json<{ value?: unknown }>();
  return Array.isArray(body?.value) ? (body.value as Row[]) : [];
};
const text = (v: unknown) => (typeof v === "string" ? v : "");
const lower = (v: unknown) => text(v).toLowerCase();

export class DataverseAccess implements AccessOrgPort {
  readonly orgUrl: string;
  private readonly http: DataverseHttp;

  constructor(orgUrl: string, options: { getToken: GetToken; throttle: OrgThrottle; apiVersion?: string }) {
    this.http = new DataverseHttp({ orgUrl, getToken: options.getToken, throttle: options.throttle, apiVersion: options.apiVersion });
    this.orgUrl = this.http.orgUrl;
  }

  async listBusinessUnits(signal?: AbortSignal): Promise<BusinessUnit[]> {
    const url = `businessunits${queryString({ $select: "businessunitid,name,_parentbusinessunitid_value" })}`;
    return (await this.readAll("lookup", url, signal)).map((r) => ({ id: lower(r.businessunitid), name: text(r.name), parentId: lower(r._parentbusinessunitid_value) || null }));
  }

  async findRoles(names: readonly string[], signal?: AbortSignal): Promise<RoleCopy[]> {
    return (await this.readNamed("roles", "roleid,name,_businessunitid_value", names, signal)).map((r) => ({ id: lower(r.roleid), name: text(r.name), businessUnitId: lower(r._businessunitid_value) }));
  }

  async findTeams(names: readonly string[], signal?: AbortSignal): Promise<Team[]> {
    return (await this.readNamed("teams", "teamid,name,teamtype,isdefault", names, signal)).map((r) => ({ id: lower(r.teamid), name: text(r.name), teamType: Number(r.teamtype ?? 0), isDefault: r.isdefault === true }));
  }

  /** Rows of `set` whose name is one of `names`: `name eq … or …`, NAMES_PER_READ names a request, concurrently. */
  private async readNamed(set: string, select: string, names: readonly string[], signal?: AbortSignal): Promise<Row[]> {
    const chunks: string[][] = [];
    for (let i = 0; i < names.length; i += NAMES_PER_READ) chunks.push(names.slice(i, i + NAMES_PER_READ));
    const read = await Promise.all(chunks.map((chunk) =>
      this.readAll("lookup", `${set}${queryString({ $select: select, $filter: chunk.map((n) => `name eq ${stringLiteral(n)}`).join(" or ") })}`, signal)));
    return read.flat();
  }

  async readAccess(systemUserIds: readonly string[], signal?: AbortSignal): Promise<Map<string, CurrentAccess>> {
    const out = new Map<string, CurrentAccess>();
    for (const row of await this.readAccessRows("systemuserid", systemUserIds, signal)) {
      const access = toCurrentAccess(row);
      out.set(access.systemUserId, access);
    }
    return out;
  }

  async readAccessByAnchor(anchors: readonly string[], anchor: string, signal?: AbortSignal): Promise<Array<CurrentAccess & { anchor: string }>> {
    return (await this.readAccessRows(anchor, anchors, signal, [anchor])).map((row) => ({ ...toCurrentAccess(row), anchor: lower(row[anchor]) }));
  }

  /** systemusers whose `column` is one of `ids` (GUIDs), with their access, READ_CHUNK a request. */
  private async readAccessRows(column: string, ids: readonly string[], signal?: AbortSignal, extra: readonly string[] = []): Promise<Row[]> {
    const unique = [...new Set(ids.map((id) => id.toLowerCase()))].filter(isGuid);
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += READ_CHUNK) chunks.push(unique.slice(i, i + READ_CHUNK));
    // Chunks go out together; the org's limiter decides how many are really in flight.
    const read = await Promise.all(chunks.map((chunk) => this.readAll("access", accessQuery(column, chunk, extra), signal)));
    return read.flat();
  }

  async applyAccess(writes: readonly AccessWrite[], signal?: AbortSignal, background = false): Promise<AccessWriteResult[]> {
    const requests = writes.map((w) => this.requestsOf(w));
    const results: AccessWriteResult[] = writes.map(() => ({ ok: true }));
    const batches: number[][] = [];
    let current: number[] = [];
    let size = 0;
    requests.forEach((list, i) => {
      if (list.length === 0) return;
      if (size + list.length > BATCH_OPERATIONS && current.length > 0) { batches.push(current); current = []; size = 0; }
      current.push(i);
      size += list.length;
    });
    if (current.length > 0) batches.push(current);
    await Promise.all(batches.map(async (batch) => {
      const outcome = await this.sendChangeSets(batch.map((i) => requests[i]!), signal, background);
      batch.forEach((i, j) => { results[i] = outcome[j]!; });
    }));
    return results;
  }

  /** The user's change set: the move first (it drops every role), then roles, then teams. */
  private requestsOf(write: AccessWrite): BatchRequest[] {
    const base = this.http.apiBase;
    const user = guidLiteral(write.systemUserId);
    const { moveTo, addRoles, removeRoles, addTeams, removeTeams } = write.plan;
    const out: BatchRequest[] = [];
    if (moveTo) out.push({ method: "PATCH", url: `${base}systemusers(${user})`, headers: { "Content-Type": "application/json", "If-Match": "*" }, body: { "businessunitid@odata.bind": `/businessunits(${guidLiteral(moveTo)})` } });
    for (const role of removeRoles) out.push({ method: "DELETE", url: `${base}systemusers(${user})/systemuserroles_association(${guidLiteral(role)})/$ref` });
    for (const role of addRoles) out.push({ method: "POST", url: `${base}systemusers(${user})/systemuserroles_association/$ref`, body: { "@odata.id": `${base}roles(${guidLiteral(role)})` } });
    for (const team of removeTeams) out.push({ method: "DELETE", url: `${base}teams(${guidLiteral(team)})/teammembership_association(${user})/$ref` });
    for (const team of addTeams) out.push({ method: "POST", url: `${base}teams(${guidLiteral(team)})/teammembership_association/$ref`, body: { "@odata.id": `${base}systemusers(${user})` } });
    return out;
  }

  private async sendChangeSets(changeSets: BatchRequest[][], signal?: AbortSignal, background = false): Promise<AccessWriteResult[]> {
    const encoded = encodeChangeSets(changeSets);
    let res: HttpResponse;
    try {
      res = await this.http.send({
        kind: "batch", method: "POST", url: "$batch", signal, body: encoded.body, background,
        headers: { "Content-Type": encoded.contentType, Prefer: "odata.continue-on-error" },
        accept: (s) => s === 200 || s === 400,
      });
      this.http.retries.countBatched(changeSets.reduce((n, c) => n + c.length, 0));
    } catch (error) {
      if (!isDataverseError(error)) throw error;
      return changeSets.map(() => ({ ok: false, code: error.dataverseCode, message: error.serverMessage || error.message }));
    }
    return changeSetResults(res, changeSets.length);
  }

  private async readAll(kind: string, url: string, signal?: AbortSignal): Promise<Row[]> {
    const out: Row[] = [];
    for (let next: string | undefined = url; next !== undefined;) {
      const res = await this.http.send({ kind, method: "GET", url: next, headers: { Prefer: "odata.maxpagesize=5000" }, signal });
      out.push(...rows(res));
      const link = res.json<{ "@odata.nextLink"?: unknown }>()?.["@odata.nextLink"];
      next = typeof link === "string" && link !== "" ? link : undefined;
    }
    return out;
  }
}

/** systemusers with their unit, roles and team memberships (a page of users per request). */
function accessQuery(column: string, ids: readonly string[], extra: readonly string[]): string {
  return `systemusers${queryString({
    $select: ["systemuserid", "_businessunitid_value", "isdisabled", "accessmode", "applicationid", ...extra].join(","),
    $filter: inValues(column, ids),
    $expand: "systemuserroles_association($select=roleid,name),teammembership_association($select=teamid)",
  })}`;
}

function toCurrentAccess(row: Row): CurrentAccess {
  const roles = Array.isArray(row.systemuserroles_association) ? (row.systemuserroles_association as Row[]) : [];
  const teams = Array.isArray(row.teammembership_association) ? (row.teammembership_association as Row[]) : [];
  return {
    systemUserId: lower(row.systemuserid),
    businessUnitId: lower(row._businessunitid_value),
    roles: roles.map((r) => ({ id: lower(r.roleid), name: text(r.name) })),
    teamIds: teams.map((t) => lower(t.teamid)),
    disabled: row.isdisabled === true,
    protected: isProtectedRow(row as SystemUser),
  };
}

/** One result per change set: a change set answers with its responses, or with the one error that rolled it back. */
function changeSetResults(res: HttpResponse, count: number): AccessWriteResult[] {
  let items: ReturnType<typeof decodeBatchResponse>;
  try {
    items = decodeBatchResponse(res.headers["content-type"], res.text);
  } catch (error) {
    if (!(error instanceof BatchFormatError)) throw error;
    const { code, message } = errorBodyParts(res.text);
    return Array.from({ length: count }, () => ({ ok: false, code: code ?? "MalformedBatchResponse", message: message ?? error.message }));
  }
  return Array.from({ length: count }, (_, i) => {
    const item = items[i];
    if (!item) return { ok: false, code: "NotExecuted", message: "the $batch response has no answer for this change set" };
    const failed = item.kind === "changeset" ? item.responses.find((r) => r.status >= 300) : item.response.status >= 300 ? item.response : undefined;
    return failed ? failure(failed) : { ok: true };
  });
}

function failure(part: BatchPartResponse): AccessWriteResult {
  const { code, message } = errorBodyParts(part.body);
  return { ok: false, code: code ?? String(part.status), message: message ?? part.statusText };
}
