// GET /api/notifications/subscription: whether webhooks are on, and the Graph subscription the bridge keeps
// (id, resource, expiry), without the clientState fingerprint.
import { getConfig } from "../config/config.js";
import { SubscriptionStore, type SubscriptionStorePort } from "./subscription-store.js";

export interface SubscriptionView {
  enabled: boolean;
  notificationUrl: string | null;
  subscription: { subscriptionId: string; resource: string; expirationDateTime: string; expiresInSeconds: number; updatedAt: string } | null;
}

export async function subscriptionView(store: SubscriptionStorePort = new SubscriptionStore(), now = new Date()): Promise<SubscriptionView> {
  const url = getConfig().notifications.url ?? null;
  const stored = await store.get();
  return {
    enabled: url !== null,
    notificationUrl: url,
    subscription: stored ? {
      subscriptionId: stored.subscriptionId,
      resource: stored.resource,
      expirationDateTime: stored.expirationDateTime,
      expiresInSeconds: Math.round((Date.parse(stored.expirationDateTime) - now.getTime()) / 1000),
      updatedAt: stored.updatedAt,
    } : null,
  };
}
