// The directory port over Microsoft Graph v1.0, through @microsoft/microsoft-graph-client (in maintenance,
// hence behind our own interface). The SDK's RetryHandler honours Retry-After on 429/503/504.
import {
  AuthenticationHandler,
  Client,
  GraphError,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
} from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import type { TokenCredential } from "@azure/identity";
import { setTimeout as delay } from "node:timers/promises";
import { AppError } from "../errors/app-error.js";
import { groupsDeltaFilter, parseGroupsDeltaBody, type GroupDeltaPage } from "./group-members-delta.js";
import { DeltaResetError, type DeltaPage, type DirectoryChange, type DirectoryPort, type DirectoryRequestOptions, type DirectoryUser } from "./types.js";
import { escapeODataString } from "../odata/literal.js";
import { GraphTelemetryHandler } from "../telemetry/graph.js";

export interface GraphDirectoryOptions {
  baseUrl: string;
  credential: TokenCredential;
  /** `Prefer: odata.maxpagesize` for delta pages (Graph caps users at 200 a page). */
  pageSize?: number;
  maxRetries?: number;
}

interface GraphCollection<T> {
  value: T[];
  "@odata.nextLink"?: string;
  "@odata.deltaLink"?: string;
}

type RawDeltaItem = DirectoryUser & { "@removed"?: { reason?: string } };

interface BatchRequest { id: string; method: "GET"; url: string }
interface BatchResponse { id: string; status: number; headers?: Record<string, string>; body?: unknown }

/** Graph's limits: 15 values in an `in` filter clause, 20 requests in a JSON batch. */
const IDS_PER_FILTER = 15;
const REQUESTS_PER_BATCH = 20;
/** Graph's maximum `$top` on /users. */
const USERS_PER_LIST_PAGE = 999;
const RETRYABLE = new Set([429, 503, 504]);

const RESET_CODES = new Set(["syncStateNotFound", "resyncRequired", "syncStateInvalid"]);

export class GraphDirectory implements DirectoryPort {
  private readonly client: Client;
  private readonly root: string;

  constructor(private readonly options: GraphDirectoryOptions) {
    this.root = `${options.baseUrl.replace(/\/+$/, "")}/v1.0`;
    const authProvider = new TokenCredentialAuthenticationProvider(options.credential, { scopes: [`${options.baseUrl.replace(/\/+$/, "")}/.default`] });
    const middleware = [
      new AuthenticationHandler(authProvider),
      new RetryHandler(new RetryHandlerOptions(3, options.maxRetries ?? 8)),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new GraphTelemetryHandler(),
      new HTTPMessageHandler(),
    ];
    this.client = Client.initWithMiddleware({
      baseUrl: `${options.baseUrl.replace(/\/+$/, "")}/`,
      defaultVersion: "v1.0",
      middleware,
      // The SDK attaches tokens only to Microsoft hosts unless told otherwise.
      customHosts: new Set([new URL(options.baseUrl).hostname]),
    });
  }

  async usersDeltaPage(link: string | undefined, select: readonly string[], options: DirectoryRequestOptions = {}): Promise<DeltaPage> {
    const url = link ?? `${this.root}/users/delta?$select=${select.join(",")}`;
    const page = await this.deltaGet<GraphCollection<RawDeltaItem>>(url, options);
    const changes: DirectoryChange[] = page.value.map((item) => {
      const removed = item["@removed"];
      if (removed) return { kind: "removed", id: item.id, reason: removed.reason === "deleted" ? "deleted" : "changed" };
      const { "@removed": _, ...user } = item;
      return { kind: "upsert", user };
    });
    return { changes, nextLink: page["@odata.nextLink"], deltaLink: page["@odata.deltaLink"] };
  }

  async usersDeltaLatest(select: readonly string[], options: DirectoryRequestOptions = {}): Promise<string> {
    const page = await this.deltaGet<GraphCollection<unknown>>(`${this.root}/users/delta?$select=${select.join(",")}&$deltatoken=latest`, options);
    if (!page["@odata.deltaLink"]) throw new AppError("Microsoft Graph answered users/delta?$deltatoken=latest without a delta link", 502, "graph_unavailable");
    return page["@odata.deltaLink"];
  }

  /**
   * One page of the tenant's users (`/users`, 999 a page: Graph's maximum there, against 200 on users/delta), as
   * upserts; the first page when `link` is undefined. A continuation link Graph refuses (expired or invalid
   * `$skiptoken`: 400 or 410) surfaces as DeltaResetError, so the round starts over.
   */
  async usersListPage(link: string | undefined, select: readonly string[], options: DirectoryRequestOptions = {}): Promise<DeltaPage> {
    const url = link ?? `${this.root}/users?$select=${select.join(",")}&$top=${USERS_PER_LIST_PAGE}`;
    let page: GraphCollection<DirectoryUser>;
    try {
      page = await this.get<GraphCollection<DirectoryUser>>(url, options);
    } catch (error) {
      if (link !== undefined && error instanceof GraphError && (error.statusCode === 400 || error.statusCode === 410)) {
        throw new DeltaResetError(`users listing link refused: ${error.statusCode} ${error.code ?? ""}`.trim(), { cause: error });
      }
      throw error;
    }
    return { changes: page.value.map((user) => ({ kind: "upsert", user })), nextLink: page["@odata.nextLink"] };
  }

  async groupsDeltaPage(link: string | undefined, groupIds: readonly string[], options: DirectoryRequestOptions = {}): Promise<GroupDeltaPage> {
    const url = link ?? `${this.root}/groups/delta?$select=members&$filter=${encodeURIComponent(groupsDeltaFilter(groupIds))}`;
    return parseGroupsDeltaBody(await this.deltaGet(url, options));
  }

  /** A delta page; an expired or reset cursor surfaces as DeltaResetError. */
  private async deltaGet<T>(url: string, options: DirectoryRequestOptions): Promise<T> {
    try {
      return await this.get<T>(url, options, { Prefer: `odata.maxpagesize=${this.options.pageSize ?? 200}` });
    } catch (error) {
      if (error instanceof GraphError && (error.statusCode === 410 || RESET_CODES.has(error.code ?? ""))) {
        throw new DeltaResetError(error.statusCode === 410 ? "410 Gone" : String(error.code), { cause: error });
      }
      throw error;
    }
  }

  async getGroup(groupId: string, options: DirectoryRequestOptions = {}): Promise<{ id: string; displayName: string | null } | null> {
    try {
      const group = await this.get<{ id: string; displayName?: string | null }>(`${this.root}/groups/${encodeURIComponent(groupId)}?$select=id,displayName`, options);
      return { id: group.id, displayName: group.displayName ?? null };
    } catch (error) {
      if (error instanceof GraphError && (error.statusCode === 404 || error.statusCode === 400)) return null;
      throw error;
    }
  }

  async getUser(idOrUpn: string, select: readonly string[], options: DirectoryRequestOptions = {}): Promise<DirectoryUser | null> {
    // A UPN may hold characters that are special in a path ('#', '?', '/'); a $filter avoids them.
    const byFilter = idOrUpn.includes("@") || idOrUpn.includes("\\");
    try {
      if (!byFilter) return await this.get<DirectoryUser>(`${this.root}/users/${encodeURIComponent(idOrUpn)}?$select=${select.join(",")}`, options);
      const filter = encodeURIComponent(`userPrincipalName eq ${escapeODataString(idOrUpn)}`);
      const page = await this.get<GraphCollection<DirectoryUser>>(`${this.root}/users?$filter=${filter}&$select=${select.join(",")}`, options);
      return page.value[0] ?? null;
    } catch (error) {
      if (error instanceof GraphError && error.statusCode === 404) return null;
      throw error;
    }
  }

  /**
   * Users by object id, `select`ed, in as few requests as Graph documents: `users?$filter=id in (…)` takes 15 ids,
   * and a JSON `$batch` carries 20 such requests, so one round trip reads 300 users. (`directoryObjects/getByIds`
   * takes 1,000 ids but has no `$select` and returns only some user properties in v1.0.) Ids not found (deleted)
   * are simply absent. Sub-requests throttled (429/503/504) are sent again after their Retry-After.
   */
  async getUsersByIds(ids: readonly string[], select: readonly string[], options: DirectoryRequestOptions = {}): Promise<DirectoryUser[]> {
    const requests: BatchRequest[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_FILTER) {
      const chunk = ids.slice(i, i + IDS_PER_FILTER);
      const filter = encodeURIComponent(`id in (${chunk.map(escapeODataString).join(",")})`);
      requests.push({ id: String(requests.length), method: "GET", url: `/users?$filter=${filter}&$select=${select.join(",")}&$top=${IDS_PER_FILTER}` });
    }
    const users: DirectoryUser[] = [];
    for (let i = 0; i < requests.length; i += REQUESTS_PER_BATCH) {
      for (const body of await this.batch(requests.slice(i, i + REQUESTS_PER_BATCH), options)) users.push(...(body as GraphCollection<DirectoryUser>).value);
    }
    return users;
  }

  /** One JSON batch; returns the bodies in request order, retrying throttled sub-requests. */
  private async batch(requests: BatchRequest[], options: DirectoryRequestOptions): Promise<unknown[]> {
    const bodies = new Map<string, unknown>();
    let pending = requests;
    for (let attempt = 0; pending.length > 0; attempt++) {
      options.abortSignal?.throwIfAborted();
      const answer = (await this.post("$batch", { requests: pending }, options)) as { responses?: BatchResponse[] };
      const retry = new Set<string>();
      let waitSeconds = 0;
      for (const response of answer.responses ?? []) {
        if (response.status >= 200 && response.status < 300) bodies.set(response.id, response.body);
        else if (RETRYABLE.has(response.status) && attempt < (this.options.maxRetries ?? 8)) {
          retry.add(response.id);
          waitSeconds = Math.max(waitSeconds, Number(response.headers?.["retry-after"] ?? response.headers?.["Retry-After"]) || 2 ** attempt);
        } else {
          const error = (response.body as { error?: { code?: string; message?: string } } | undefined)?.error;
          throw new AppError(`Microsoft Graph batch request failed (${response.status} ${error?.code ?? ""}): ${error?.message ?? ""}`.trim(), 502, "graph_unavailable");
        }
      }
      pending = pending.filter((r) => retry.has(r.id));
      if (pending.length > 0) await delay(waitSeconds * 1000, undefined, { signal: options.abortSignal });
    }
    return requests.map((r) => bodies.get(r.id));
  }

  async listGroupMemberIds(groupId: string, options: DirectoryRequestOptions = {}): Promise<Set<string>> {
    const ids = new Set<string>();
    let url: string | undefined = `${this.root}/groups/${encodeURIComponent(groupId)}/members?$select=id&$top=999`;
    while (url) {
      const page: GraphCollection<{ id: string; "@odata.type"?: string }> = await this.get(url, options);
      for (const member of page.value) if (!member["@odata.type"] || member["@odata.type"] === "#microsoft.graph.user") ids.add(member.id);
      url = page["@odata.nextLink"];
    }
    return ids;
  }

  /** `$count` of the group's user members: an advanced query, so `ConsistencyLevel: eventual` (Graph answers 400 without). */
  async countGroupMembers(groupId: string, options: DirectoryRequestOptions = {}): Promise<number> {
    const answer = await this.get<unknown>(`${this.root}/groups/${encodeURIComponent(groupId)}/members/microsoft.graph.user/$count`, options, { ConsistencyLevel: "eventual" });
    const count = typeof answer === "number" ? answer : Number(String(answer).trim());
    if (!Number.isSafeInteger(count) || count < 0) throw new AppError("Microsoft Graph answered a group member count that is not a count", 502, "graph_unavailable");
    return count;
  }

  async *listUsers(
    select: readonly string[],
    options: DirectoryRequestOptions & { filter?: string; pageSize?: number; advancedQuery?: boolean } = {},
  ): AsyncGenerator<DirectoryUser[]> {
    const params = [`$select=${select.join(",")}`, `$top=${Math.min(999, Math.max(1, options.pageSize ?? 100))}`];
    if (options.filter) params.push(`$filter=${encodeURIComponent(options.filter)}`);
    if (options.advancedQuery) params.push("$count=true");
    const headers: Record<string, string> = options.advancedQuery ? { ConsistencyLevel: "eventual" } : {};
    let url: string | undefined = `${this.root}/users?${params.join("&")}`;
    while (url) {
      const page: GraphCollection<DirectoryUser> = await this.get(url, options, headers);
      yield page.value;
      url = page["@odata.nextLink"];
    }
  }

  private async post(path: string, body: unknown, options: DirectoryRequestOptions): Promise<unknown> {
    options.abortSignal?.throwIfAborted();
    try {
      return await this.client.api(`${this.root}/${path}`).post(body);
    } catch (error) {
      if (error instanceof GraphError) throw error;
      throw new AppError(`Microsoft Graph request failed: POST /v1.0/${path}`, 502, "graph_unavailable", { cause: error });
    }
  }

  private async get<T>(url: string, options: DirectoryRequestOptions, headers: Record<string, string> = {}): Promise<T> {
    options.abortSignal?.throwIfAborted();
    try {
      return (await this.client.api(url).headers(headers).get()) as T;
    } catch (error) {
      if (error instanceof GraphError) throw error;
      throw new AppError(`Microsoft Graph request failed: GET ${new URL(url).pathname}`, 502, "graph_unavailable", { cause: error });
    }
  }
}
