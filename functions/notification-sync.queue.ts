import { app, type InvocationContext } from "@azure/functions";
import { notificationMessage } from "../shared/notifications/messages.js";
import { handleNotificationMessage } from "../shared/notifications/worker.js";
import { QUEUES } from "../shared/state/storage.js";
import { withRunStartLatency } from "../shared/telemetry/notifications.js";
import { bridge } from "./bridge.js";
import { errorMessage } from "../shared/errors/app-error.js";

/** Debounced notification syncs and lifecycle events; rethrows after logging so the host retries and poisons. */
export async function notificationSyncWorker(queueItem: unknown, context: InvocationContext): Promise<void> {
  const parsed = notificationMessage.safeParse(queueItem);
  if (!parsed.success) {
    context.error(`dropping a malformed notification message: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
    return;
  }
  try {
    const services = withRunStartLatency(bridge().notifications, context.triggerMetadata?.insertionTime);
    context.log(`notifications: ${await handleNotificationMessage(parsed.data, services)}`);
  } catch (error) {
    context.error(`notifications: ${parsed.data.kind} message failed: ${errorMessage(error)}`);
    throw error;
  }
}

app.storageQueue("notificationSync", { queueName: QUEUES.notifications, connection: "AzureWebJobsStorage", handler: notificationSyncWorker });
