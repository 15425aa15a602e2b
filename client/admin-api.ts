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

export type Readiness = z.output<typeof r.readiness>;
export type ProvisionResult = z.output<typeof r.provisionResult>;

/** The bridge answered with an error (a problem+json body). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Partial<Problem> & Record<string, unknown>, readonly url = "") {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** The bridge could not be reached: `cause` names why (connection refused, DNS, TLS, timeout). */
export class NetworkError extends Error {
  constructor(readonly url: string, cause: unknown) {
    super(`cannot reach ${url}: ${describeNetworkCause(cause)}`, { cause });
  }
}

const CAUSES: Array<[RegExp, string]> = [
  [/^ECONNREFUSED$/, "connection refused (is the bridge running at this URL?)"],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/, "DNS lookup failed (check the host name)"],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|ABORT_ERR|TimeoutError)$/, "timed out"],
  [/^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/, "connection reset"],
  [/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i, "TLS failed"],
];

/** A fetch failure's innermost cause as words plus its code ("fetch failed" alone says nothing). */
export function describeNetworkCause(error: unknown): string {
  let inner = error as { cause?: unknown; code?: string; name?: string; message?: string } | undefined;
  while (inner?.cause && typeof inner.cause === "object") inner = inner.cause as typeof inner;
  const code = inner?.code ?? (inner?.name && inner.name !== "Error" ? inner.name : "");
  const words = CAUSES.find(([re]) => re.test(code))?.[1];
  const message = inner?.message && inner.message !== "fetch failed" ? inner.message : "";
  return [words, code && !message.includes(code) ? code : "", message].filter(Boolean).join(": ") || "network error";
}

export interface BulkRemapRequest {
  rule?: { fromSuffix: string; toSuffix: string } | { fromPrefix: string; toPrefix: string };
  items?: Array<{ user: string; newDomainName: string }>;
  dryRun?: boolean;
  org?: string;
}

export type TokenSource = () => Promise<string>;

export class AdminApi {
  /** `baseUrl`: the bridge's origin ("" in the browser: same origin). */
  constructor(private readonly token: TokenSource, private readonly baseUrl = "") {}

  private async call<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}`, ...extraHeaders };
    if (body !== undefined) headers["content-type"] = "application/json";
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      text = await response.text();
    } catch (error) {
      throw new NetworkError(url, error);
    }
    let parsed: unknown;
    try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { title: `HTTP ${response.status}`, detail: text.slice(0, 200) }; }
    if (!response.ok) throw new ApiError(response.status, parsed as Partial<Problem>, url);
    return parsed as T;
  }

  status = () => this.call<SyncStatus>("GET", "/api/sync/status");
  runs = (limit = 25, org?: string) => this.call<RunList>("GET", `/api/sync/runs?limit=${limit}${org ? `&org=${encodeURIComponent(org)}` : ""}`);
  run = (runId: string, offset = 0, limit = 50) => this.call<RunReport>("GET", `/api/sync/runs/${encodeURIComponent(runId)}?offset=${offset}&limit=${limit}`);
  startSync = (body: { org?: string; mode?: "incremental" | "full"; dryRun?: boolean }) => this.call<SyncStarted>("POST", "/api/sync", body);
  approve = (runId: string) => this.call<unknown>("POST", `/api/sync/runs/${encodeURIComponent(runId)}/approve`);
  lookUpUser = (idOrUpn: string) => this.call<UserLookup>("GET", `/api/users/${encodeURIComponent(idOrUpn)}`);
  syncUser = (idOrUpn: string) => this.call<OneUserSync>("POST", `/api/users/${encodeURIComponent(idOrUpn)}/sync`);
  remap = (body: { user: string; newDomainName: string; dryRun?: boolean; org?: string }) => this.call<RemapResult>("POST", "/api/users/remap", body);
  remapBulk = (body: BulkRemapRequest, idempotencyKey?: string) =>
    this.call<BulkJob | BulkAccepted>("POST", "/api/users/remap/bulk", body, idempotencyKey ? { "idempotency-key": idempotencyKey } : {});
  bulkJob = (jobId: string) => this.call<BulkJob>("GET", `/api/users/remap/bulk/${encodeURIComponent(jobId)}`);
  callers = () => this.call<Callers>("GET", "/api/callers");
  provisionCaller = (id: string, dryRun: boolean) => this.call<ProvisionResult>("POST", `/api/callers/${encodeURIComponent(id)}/provision`, { dryRun });
  subscription = () => this.call<Subscription>("GET", "/api/notifications/subscription");
  ready = () => this.call<Readiness>("GET", "/api/ready");
  access = () => this.call<Access>("GET", "/api/access");
}
