// Counts Microsoft Graph answers (each attempt, below the SDK's RetryHandler) per operation and status.
import type { Context, Middleware } from "@microsoft/microsoft-graph-client";
import { recordMetric } from "./metrics.js";

/** `users/delta`, `users`, `groups/members`, `subscriptions`: the path without ids or query, for a bounded dimension. */
export function graphOperation(url: string): string {
  let path: string;
  try { path = new URL(url).pathname; } catch { path = url.split("?")[0] ?? url; }
  return path.replace(/^\/(v1\.0|beta)\//, "").split("/").filter((seg) => seg && !/[0-9a-f]{8}-|@|%40|\d{3,}/i.test(seg)).slice(0, 3).join("/").slice(0, 64) || "root";
}

export class GraphTelemetryHandler implements Middleware {
  private next?: Middleware;

  async execute(context: Context): Promise<void> {
    const operation = graphOperation(typeof context.request === "string" ? context.request : context.request.url);
    try {
      await this.next!.execute(context);
    } catch (error) {
      recordMetric("graphRequests", 1, { operation, status: 0 });
      throw error;
    }
    const status = context.response?.status ?? 0;
    recordMetric("graphRequests", 1, { operation, status });
    if (status === 429) recordMetric("graphThrottled", 1, { operation });
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}
