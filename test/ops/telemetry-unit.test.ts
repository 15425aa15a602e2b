// Pure pieces of the telemetry: where it goes (settings), what an attribute may carry, the log line format,
// trace context in and out of queue messages, metric recording against whatever provider is installed.
import { afterEach, describe, expect, it } from "vitest";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { telemetryTarget } from "../../shared/config/telemetry-settings.js";
import { safeAttributes, spanAttributes } from "../../shared/telemetry/attributes.js";
import { formatLine, invocationLogger } from "../../shared/telemetry/logger.js";
import { METRICS } from "../../shared/telemetry/names.js";
import { recordMetric } from "../../shared/telemetry/metrics.js";
import { installTelemetry, type Telemetry } from "../../shared/telemetry/setup.js";
import { traceCarrier, withRemoteParent, withSpan } from "../../shared/telemetry/tracing.js";
import { recordSubscriptionExpiry } from "../../shared/telemetry/subscription.js";
import { graphOperation } from "../../shared/telemetry/graph.js";
import { withRunStartLatency } from "../../shared/telemetry/notifications.js";

const CS = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/";

describe("telemetryTarget", () => {
  it("Azure Monitor with managed-identity ingestion when the authentication string says AAD", () => {
    expect(telemetryTarget({ APPLICATIONINSIGHTS_CONNECTION_STRING: CS, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "ClientId=abc;Authorization=AAD" }))
      .toMatchObject({ kind: "azure-monitor", aad: true, aadClientId: "abc", publicIngestion: true });
    expect(telemetryTarget({ APPLICATIONINSIGHTS_CONNECTION_STRING: CS })).toMatchObject({ kind: "azure-monitor", aad: false });
  });

  it("an overridden ingestion endpoint is not public (statsbeat goes off)", () => {
    const target = telemetryTarget({ APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=x;IngestionEndpoint=https://127.0.0.1:9443/" });
    expect(target).toMatchObject({ kind: "azure-monitor", publicIngestion: false });
  });

  it("OTLP when its endpoint is set, the console otherwise, nothing when disabled", () => {
    expect(telemetryTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/" })).toEqual({ kind: "otlp", endpoint: "http://127.0.0.1:4318" });
    expect(telemetryTarget({})).toEqual({ kind: "console", detail: "lines" });
    expect(telemetryTarget({ TELEMETRY_CONSOLE: "full" })).toEqual({ kind: "console", detail: "full" });
    expect(telemetryTarget({ TELEMETRY_CONSOLE: "verbose" })).toMatchObject({ kind: "console", detail: "lines", warning: expect.stringContaining('TELEMETRY_CONSOLE must be "lines" or "full"') });
    expect(telemetryTarget({ OTEL_SDK_DISABLED: "true", APPLICATIONINSIGHTS_CONNECTION_STRING: CS })).toEqual({ kind: "off" });
  });
});

describe("attributes and log lines", () => {
  it("keep only the listed keys, capped, so a token or secret passed by mistake never goes out", () => {
    const attrs = safeAttributes({ org: "https://x", runId: "r", access_token: "eyJ.secret", clientState: "s3cret", password: "p", caller: "c".repeat(400) });
    expect(Object.keys(attrs).sort()).toEqual(["caller", "org", "runId"]);
    expect(String(attrs.caller)).toHaveLength(256);
    expect(spanAttributes({ org: "o", token: "t" })).toEqual({ "bridge.org": "o" });
  });

  it("a log line carries its attributes as key=value; the invocation logger merges its base", () => {
    expect(formatLine("sync run succeeded", { org: "o", runId: "r", secret: "x" })).toBe("sync run succeeded {org=o, runId=r}");
    const lines: string[] = [];
    const sink = { log: (m: unknown) => lines.push(`I ${m}`), warn: (m: unknown) => lines.push(`W ${m}`), error: (m: unknown) => lines.push(`E ${m}`) };
    invocationLogger(sink, { org: "o" }).with({ runId: "r" }).warn("halted", { count: 3 });
    expect(lines).toEqual(["W halted {org=o, runId=r, count=3}"]);
  });

  it("graph operations are bounded: ids and UPNs leave the path", () => {
    expect(graphOperation("https://graph.microsoft.com/v1.0/users/delta?$select=id")).toBe("users/delta");
    expect(graphOperation("https://graph.microsoft.com/v1.0/users/8f1f2c6e-1111-2222-3333-444455556666")).toBe("users");
    expect(graphOperation("https://graph.microsoft.com/v1.0/users/ann%40contoso.com")).toBe("users");
  });
});

describe("with the SDK installed", () => {
  let telemetry: Telemetry | undefined;
  let spans: InMemorySpanExporter;
  let metrics: InMemoryMetricExporter;
  afterEach(async () => { await telemetry?.shutdown(); telemetry = undefined; });
  /** Fresh exporters each time: a provider's shutdown stops its exporters. */
  const install = () => {
    spans = new InMemorySpanExporter();
    metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    telemetry = installTelemetry({ spans, metrics: new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 }), immediate: true });
  };

  it("a queue message's traceparent makes the worker's span a child of the sender's", async () => {
    install();
    let carrier = {};
    await withSpan("sender", {}, async () => { carrier = traceCarrier(); });
    expect(carrier).toMatchObject({ traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) });
    await withRemoteParent(carrier, () => withSpan("worker", {}, async () => undefined));
    const [sender, worker] = spans.getFinishedSpans();
    expect(worker!.spanContext().traceId).toBe(sender!.spanContext().traceId);
    expect(worker!.parentSpanContext?.spanId).toBe(sender!.spanContext().spanId);
  });

  it("a malformed traceparent is ignored: the worker starts its own trace", async () => {
    install();
    await withRemoteParent({ traceparent: "00-not-a-trace" }, () => withSpan("worker", {}, async () => undefined));
    expect(spans.getFinishedSpans()[0]!.parentSpanContext).toBeUndefined();
  });

  it("a throwing span records the error status", async () => {
    install();
    await expect(withSpan("fails", {}, async () => { throw new Error("boom"); })).rejects.toThrow("boom");
    expect(spans.getFinishedSpans()[0]!.status).toMatchObject({ code: 2, message: "boom" });
  });

  it("metrics go to the provider installed now (instruments follow a re-install), under their documented names", async () => {
    install();
    recordMetric("tokensRefused", 1, { caller: "c", reason: "invalid_client" });
    await telemetry!.shutdown();
    install();
    recordMetric("tokensRefused", 2, { caller: "c", reason: "invalid_client" });
    recordSubscriptionExpiry({ action: "verified", expirationDateTime: new Date(Date.now() + 3_600_000).toISOString() });
    await telemetry!.flush();
    const all = metrics.getMetrics().at(-1)!.scopeMetrics.flatMap((s) => s.metrics);
    expect(all.find((m) => m.descriptor.name === METRICS.tokensRefused.name)!.dataPoints[0]!.value).toBe(2);
    const expiry = all.find((m) => m.descriptor.name === METRICS.subscriptionExpiry.name)!.dataPoints[0]!;
    expect(expiry.attributes).toEqual({ renewed: false });
    expect(Number(expiry.value)).toBeGreaterThan(3500);
  });

  it("notification-to-run latency counts from the message's insertion to the run's start", async () => {
    install();
    const services = { syncRuns: { start: async (input: { org?: string }) => ({ org: input.org ?? "o", runId: "r" }) } };
    const wrapped = withRunStartLatency(services as never, new Date(10_000), () => 12_500) as typeof services;
    await wrapped.syncRuns.start({ org: "https://org" });
    expect(withRunStartLatency(services as never, undefined)).toBe(services);
    await telemetry!.flush();
    const latency = metrics.getMetrics().at(-1)!.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === METRICS.notificationLatency.name)!;
    expect(latency.dataPoints[0]).toMatchObject({ attributes: { org: "https://org" }, value: { count: 1, sum: 2_500 } });
  });

  it("without an SDK nothing is recorded and nothing fails", async () => {
    expect(trace.getActiveSpan()).toBeUndefined();
    recordMetric("runs", 1, { org: "o", outcome: "succeeded" });
    await expect(withSpan("noop", {}, async () => 42)).resolves.toBe(42);
  });
});
