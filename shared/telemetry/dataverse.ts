// Telemetry of the Dataverse HTTP layer: one client span per logical request (retries inside it), a request
// count per attempt and status, 429s, and the waits before retries. The Dataverse request id
// (x-ms-service-request-id) goes on the span so a support case can name the exact request.
import { SpanKind, trace } from "@opentelemetry/api";
import { recordMetric } from "./metrics.js";
import { SPANS } from "./names.js";
import { withSpan } from "./tracing.js";

export function tracedDataverseRequest<T>(org: string, kind: string, method: string, send: () => Promise<T>): Promise<T> {
  return withSpan(`${SPANS.dataverseRequest} ${kind}`, { org, kind, method }, () => send(), SpanKind.CLIENT);
}

/** One HTTP attempt answered (`status` 0: no answer, a network error). */
export function dataverseAttempt(org: string, kind: string, status: number, headers: Record<string, string>): void {
  recordMetric("dataverseRequests", 1, { org, kind, status });
  if (status === 429) recordMetric("dataverseThrottled", 1, { org });
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute("http.response.status_code", status);
  const requestId = headers["x-ms-service-request-id"];
  if (requestId) span.setAttribute("bridge.dataverseRequestId", requestId.slice(0, 128));
}

/** A 429 inside a `$batch` answer's parts. */
export function dataverseThrottledPart(org: string): void {
  recordMetric("dataverseThrottled", 1, { org });
}

/** Records a wait before a retry; returns it so the caller can sleep on the same value. */
export function dataverseRetryWait(org: string, ms: number): number {
  recordMetric("retryWait", ms, { dependency: "dataverse", org });
  return ms;
}
