import { app, type InvocationContext, type Timer } from "@azure/functions";
import { recordSubscriptionExpiry } from "../shared/telemetry/subscription.js";
import { LOG_EVENTS } from "../shared/telemetry/names.js";
import { bridge } from "./bridge.js";
import { errorMessage } from "../shared/errors/app-error.js";

/** Every 30 minutes: creates, verifies, renews or recreates the Graph `users` subscription (NOTIFICATION_URL). */
export async function subscriptionsTimer(timer: Timer, context: InvocationContext): Promise<void> {
  try {
    if (timer.isPastDue) context.warn("the subscription timer is running late");
    const outcome = await bridge().notifications.subscriptions.ensure();
    recordSubscriptionExpiry(outcome);
    context.log(`notifications: subscription ${outcome.action}${outcome.subscriptionId ? ` ${outcome.subscriptionId}` : ""}` +
      `${outcome.expirationDateTime ? ` until ${outcome.expirationDateTime}` : ""}${outcome.reason ? ` (${outcome.reason})` : ""}`);
  } catch (error) {
    context.error(`notifications: ${LOG_EVENTS.subscriptionRenewFailed}: ${errorMessage(error)}`);
    throw error;
  }
}

app.timer("graphSubscriptions", { schedule: "0 */30 * * * *", runOnStartup: false, handler: subscriptionsTimer });
