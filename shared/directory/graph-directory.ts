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
