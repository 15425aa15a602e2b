// Telemetry of a token issuance: one span, with an event per step (client authentication, org token cache,
// audit) carrying the step's duration; tokens issued per caller and org, refusals per caller and reason, audit
// write failures. The token endpoint is the hot path (thousands a second): the span is not made the active
// context and the steps are events, not child spans, which keeps telemetry within its 10 % budget (bench:token).
import { SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { isOAuthError } from "../tokens/oauth-errors.js";
import { recordMetric } from "./metrics.js";
import { SPANS, TELEMETRY_SCOPE } from "./names.js";

interface IssuanceProgress {
  caller?: string;
  method?: string;
  target?: string;
}

/** Runs an issuance in its span and counts its outcome. */
export async function tokenIssuance<T>(progress: IssuanceProgress, issue: () => Promise<T>): Promise<T> {
  const span = trace.getTracer(TELEMETRY_SCOPE).startSpan(SPANS.tokenIssue);
  // A span that is not recorded (telemetry off, or not sampled) gets no steps and no attributes built for it.
  const recording = span.isRecording();
  if (recording) (progress as Traced)[ISSUE_SPAN] = span;
  try {
    const result = await issue();
    if (recording) span.setAttributes({ "bridge.caller": progress.caller ?? "unknown", "bridge.org": progress.target ?? "" });
    recordMetric("tokensIssued", 1, { caller: progress.caller ?? "unknown", org: progress.target });
    return result;
  } catch (error) {
    const reason = String(isOAuthError(error) ? error.reason ?? error.code : "error").slice(0, 64);
    // Only an authenticated caller id becomes a dimension: a claimed one is any string a stranger sends.
    const caller = progress.method || progress.target ? progress.caller ?? "unknown" : "unauthenticated";
    recordMetric("tokensRefused", 1, { caller, reason });
    if (recording) {
      span.setAttributes({ "bridge.caller": caller, "bridge.reason": reason });
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    }
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Each request's span rides on its progress record under a private symbol (no context switch: see above). Not a
 * WeakMap keyed by the record: one ephemeron per request is work for every garbage collection.
 */
const ISSUE_SPAN = Symbol("bridge.tokens.issueSpan");
interface Traced { [ISSUE_SPAN]?: Span }

/**
 * One step of the issuance as an event on its span, with the step's duration and outcome. Chained, not awaited in
 * an async wrapper: one promise per step instead of two (the token endpoint's promises are its hot path's cost).
 */
export function tokenStep<T>(progress: object, step: TokenStepName, run: () => Promise<T>): Promise<T> {
  const span = (progress as Traced)[ISSUE_SPAN];
  if (!span?.isRecording()) return run();
  const started = performance.now();
  let running: Promise<T>;
  try {
    running = run();
  } catch (error) {
    stepEvent(span, step, "error", started);
    return Promise.reject(error as Error);
  }
  return running.then((result) => {
    stepEvent(span, step, "ok", started);
    return result;
  }, (error: unknown) => {
    stepEvent(span, step, "error", started);
    throw error;
  });
}

type TokenStepName = "client_auth" | "cache" | "audit";

/** Event names built once, not per step of every request. */
const STEP_EVENTS: Record<TokenStepName, string> = {
  client_auth: `${SPANS.tokenIssue}.client_auth`, cache: `${SPANS.tokenIssue}.cache`, audit: `${SPANS.tokenIssue}.audit`,
};

function stepEvent(span: Span, step: TokenStepName, outcome: "ok" | "error", started: number): void {
  span.addEvent(STEP_EVENTS[step], { "bridge.step": step, "bridge.outcome": outcome, "bridge.durationMs": Math.round((performance.now() - started) * 100) / 100 });
}

export function tokenAuditFailed(): void {
  recordMetric("auditWriteFailures", 1, { log: "token" });
}
