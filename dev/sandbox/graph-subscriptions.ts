// Graph change-notification subscriptions (learn.microsoft.com/graph/change-notifications-delivery-webhooks):
// create with the validation handshake, renew, list, delete; Directory changes delivered as batched
// notifications; lifecycle notifications on demand. In memory only.
import { randomUUID } from "node:crypto";
import type { DirectoryChange } from "./directory.js";
import type { GraphCaller } from "./graph-auth.js";
import { GraphHttpError } from "./graph-odata.js";
import { postTo } from "./graph-post.js";
import type { Tenant } from "./tenant.js";

export interface GraphSubscription {
  id: string;
  resource: string;
  applicationId: string;
  changeType: string;
  clientState: string | null;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  expirationDateTime: string;
  creatorId: string;
  includeResourceData: boolean | null;
  latestSupportedTlsVersion: string;
}

export type LifecycleEvent = "reauthorizationRequired" | "subscriptionRemoved" | "missed";

export interface DeliveryRecord {
  kind: "validation" | "change" | "lifecycle";
  subscriptionId: string | null;
  url: string;
  /** Notifications in the POST (0 for a validation request). */
  count: number;
  status?: number;
  error?: string;
  at: number;
}

const CHANGE_TYPES = new Set(["created", "updated", "deleted"]);
const RESOURCE = /^\/?(users|groups)(\/([0-9a-f-]{36}))?$/i;

function badRequest(message: string): GraphHttpError {
  return new GraphHttpError(400, "InvalidRequest", message);
}

function checkUrl(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw badRequest(`${field} is required.`);
  let url: URL;
  try { url = new URL(value); } catch { throw badRequest(`${field} is not a valid URL.`); }
  // Graph requires https; the sandbox also allows plain http to loopback so local hosts can receive.
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) throw badRequest(`${field} must be an https URL.`);
  return value;
}

export class Subscriptions {
  readonly items = new Map<string, GraphSubscription>();
  readonly deliveries: DeliveryRecord[] = [];
  /** Graph gives the endpoint 10 s to echo the validation token. */
  validationTimeoutMs = 10_000;
  /** Changes within one tick go out as one POST per subscription, as Graph batches them. */
  notificationDelayMs = 100;
  /** Longest subscription lifetime for directory resources (29 days). */
  maxExpirationMinutes = 41_760;
  private queue: DirectoryChange[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly tenant: Tenant, private readonly base: () => string) {}

  toJson(sub: GraphSubscription): Record<string, unknown> {
    return {
      "@odata.context": `${this.base()}/v1.0/$metadata#subscriptions/$entity`,
      ...sub,
      notificationQueryOptions: null,
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
    };
  }

  async create(body: Record<string, unknown>, caller: GraphCaller): Promise<GraphSubscription> {
    const changeType = this.checkChangeType(body.changeType);
    const notificationUrl = checkUrl(body.notificationUrl, "notificationUrl");
    const lifecycleNotificationUrl = body.lifecycleNotificationUrl == null ? null : checkUrl(body.lifecycleNotificationUrl, "lifecycleNotificationUrl");
    if (typeof body.resource !== "string" || !RESOURCE.test(body.resource)) {
      throw badRequest(`Resource '${String(body.resource)}' is not supported by the sandbox (users, groups, users/{id}, groups/{id}).`);
    }
    const expirationDateTime = this.checkExpiration(body.expirationDateTime);
    const clientState = body.clientState == null ? null : String(body.clientState);
    if (clientState !== null && clientState.length > 128) throw badRequest("clientState must be at most 128 characters.");
    await this.validate(notificationUrl);
    if (lifecycleNotificationUrl) await this.validate(lifecycleNotificationUrl);
    const sub: GraphSubscription = {
      id: randomUUID(),
      resource: body.resource,
      applicationId: caller.appId,
      changeType,
      clientState,
      notificationUrl,
      lifecycleNotificationUrl,
      expirationDateTime,
      creatorId: caller.objectId,
      includeResourceData: null,
      latestSupportedTlsVersion: "v1_2",
    };
    this.items.set(sub.id, sub);
    return sub;
  }

  async update(id: string, body: Record<string, unknown>, caller: GraphCaller): Promise<GraphSubscription> {
    const sub = this.mustGet(id, caller);
    const expiration = body.expirationDateTime === undefined ? undefined : this.checkExpiration(body.expirationDateTime);
    if (body.notificationUrl !== undefined) {
      const url = checkUrl(body.notificationUrl, "notificationUrl");
      if (url !== sub.notificationUrl) await this.validate(url);
      sub.notificationUrl = url;
    }
    if (expiration) sub.expirationDateTime = expiration;
    return sub;
  }

  list(caller: GraphCaller): GraphSubscription[] {
    return [...this.items.values()].filter((s) => s.applicationId === caller.appId);
  }

  mustGet(id: string, caller: GraphCaller): GraphSubscription {
    const sub = this.items.get(id);
    if (!sub || sub.applicationId !== caller.appId) throw new GraphHttpError(404, "ResourceNotFound", `The object was not found. Subscription '${id}' does not exist.`);
    return sub;
  }

  remove(id: string, caller: GraphCaller): void {
    this.mustGet(id, caller);
    this.items.delete(id);
  }

  private checkChangeType(value: unknown): string {
    if (typeof value !== "string" || value.trim() === "") throw badRequest("changeType is required.");
    const parts = value.split(",").map((p) => p.trim());
    for (const p of parts) if (!CHANGE_TYPES.has(p)) throw badRequest(`changeType '${p}' is not supported: use created, updated, deleted.`);
    return parts.join(",");
  }

  private checkExpiration(value: unknown): string {
    const at = typeof value === "string" ? Date.parse(value) : NaN;
    if (Number.isNaN(at)) throw badRequest("expirationDateTime is required and must be an ISO 8601 date-time.");
    const now = Date.now();
    if (at <= now) throw badRequest("Subscription expiration must be in the future.");
    if (at > now + this.maxExpirationMinutes * 60_000) {
      throw badRequest(`Subscription expiration can only be ${this.maxExpirationMinutes} minutes in the future.`);
    }
    return new Date(at).toISOString();
  }

  /** Graph's handshake: POST ?validationToken=… and expect 200 text/plain echoing it within 10 s. */
  private async validate(url: string): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = `${url}${url.includes("?") ? "&" : "?"}validationToken=${encodeURIComponent(token)}`;
    const record: DeliveryRecord = { kind: "validation", subscriptionId: null, url, count: 0, at: Date.now() };
    this.deliveries.push(record);
    let problem: string | null = null;
    try {
      const res = await postTo(target, null, "text/plain; charset=utf-8", this.validationTimeoutMs);
      record.status = res.status;
      if (res.status !== 200) problem = `Notification endpoint must respond with 200 OK to validation request (got ${res.status}).`;
      else if (!res.contentType.toLowerCase().startsWith("text/plain")) problem = "Validation response must have Content-Type text/plain.";
      else if (res.body !== token) problem = "Response must exactly match validationToken query parameter.";
    } catch (err) {
      record.error = (err as Error).message;
      problem = `Subscription validation request timed out or failed: ${(err as Error).message}.`;
    }
    if (problem) {
      record.error ??= problem;
      throw new GraphHttpError(400, "ValidationError", `Subscription validation request failed. ${problem}`);
    }
  }

  enqueue(change: DirectoryChange): void {
    this.queue.push(change);
    if (!this.timer) {
      this.timer = setTimeout(() => { void this.flush(); }, this.notificationDelayMs);
      this.timer.unref();
    }
  }

  /** Sends what is queued now and waits for every POST under way. */
  async flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const changes = this.queue;
    this.queue = [];
    if (changes.length > 0) {
      for (const sub of this.items.values()) {
        if (Date.parse(sub.expirationDateTime) <= Date.now()) continue;
        const value = this.notificationsFor(sub, changes);
        if (value.length === 0) continue;
        this.track(this.deliver("change", sub, sub.notificationUrl, { value }, value.length));
      }
    }
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  private notificationsFor(sub: GraphSubscription, changes: DirectoryChange[]): Array<Record<string, unknown>> {
    const [, collection, , onlyId] = RESOURCE.exec(sub.resource)!;
    const wanted = new Set(sub.changeType.split(","));
    const seen = new Set<string>();
    const out: Array<Record<string, unknown>> = [];
    for (const change of changes) {
      if ((change.kind === "user") !== (collection!.toLowerCase() === "users")) continue;
      if (onlyId && onlyId.toLowerCase() !== change.id.toLowerCase()) continue;
      // Entra sends `updated` for creations and soft deletes; `deleted` only for a permanent delete.
      const hard = change.kind === "user" && this.tenant.directory.users.get(change.id)?.state === "hardDeleted";
      const changeType = change.changeType === "deleted" && hard ? "deleted" : "updated";
      if (!wanted.has(changeType) || seen.has(`${change.id}:${changeType}`)) continue;
      seen.add(`${change.id}:${changeType}`);
      const type = change.kind === "user" ? "User" : "Group";
      out.push({
        subscriptionId: sub.id,
        subscriptionExpirationDateTime: sub.expirationDateTime,
        changeType,
        resource: `${type}s/${change.id}`,
        resourceData: { "@odata.type": `#Microsoft.Graph.${type}`, "@odata.id": `${type}s/${change.id}`, id: change.id, organizationId: this.tenant.tenantId },
        clientState: sub.clientState,
        tenantId: this.tenant.tenantId,
      });
    }
    return out;
  }

  /** Sends a lifecycle notification; `subscriptionRemoved` also drops the subscription, as Graph has. */
  async sendLifecycle(id: string, lifecycleEvent: LifecycleEvent): Promise<DeliveryRecord> {
    const sub = this.items.get(id);
    if (!sub) throw new Error(`no subscription ${id}`);
    if (!sub.lifecycleNotificationUrl) throw new Error(`subscription ${id} has no lifecycleNotificationUrl`);
    if (lifecycleEvent === "subscriptionRemoved") this.items.delete(id);
    const value = [{
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: sub.expirationDateTime,
      tenantId: this.tenant.tenantId,
      clientState: sub.clientState,
      lifecycleEvent,
    }];
    return this.deliver("lifecycle", sub, sub.lifecycleNotificationUrl, { value }, 1);
  }

  private track(p: Promise<unknown>): void {
    const done: Promise<void> = p.then(() => undefined, () => undefined).finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  private async deliver(kind: DeliveryRecord["kind"], sub: GraphSubscription, url: string, body: unknown, count: number): Promise<DeliveryRecord> {
    const record: DeliveryRecord = { kind, subscriptionId: sub.id, url, count, at: Date.now() };
    this.deliveries.push(record);
    try {
      // Graph expects an answer within a few seconds; failed deliveries are recorded, not retried.
      const res = await postTo(url, JSON.stringify(body), "application/json; charset=utf-8", this.validationTimeoutMs);
      record.status = res.status;
      if (res.status < 200 || res.status > 299) record.error = `answered ${res.status}`;
    } catch (err) {
      record.error = (err as Error).message;
    }
    return record;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }
}
