// The queue worker of QUEUES.notifications. A sync message (sent by the debounce, debounce.ts) starts an
// incremental run of its org unless its claim was superseded; when a run it did not see start holds the org it
// comes back later (that run may have read the directory before the change), backing off up to a minute. A lifecycle message schedules a sync of every org (changes may have
// been missed) and then renews or recreates the subscription.
import { isAnswerable } from "../errors/app-error.js";
import type { NotificationMessage } from "./messages.js";
import type { NotificationServices } from "./services.js";

/** A run in progress for longer than this many retries is left to the scheduled sync. */
const MAX_ATTEMPTS = 60;

type Deps = Pick<NotificationServices, "orgs" | "debouncer" | "syncRuns" | "subscriptions" | "log">;

export async function handleNotificationMessage(message: NotificationMessage, deps: Deps): Promise<string> {
  if (message.kind === "lifecycle") {
    await Promise.all(deps.orgs.map((org) => deps.debouncer.request(org)));
    const outcome = await deps.subscriptions.handleLifecycle(message.event, message.subscriptionId);
    return `${message.event} for ${message.subscriptionId}: subscription ${outcome.action}${outcome.reason ? ` (${outcome.reason})` : ""}; sync scheduled`;
  }
  const { org, claim } = message;
  const attempt = message.attempt ?? 0;
  // A run started since this message was sent (it reads after the notification), or a newer claim took over.
  if (!(await deps.debouncer.holds(org, claim))) return `superseded: a run of ${org} that covers this notification started or is queued`;
  try {
    const run = await deps.syncRuns.start({ org, mode: "incremental", trigger: "notification" });
    return `started run ${run.runId} for ${org}`;
  } catch (error) {
    if (!isAnswerable(error)) throw error;
    if (error.code === "run_in_progress") {
      if (attempt >= MAX_ATTEMPTS) return `gave up on ${org} after ${attempt} tries: a run is still in progress; the scheduled sync follows up`;
      const seconds = await deps.debouncer.retryLater(org, attempt, claim);
      return `a run for ${org} is in progress: trying again in ${seconds} s`;
    }
    // Halted (needs approval) or no longer configured: nothing a retry could change.
    if (error.code === "run_halted" || error.code === "unknown_org") {
      await deps.debouncer.release(org, claim);
      return `skipped ${org}: ${error.message}`;
    }
    throw error;
  }
}
