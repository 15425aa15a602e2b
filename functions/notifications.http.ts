import { app, type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { json } from "../shared/http/handlers.js";
import { adminRoute, bridge } from "./bridge.js";
import { receiveNotifications } from "../shared/notifications/endpoint.js";
import { SubscriptionStore } from "../shared/notifications/subscription-store.js";
import { TABLES } from "../shared/state/storage.js";
import { subscriptionView } from "../shared/notifications/subscription-view.js";

/** POST /api/notifications: Graph change notifications; anonymous at the host, authenticated by clientState. */
export async function notifications(request: HttpRequest): Promise<HttpResponseInit> {
  return receiveNotifications(request, () => bridge().notifications);
}

/** GET /api/notifications/subscription: webhooks on or off, and the Graph subscription with its expiry. */
export const notificationSubscription = adminRoute(async () => json(200, await subscriptionView(bridge().config.notifications.url, new SubscriptionStore(bridge().storage.tableOf(TABLES.subscriptions)))));

app.http("notifications", { methods: ["POST"], route: "notifications", authLevel: "anonymous", handler: notifications });
app.http("notificationSubscription", { methods: ["GET"], route: "notifications/subscription", authLevel: "anonymous", handler: notificationSubscription });
