// GET /api/notifications/subscription: whether webhooks are on, and the Graph subscription the bridge keeps
// (id, resource, expiry), without the clientState fingerprint.
import type { SubscriptionStorePort } from "./subscription-store.js";

export interface SubscriptionView {
  enabled: boolean;
  notificationUrl: string | null;
  subscription: { subscriptionId: string; resource: string; expirationDateTime: string; expiresInSeconds: number; updatedAt: string } | null;
}

/** `notificationUrl`: NOTIFICATION_URL (undefined: webhooks off). */
export async function subscriptionView(notificationUrl: string | undefined, store: SubscriptionStorePort, now = new Date()): Promise<SubscriptionView> {
  const url = notificationUrl ?? null;
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
