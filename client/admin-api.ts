// The admin API's client (the console and the `bridge` CLI), typed from the same zod schemas the OpenAPI
// document is generated from. Runs in the browser and in Node (global fetch).
import type { z } from "zod";
import type * as r from "../shared/openapi/responses.js";

export type SyncStatus = z.output<typeof r.syncStatus>;
export type OrgStatus = z.output<typeof r.orgStatus>;
export type RunReport = z.output<typeof r.runReport>;
export type RunList = z.output<typeof r.runList>;
export type SyncStarted = z.output<typeof r.syncStarted>;
export type UserLookup = z.output<typeof r.userLookup>;
export type OneUserSync = z.output<typeof r.oneUserSync>;
export type RemapResult = z.output<typeof r.remapResult>;
export type BulkJob = z.output<typeof r.bulkJob>;
export type BulkAccepted = z.output<typeof r.bulkAccepted>;
export type Callers = z.output<typeof r.callers>;
export type Access = z.output<typeof r.access>;
export type Subscription = z.output<typeof r.subscription>;
export type RunSummary = z.output<typeof r.runSummary>;
export type Problem = z.output<typeof r.problemDetails>;

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Partial<Problem>) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export type TokenSource = () => Promise<string>;

export class AdminApi {
  /** `baseUrl`: the bridge's origin ("" in the browser: same origin). */
  constructor(private readonly token: TokenSource, private readonly baseUrl = "") {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown;
    try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { title: `HTTP ${response.status}`, detail: text.slice(0, 200) }; }
    if (!response.ok) throw new ApiError(response.status, parsed as Partial<Problem>);
    return parsed as T;
  }

  status = () => this.call<SyncStatus>("GET", "/api/sync/status");
  runs = (limit = 25) => this.call<RunList>("GET", `/api/sync/runs?limit=${limit}`);
  run = (runId: string, offset = 0, limit = 50) => this.call<RunReport>("GET", `/api/sync/runs/${encodeURIComponent(runId)}?offset=${offset}&limit=${limit}`);
  startSync = (body: { org?: string; mode?: "incremental" | "full"; dryRun?: boolean }) => this.call<SyncStarted>("POST", "/api/sync", body);
  approve = (runId: string) => this.call<unknown>("POST", `/api/sync/runs/${encodeURIComponent(runId)}/approve`);
  lookUpUser = (idOrUpn: string) => this.call<UserLookup>("GET", `/api/users/${encodeURIComponent(idOrUpn)}`);
  syncUser = (idOrUpn: string) => this.call<OneUserSync>("POST", `/api/users/${encodeURIComponent(idOrUpn)}/sync`);
  remap = (body: { user: string; newDomainName: string; dryRun?: boolean; org?: string }) => this.call<RemapResult>("POST", "/api/users/remap", body);
  remapBulk = (body: { rule: { fromSuffix: string; toSuffix: string }; dryRun?: boolean; org?: string }) => this.call<BulkJob | BulkAccepted>("POST", "/api/users/remap/bulk", body);
  bulkJob = (jobId: string) => this.call<BulkJob>("GET", `/api/users/remap/bulk/${encodeURIComponent(jobId)}`);
  callers = () => this.call<Callers>("GET", "/api/callers");
  access = () => this.call<Access>("GET", "/api/access");
  subscription = () => this.call<Subscription>("GET", "/api/notifications/subscription");
}
