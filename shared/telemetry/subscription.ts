// After each subscription upkeep: how long until the Graph subscription expires, and whether this pass renewed
// (or created) it. The alert fires when it is within a day of expiry and not renewed.
import { recordMetric } from "./metrics.js";

export function recordSubscriptionExpiry(outcome: { action: string; expirationDateTime?: string }, now: number = Date.now()): void {
  if (!outcome.expirationDateTime) return;
  const expiresAt = Date.parse(outcome.expirationDateTime);
  if (Number.isNaN(expiresAt)) return;
  const renewed = ["created", "renewed", "recreated"].includes(outcome.action);
  recordMetric("subscriptionExpiry", Math.round((expiresAt - now) / 1000), { renewed });
}
