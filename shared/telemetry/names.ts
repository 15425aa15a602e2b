// Every metric and span name the bridge emits, in one list. Names are stable: alerts (infra/alerts.bicep),
// the workbook and docs/operations.md query them, and test/infra checks each query names one of these.

export type MetricKind = "counter" | "histogram" | "gauge";

export interface MetricDefinition {
  name: string;
  kind: MetricKind;
  unit: string;
  description: string;
  /** Attribute keys it carries (customDimensions in Application Insights). */
  attributes: readonly string[];
}

const metric = (name: string, kind: MetricKind, unit: string, attributes: readonly string[], description: string): MetricDefinition =>
  ({ name, kind, unit, attributes, description });

export const METRICS = {
  usersChanged: metric("bridge.sync.users_changed", "counter", "{user}", ["org", "action"], "systemusers changed, per action (create, update, enable, disable, remap)"),
  runs: metric("bridge.sync.runs", "counter", "{run}", ["org", "outcome"], "finished sync runs, per outcome (succeeded, halted, failed)"),
  runDuration: metric("bridge.sync.run.duration", "histogram", "s", ["org", "outcome"], "wall time of a sync run"),
  cursorAge: metric("bridge.sync.cursor_age_s", "gauge", "s", ["org"], "age of the org's saved delta cursor, recorded at each run end and fan-out"),
  halted: metric("bridge.sync.halted", "counter", "{run}", ["org"], "runs halted by the disable threshold"),
  backingOff: metric("bridge.sync.backing_off", "counter", "{skip}", ["org"], "fan-outs that skipped an org because it is backing off after failures"),
  dataverseRequests: metric("bridge.dataverse.requests", "counter", "{request}", ["org", "kind", "status"], "Dataverse HTTP requests (each attempt), per status (0 = network error)"),
  dataverseThrottled: metric("bridge.dataverse.throttled", "counter", "{response}", ["org"], "Dataverse 429 answers (service protection), in $batch parts too"),
  retryWait: metric("bridge.retry.wait_ms", "histogram", "ms", ["dependency", "org"], "time waited before a retry (Retry-After or back-off)"),
  graphRequests: metric("bridge.graph.requests", "counter", "{request}", ["operation", "status"], "Microsoft Graph calls, per status"),
  graphThrottled: metric("bridge.graph.throttled", "counter", "{response}", ["operation"], "Microsoft Graph 429 answers"),
  remapOpen: metric("bridge.remap.open", "gauge", "{remap}", [], "remaps between their two steps, seen by the recovery timer"),
  remapStuck: metric("bridge.remap.stuck", "gauge", "{remap}", [], "remaps the recovery timer could not finish"),
  tokensIssued: metric("bridge.tokens.issued", "counter", "{token}", ["caller", "org"], "Dataverse tokens handed to S2S callers"),
  tokensRefused: metric("bridge.tokens.refused", "counter", "{request}", ["caller", "reason"], "token requests refused, per reason"),
  auditWriteFailures: metric("bridge.audit.write_failures", "counter", "{record}", ["log"], "audit records that could not be written (the issuance is refused)"),
  notificationLatency: metric("bridge.notifications.latency_ms", "histogram", "ms", ["org"], "change notification received → its run started"),
  poisonDepth: metric("bridge.queue.poison_depth", "gauge", "{message}", ["queue"], "messages in a poison queue, recorded by the sync timer"),
  subscriptionExpiry: metric("bridge.graph.subscription.expires_in_s", "gauge", "s", ["renewed"], "seconds until the Graph change-notification subscription expires, after each renewal attempt"),
  readyChecks: metric("bridge.ready.failures", "counter", "{check}", ["check", "cause"], "failed readiness checks"),
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/** Span names (operation names in Application Insights). */
export const SPANS = {
  syncFanOut: "bridge.sync.fan_out",
  syncRun: "bridge.sync.run",
  dataverseRequest: "dataverse",
  remapStep: "bridge.remap.step",
  remapRecovery: "bridge.remap.recovery",
  tokenIssue: "bridge.tokens.issue",
  ready: "bridge.ready",
} as const;

/** Log messages the alerts match on (kept here so infra tests can check them). */
export const LOG_EVENTS = {
  auditFailure: "audit write failed",
  runHalted: "sync run halted",
  subscriptionRenewFailed: "subscription renewal failed",
} as const;

export const TELEMETRY_SCOPE = "identity-bridge";
