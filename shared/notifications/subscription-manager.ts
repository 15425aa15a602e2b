// Keeps one of the bridge's subscriptions alive (`users`; with ACCESS_RULES also `groups`, so that a rule group's
// membership change triggers a run like a user change): creates it when NOTIFICATION_URL is set, renews it well
// before it expires, recreates it when Graph lost or removed it (or the URL / clientState changed), and
// deletes it when webhooks are turned off. A lease makes one instance do the work at a time.
import { randomUUID } from "node:crypto";
import { AppError } from "../errors/app-error.js";
import type { LeaseStore } from "../state/leases.js";
import { clientStateFingerprint } from "./client-state.js";
import type { GraphSubscriptionInfo, SubscriptionsPort } from "./graph-subscriptions.js";
import type { LifecycleEventName } from "./parse.js";
import type { StoredSubscription, SubscriptionStorePort } from "./subscription-store.js";

export const RESOURCE = "users";
export const CHANGE_TYPE = "updated,deleted";
/** Asked-for lifetime (Graph allows up to 29 days for users); renewed once less than a day remains. */
export const DEFAULT_LIFETIME_MINUTES = 3 * 24 * 60;
export const DEFAULT_RENEW_BEFORE_MINUTES = 24 * 60;
const LEASE_KEY = "notifications:subscription";
/** The lease of one resource's subscription (`users` keeps the key it always had). */
const leaseKey = (resource: string) => (resource === RESOURCE ? LEASE_KEY : `${LEASE_KEY}:${resource}`);
const LEASE_MS = 2 * 60_000;

export interface SubscriptionOutcome {
  action: "created" | "renewed" | "recreated" | "verified" | "deleted" | "off" | "busy";
  subscriptionId?: string;
  expirationDateTime?: string;
  reason?: string;
}

export interface SubscriptionManagerDeps {
  graph: SubscriptionsPort;
  store: SubscriptionStorePort;
  leases: Pick<LeaseStore, "acquire" | "release">;
  /** NOTIFICATION_URL; undefined = webhooks off. */
  notificationUrl?: string;
  clientState: () => Promise<string>;
  /** The subscribed resource (default `users`). */
  resource?: string;
  now?: () => number;
  lifetimeMinutes?: number;
  renewBeforeMinutes?: number;
  log?: (message: string) => void;
}

export class SubscriptionManager {
  constructor(private readonly deps: SubscriptionManagerDeps) {}

  private get resource(): string {
    return this.deps.resource ?? RESOURCE;
  }

  private get now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** The timer's job. "busy" when another instance holds the lease (it is doing the same). */
  async ensure(): Promise<SubscriptionOutcome> {
    return (await this.locked(() => this.reconcile())) ?? { action: "busy" };
  }

  /** Acts on a lifecycle notification; throws 409 while another instance holds the lease (the queue retries). */
  async handleLifecycle(event: LifecycleEventName, subscriptionId: string): Promise<SubscriptionOutcome> {
    const outcome = await this.locked(async () => {
      const stored = await this.deps.store.get();
      const ours = this.deps.notificationUrl !== undefined && stored?.subscriptionId === subscriptionId;
      if (ours && event === "reauthorizationRequired") return this.reconcile({ renew: true });
      if (ours && event === "subscriptionRemoved") return this.create(stored, "recreated", "Graph removed it");
      return this.reconcile();
    });
    if (!outcome) throw new AppError("Another instance is updating the subscription.", 409, "subscription_busy");
    return outcome;
  }

  private async locked(work: () => Promise<SubscriptionOutcome>): Promise<SubscriptionOutcome | undefined> {
    const holder = randomUUID();
    const key = leaseKey(this.resource);
    const lease = await this.deps.leases.acquire(key, holder, LEASE_MS, "subscription");
    if (!lease.acquired) return undefined;
    try {
      return await work();
    } finally {
      await this.deps.leases.release(key, holder).catch(() => undefined);
    }
  }

  private async reconcile(options: { renew?: boolean } = {}): Promise<SubscriptionOutcome> {
    const url = this.deps.notificationUrl;
    const stored = await this.deps.store.get();
    if (!url) {
      if (!stored) return { action: "off" };
      await this.deps.graph.delete(stored.subscriptionId);
      await this.deps.store.delete();
      this.log(`deleted subscription ${stored.subscriptionId}: NOTIFICATION_URL is not set`);
      return { action: "deleted", subscriptionId: stored.subscriptionId };
    }
    if (!stored) return this.create(undefined, "created");
    const fingerprint = clientStateFingerprint(await this.deps.clientState());
    if (stored.notificationUrl !== url) return this.create(stored, "recreated", "NOTIFICATION_URL changed");
    if (stored.clientStateFingerprint !== fingerprint) return this.create(stored, "recreated", "the clientState secret changed");

    const renewBeforeMs = (this.deps.renewBeforeMinutes ?? DEFAULT_RENEW_BEFORE_MINUTES) * 60_000;
    if (options.renew || Date.parse(stored.expirationDateTime) - this.now < renewBeforeMs) {
      const renewed = await this.deps.graph.renew(stored.subscriptionId, this.expiry());
      if (!renewed) return this.create(undefined, "recreated", "Graph no longer has it (404 on renew)");
      await this.save(renewed, fingerprint);
      this.log(`renewed subscription ${renewed.id} until ${renewed.expirationDateTime}`);
      return { action: "renewed", subscriptionId: renewed.id, expirationDateTime: renewed.expirationDateTime };
    }
    const current = await this.deps.graph.get(stored.subscriptionId);
    if (!current) return this.create(undefined, "recreated", "Graph no longer has it (404)");
    return { action: "verified", subscriptionId: stored.subscriptionId, expirationDateTime: stored.expirationDateTime };
  }

  /** Creates a fresh subscription, first removing `previous` and any orphan of ours on the same URL. */
  private async create(previous: StoredSubscription | undefined, action: "created" | "recreated", reason?: string): Promise<SubscriptionOutcome> {
    const url = this.deps.notificationUrl!;
    if (previous) await this.deps.graph.delete(previous.subscriptionId);
    // An orphan (state row lost, or a crash between create and save) would double every notification.
    for (const orphan of await this.deps.graph.list()) {
      if (orphan.resource.replace(/^\//, "").toLowerCase() === this.resource && orphan.notificationUrl === url) await this.deps.graph.delete(orphan.id);
    }
    const clientState = await this.deps.clientState();
    const created = await this.deps.graph.create({
      resource: this.resource, changeType: CHANGE_TYPE, notificationUrl: url, lifecycleNotificationUrl: url, clientState, expirationDateTime: this.expiry(),
    });
    await this.save(created, clientStateFingerprint(clientState));
    this.log(`${action} subscription ${created.id} until ${created.expirationDateTime}${reason ? `: ${reason}` : ""}`);
    return { action, subscriptionId: created.id, expirationDateTime: created.expirationDateTime, reason };
  }

  private async save(subscription: GraphSubscriptionInfo, fingerprint: string): Promise<void> {
    await this.deps.store.save({
      subscriptionId: subscription.id,
      resource: subscription.resource,
      notificationUrl: subscription.notificationUrl,
      expirationDateTime: subscription.expirationDateTime,
      clientStateFingerprint: fingerprint,
      updatedAt: new Date(this.now).toISOString(),
    });
  }

  private expiry(): string {
    return new Date(this.now + (this.deps.lifetimeMinutes ?? DEFAULT_LIFETIME_MINUTES) * 60_000).toISOString();
  }

  private log(message: string): void {
    this.deps.log?.(`notifications (${this.resource}): ${message}`);
  }
}

/** Several subscriptions kept as one: the timer ensures each, a lifecycle event goes to each (only its owner acts). */
export class SubscriptionSet {
  constructor(private readonly managers: readonly SubscriptionManager[]) {}

  /** The first (users) subscription's outcome; the others are kept alongside. */
  async ensure(): Promise<SubscriptionOutcome> {
    const outcomes = await Promise.all(this.managers.map((m) => m.ensure()));
    return outcomes[0]!;
  }

  async handleLifecycle(event: LifecycleEventName, subscriptionId: string): Promise<SubscriptionOutcome> {
    const outcomes = await Promise.all(this.managers.map((m) => m.handleLifecycle(event, subscriptionId)));
    // The owner of the event acted (renewed, recreated…); the others only verified theirs.
    return outcomes.find((o) => o.action !== "verified") ?? outcomes[0]!;
  }
}
