// Microsoft Graph v1.0 emulator over the sandbox tenant's Directory: users (get, list with
// $select/$filter/$top and paging), users/delta and groups/delta, group members (and their $count), subscribedSkus, JSON batches of user reads, and
// change-notification subscriptions. Knobs on GraphEmulator let tests expire delta tokens, force a 410 reset, forget
// subscriptions and send lifecycle notifications. Throttling comes from the service's ServiceKnobs.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultRule, Handler } from "./https-service.js";
import type { Tenant } from "./tenant.js";
import { authenticate, type GraphCaller } from "./graph-auth.js";
import { groupsDelta, usersDelta, type DeltaContext, type DeltaFault } from "./graph-delta.js";
import { GraphHttpError, QueryOptions, requestIds, sendGraph, sendGraphError } from "./graph-odata.js";
import { countGroupMembers, getGroup, getUser, listGroupMembers, listUsers } from "./graph-read.js";
import { listSubscribedSkus } from "./graph-skus.js";
import { runBatch } from "./graph-batch.js";
import { Subscriptions, type DeliveryRecord, type GraphSubscription, type LifecycleEvent } from "./graph-subscriptions.js";

export type { DeliveryRecord, GraphSubscription, LifecycleEvent, DeltaFault };

export class GraphEmulator {
  /** Default page size of collections and delta pages (`Prefer: odata.maxpagesize` overrides, up to 200 on delta). */
  pageSize = 100;
  /** Largest delta page a client may ask for (Graph's own cap is 200; lower it to spread a small directory over pages). */
  maxDeltaPageSize = 200;
  /** Member links per groups/delta page (Graph: up to 500), so large groups span pages. */
  memberLinksPerPage = 500;
  /** Object ids read with `users?$filter=id in (…)` / `id eq` (alone or in a batch), in order: tests assert on it. */
  readonly usersReadById: string[] = [];
  readonly subscriptionStore: Subscriptions;
  /** Distinguishes this instance's delta tokens from those of an earlier run. */
  readonly epoch = randomUUID();
  private readonly pendingFaults: DeltaFault[] = [];
  private readonly unsubscribe: () => void;

  constructor(readonly tenant: Tenant, readonly baseUrl: () => string) {
    this.subscriptionStore = new Subscriptions(tenant, baseUrl);
    this.unsubscribe = tenant.directory.onChange((change) => {
      if (this.subscriptionStore.items.size > 0) this.subscriptionStore.enqueue(change);
    });
  }

  get subscriptions(): GraphSubscription[] {
    return [...this.subscriptionStore.items.values()];
  }
  get deliveries(): DeliveryRecord[] {
    return this.subscriptionStore.deliveries;
  }

  /**
   * The next `count` delta requests that carry a token fail: `gone` = 410 with a `Location` delta link whose
   * `$deltatoken` is empty (tenant maintenance), `resyncRequired` / `syncStateNotFound` = 400 with that code.
   */
  failNextDelta(kind: DeltaFault = "gone", count = 1): void {
    for (let i = 0; i < count; i++) this.pendingFaults.push(kind);
  }

  /** Every delta token issued so far expires (next use answers 400 `syncStateNotFound`). */
  expireDeltaTokens(): void {
    this.tenant.directory.expireDeltaTokens();
  }

  /** Drops a subscription without telling anyone (Graph lost it: PATCH/GET answer 404). */
  forgetSubscription(id: string): boolean {
    return this.subscriptionStore.items.delete(id);
  }

  sendLifecycleNotification(id: string, event: LifecycleEvent): Promise<DeliveryRecord> {
    return this.subscriptionStore.sendLifecycle(id, event);
  }

  /** Delivers queued change notifications now and waits for every delivery under way. */
  flushNotifications(): Promise<void> {
    return this.subscriptionStore.flush();
  }

  /** A ServiceKnobs fault rule that answers like Graph when throttling. */
  static throttle(options: { rate?: number; retryAfterSeconds?: number; status?: 429 | 503; match?: FaultRule["match"] } = {}): FaultRule {
    const status = options.status ?? 429;
    return {
      rate: options.rate ?? 1,
      status,
      retryAfterSeconds: options.retryAfterSeconds,
      match: options.match,
      body: status === 429
        ? { error: { code: "TooManyRequests", message: "Too many requests. Please retry after the time given in Retry-After.", innerError: { date: new Date().toISOString() } } }
        : { error: { code: "ServiceUnavailable", message: "The service is temporarily unavailable.", innerError: { date: new Date().toISOString() } } },
    };
  }

  close(): void {
    this.unsubscribe();
    this.subscriptionStore.close();
  }

  deltaContext(): DeltaContext {
    return {
      directory: this.tenant.directory,
      base: this.baseUrl(),
      epoch: this.epoch,
      pageSize: this.pageSize,
      maxPageSize: this.maxDeltaPageSize,
      memberLinksPerPage: this.memberLinksPerPage,
      takeFault: () => this.pendingFaults.shift() ?? null,
    };
  }
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const value = JSON.parse(body.toString("utf8")) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new GraphHttpError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.");
}

async function route(emulator: GraphEmulator, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const base = emulator.baseUrl();
  const url = new URL(req.url ?? "/", "https://graph.invalid");
  const caller: GraphCaller = await authenticate(req, emulator.tenant, base);
  const q = new QueryOptions(url.searchParams);
  const method = req.method ?? "GET";
  const path = url.pathname.replace(/\/+$/, "");
  const segments = path.split("/").slice(1).map(decodeURIComponent);
  if (segments[0] !== "v1.0") throw new GraphHttpError(400, "BadRequest", `Invalid version: ${segments[0] ?? ""}`);
  // Kiota-generated SDKs call the function form `delta()`.
  const [collection, rawId, sub, ...rest] = segments.slice(1);
  const id = rawId === "delta()" ? "delta" : rawId;
  const ok = (status: number, payload: unknown, headers: Record<string, string> = {}) => sendGraph(req, res, status, payload, headers);
  const onlyGet = () => { if (method !== "GET") throw new GraphHttpError(405, "Request_BadRequest", `The HTTP method '${method}' is not allowed.`); };

  if (collection === "users" || collection?.startsWith("users(")) {
    onlyGet();
    if (collection !== "users") return ok(200, getUser(emulator, collection.slice("users".length), q));
    if (id === undefined) return ok(200, ...listUsers(emulator, req, q, url));
    if (id === "delta" && sub === undefined) { const r = usersDelta(req, q, emulator.deltaContext()); return ok(200, r.body, r.headers); }
    if (sub === undefined) return ok(200, getUser(emulator, id, q));
  }
  if (collection === "groups" && id !== undefined) {
    onlyGet();
    if (id === "delta" && sub === undefined) { const r = groupsDelta(req, q, emulator.deltaContext()); return ok(200, r.body, r.headers); }
    if (sub === undefined) return ok(200, getGroup(emulator, id, q));
    if (sub === "members" && rest.length === 0) return ok(200, ...listGroupMembers(emulator, req, q, url, id));
    if (sub === "members" && rest.join("/").replace(/^microsoft\.graph\.user\//, "") === "$count") {
      const count = countGroupMembers(emulator, req, id);
      const { requestId, clientRequestId } = requestIds(req);
      res.writeHead(200, { "content-type": "text/plain", "request-id": requestId, "client-request-id": clientRequestId }).end(String(count));
      return;
    }
  }
  if (collection === "subscribedSkus" && id === undefined) {
    onlyGet();
    return ok(200, listSubscribedSkus(emulator.tenant, base));
  }
  if (collection === "$batch" && id === undefined && method === "POST") return ok(200, runBatch(emulator, req, parseJson(body)));
  if (collection === "subscriptions") {
    const store = emulator.subscriptionStore;
    if (id === undefined && method === "GET") {
      return ok(200, { "@odata.context": `${base}/v1.0/$metadata#subscriptions`, value: store.list(caller).map((s) => { const { "@odata.context": _, ...rest2 } = store.toJson(s); return rest2; }) });
    }
    if (id === undefined && method === "POST") return ok(201, store.toJson(await store.create(parseJson(body), caller)));
    if (id !== undefined && sub === undefined) {
      if (method === "GET") return ok(200, store.toJson(store.mustGet(id, caller)));
      if (method === "PATCH") return ok(200, store.toJson(await store.update(id, parseJson(body), caller)));
      if (method === "DELETE") { store.remove(id, caller); res.writeHead(204).end(); return; }
    }
    if (id !== undefined && sub === "reauthorize" && method === "POST") { store.mustGet(id, caller); res.writeHead(204).end(); return; }
  }
  throw new GraphHttpError(400, "BadRequest", `Resource not found for the segment '${segments.slice(1).join("/") || "v1.0"}'.`);
}

export function createGraphHandler(tenant: Tenant, options: { baseUrl: () => string }): { handler: Handler; emulator: GraphEmulator } {
  const emulator = new GraphEmulator(tenant, options.baseUrl);
  const handler: Handler = async (req, res, body) => {
    try {
      await route(emulator, req, res, body);
    } catch (err) {
      if (err instanceof GraphHttpError) sendGraphError(req, res, err);
      else throw err;
    }
  };
  return { handler, emulator };
}
