// Telemetry of a token issuance: one span with a child per step (client authentication, org token cache,
// audit), tokens issued per caller and org, refusals per caller and reason, audit write failures.
import { isOAuthError } from "../tokens/oauth-errors.js";
import { recordMetric } from "./metrics.js";
import { SPANS } from "./names.js";
import { withSpan } from "./tracing.js";

interface IssuanceProgress {
  caller?: string;
  method?: string;
  target?: string;
}

/** Runs an issuance in its span and counts its outcome. */
export function tokenIssuance<T>(progress: IssuanceProgress, issue: () => Promise<T>): Promise<T> {
  return withSpan(SPANS.tokenIssue, {}, async (span) => {
    try {
      const result = await issue();
      span.setAttributes({ "bridge.caller": progress.caller ?? "unknown", "bridge.org": progress.target ?? "" });
      recordMetric("tokensIssued", 1, { caller: progress.caller ?? "unknown", org: progress.target });
      return result;
    } catch (error) {
      const reason = isOAuthError(error) ? error.reason ?? error.code : "error";
      // Only an authenticated caller id becomes a dimension: a claimed one is any string a stranger sends.
      const caller = progress.method || progress.target ? progress.caller ?? "unknown" : "unauthenticated";
      span.setAttributes({ "bridge.caller": caller, "bridge.reason": String(reason).slice(0, 64) });
      recordMetric("tokensRefused", 1, { caller, reason: String(reason).slice(0, 64) });
      throw error;
    }
  });
}

/** One step of the issuance as a child span (policy decisions are instantaneous and stay on the parent). */
export function tokenStep<T>(step: "client_auth" | "cache" | "audit", run: () => Promise<T>): Promise<T> {
  return withSpan(`${SPANS.tokenIssue}.${step}`, { step }, () => run());
}

export function tokenAuditFailed(): void {
  recordMetric("auditWriteFailures", 1, { log: "token" });
}
