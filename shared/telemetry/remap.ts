// The recovery pass as a span, and the remap gauges it yields: remaps open between their two steps when the
// pass began, and those still open after it (stuck: a person has to look).
import { recoverRemaps, type RecoveryDeps, type RecoveryReport } from "../remap/recovery.js";
import { recordMetric } from "./metrics.js";
import { SPANS } from "./names.js";
import { withSpan } from "./tracing.js";

export function recoverRemapsTraced(deps: RecoveryDeps): Promise<RecoveryReport> {
  return withSpan(SPANS.remapRecovery, {}, async (span) => {
    const report = await recoverRemaps(deps);
    span.setAttribute("bridge.count", report.examined);
    recordMetric("remapOpen", report.examined);
    recordMetric("remapStuck", report.stillOpen);
    return report;
  });
}
