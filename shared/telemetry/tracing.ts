// Spans around the bridge's decisions, and the W3C trace context that travels in queue messages so one
// trace follows a sync run from the timer through the queue to the worker and its Dataverse calls.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import { TELEMETRY_SCOPE } from "./names.js";
import { spanAttributes } from "./attributes.js";
import { errorMessage, errorName } from "../errors/app-error.js";

/** The trace context fields a queue message may carry (W3C Trace Context). */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Runs `fn` inside a span; records an exception and error status when it throws. */
export async function withSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean | undefined>,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  const tracer = trace.getTracer(TELEMETRY_SCOPE);
  return tracer.startActiveSpan(name, { kind, attributes: spanAttributes(attributes) }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error).slice(0, 256) });
      span.recordException({ name: errorName(error), message: errorMessage(error).slice(0, 256) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes to the active span (if any), through the same key list as logs and metrics. */
export function annotateSpan(attributes: Record<string, string | number | boolean | undefined>): void {
  trace.getActiveSpan()?.setAttributes(spanAttributes(attributes as Attributes));
}

/** The active trace context, to put in an outgoing queue message. Empty when nothing is traced. */
export function traceCarrier(): TraceCarrier {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? { traceparent: carrier.traceparent, ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}) } : {};
}

/** Runs `fn` with a queue message's trace context as parent; a missing or malformed one is ignored. */
export function withRemoteParent<T>(carrier: TraceCarrier | undefined, fn: () => T): T {
  if (!carrier?.traceparent || !TRACEPARENT.test(carrier.traceparent)) return fn();
  const fields: Record<string, string> = { traceparent: carrier.traceparent };
  if (typeof carrier.tracestate === "string" && carrier.tracestate.length <= 512) fields.tracestate = carrier.tracestate;
  return context.with(propagation.extract(context.active(), fields), fn);
}
