// Notification-to-run latency: from the queue message's insertion (the first change notification of a debounce
// window) to the start of the run it triggers, debounce included. A message put back because a run was in
// progress is a new message, so its latency counts from the retry.
import type { NotificationServices } from "../notifications/services.js";
import { recordMetric } from "./metrics.js";

export function withRunStartLatency<T extends Pick<NotificationServices, "syncRuns">>(services: T, insertedAt: unknown, now: () => number = Date.now): T {
  const inserted = insertedAt instanceof Date ? insertedAt.getTime() : typeof insertedAt === "string" ? Date.parse(insertedAt) : Number.NaN;
  if (Number.isNaN(inserted)) return services;
  const runs = services.syncRuns;
  const start: typeof runs.start = async (input) => {
    const report = await runs.start(input);
    recordMetric("notificationLatency", Math.max(0, now() - inserted), { org: report.org });
    return report;
  };
  return { ...services, syncRuns: Object.assign(Object.create(runs) as typeof runs, { start }) };
}
