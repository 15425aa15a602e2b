// What may go into a span, metric or log attribute: a closed list of keys (never a token, secret or
// clientState, whatever a caller passes) and values capped in length.
import type { AttributeValue, Attributes } from "@opentelemetry/api";

const ALLOWED = new Set([
  "org", "runId", "caller", "remapId", "jobId", "dataverseRequestId", "clientRequestId", "action", "outcome",
  "reason", "kind", "status", "method", "dependency", "operation", "queue", "log", "check", "cause", "step",
  "mode", "trigger", "renewed", "grant", "count", "dryRun", "attempt", "durationMs",
]);

const MAX_VALUE = 256;

function capped(value: AttributeValue): AttributeValue {
  return typeof value === "string" && value.length > MAX_VALUE ? value.slice(0, MAX_VALUE) : value;
}

/** Drops keys outside the list (and undefined values); caps strings. */
export function safeAttributes(attributes: Attributes | Record<string, AttributeValue | undefined>): Attributes {
  const out: Attributes = {};
  // for…in over a plain object literal: no entries array per call (metrics are recorded on the token hot path).
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null || !ALLOWED.has(key) || !Object.hasOwn(attributes, key)) continue;
    out[key] = capped(value);
  }
  return out;
}

/** Span attributes carry the same keys under the `bridge.` namespace. */
export function spanAttributes(attributes: Attributes | Record<string, AttributeValue | undefined>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(safeAttributes(attributes))) out[`bridge.${key}`] = value;
  return out;
}
