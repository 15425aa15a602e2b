import { app, type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { receiveNotifications } from "../shared/notifications/endpoint.js";
import { notificationServices } from "../shared/notifications/services.js";

/** POST /api/notifications: Graph change notifications; anonymous at the host, authenticated by clientState. */
export async function notifications(request: HttpRequest): Promise<HttpResponseInit> {
  return receiveNotifications(request, notificationServices);
}

app.http("notifications", { methods: ["POST"], route: "notifications", authLevel: "anonymous", handler: notifications });
