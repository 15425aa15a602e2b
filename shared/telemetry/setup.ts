// Starts OpenTelemetry once per process, before the functions run:
// - in Azure (APPLICATIONINSIGHTS_CONNECTION_STRING): the Azure Monitor distro, every span kept (no rate-limited
//   sampler), ingestion authenticated with the managed identity when APPLICATIONINSIGHTS_AUTHENTICATION_STRING
//   says Authorization=AAD, plus the Azure Functions instrumentation (invocation trace context, logs);
// - locally: OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT when set, else the console: one readable line per log
//   record, or (TELEMETRY_CONSOLE=full) every span, metric and log record as the SDK prints it;
// - tests: installTelemetry() with in-memory exporters.
import { createRequire } from "node:module";
import * as functionsLib from "@azure/functions";
import { context, metrics, propagation, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricReader } from "@opentelemetry/sdk-metrics";
import { BatchLogRecordProcessor, ConsoleLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from "@opentelemetry/sdk-logs";
// A webpack-built CommonJS module: Node's ESM loader sees no named exports in it, only the default.
import functionsInstrumentationModule from "@azure/functions-opentelemetry-instrumentation";
import type { TokenCredential } from "@azure/identity";
import { disableSdkStats, telemetryTarget, type TelemetryTarget } from "../config/telemetry-settings.js";
import { BRIDGE_VERSION } from "../version.js";
import { processTelemetry, type Telemetry } from "./process.js";
import { droppingMetricExporter, droppingSpanExporter, ReadableLogExporter } from "./readable-log-exporter.js";

export type { Telemetry } from "./process.js";

export interface TelemetryExporters {
  spans: SpanExporter;
  metrics: MetricReader;
  logs?: LogRecordExporter;
  /** Export each span as it ends (tests) instead of in batches. */
  immediate?: boolean;
}

const SERVICE = { "service.name": "identity-bridge", "service.version": BRIDGE_VERSION };

const state = processTelemetry; // process-wide by nature: see process.ts

/** The telemetry this process runs with, started on first call (app start calls it first). */
export async function startTelemetry(target: TelemetryTarget = telemetryTarget()): Promise<Telemetry | undefined> {
  if (state.current) return state.current;
  if (target.kind === "off") return undefined;
  if (target.kind === "azure-monitor") state.current = await startAzureMonitor(target);
  else if (target.kind === "otlp") state.current = await startOtlp(target.endpoint);
  else state.current = installTelemetry(consoleExporters(target), "console");
  return state.current;
}

/** The console: readable log lines (spans and metrics dropped), or with TELEMETRY_CONSOLE=full everything the SDK prints. */
function consoleExporters(target: Extract<TelemetryTarget, { kind: "console" }>): TelemetryExporters {
  if (target.warning) console.warn(target.warning);
  if (target.detail === "full") {
    return { spans: new ConsoleSpanExporter(), logs: new ConsoleLogRecordExporter(), metrics: new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 }) };
  }
  return { spans: droppingSpanExporter(), logs: new ReadableLogExporter(), metrics: new PeriodicExportingMetricReader({ exporter: droppingMetricExporter(), exportIntervalMillis: 3_600_000 }) };
}

/** Installs the SDK with the given exporters as the global providers (tests: in-memory exporters). */
export function installTelemetry(exporters: TelemetryExporters, target: Telemetry["target"] = "custom"): Telemetry {
  if (state.current) throw new Error("telemetry is already installed; shut it down first");
  const resource = resourceFromAttributes(SERVICE);
  const spanProcessor = exporters.immediate ? new SimpleSpanProcessor(exporters.spans) : new BatchSpanProcessor(exporters.spans);
  const tracerProvider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  tracerProvider.register({ propagator: new W3CTraceContextPropagator() });
  const meterProvider = new MeterProvider({ resource, readers: [exporters.metrics] });
  metrics.setGlobalMeterProvider(meterProvider);
  const logProcessor = exporters.logs && (exporters.immediate ? new SimpleLogRecordProcessor({ exporter: exporters.logs }) : new BatchLogRecordProcessor({ exporter: exporters.logs }));
  const loggerProvider = logProcessor ? new LoggerProvider({ resource, processors: [logProcessor] }) : undefined;
  if (loggerProvider) logs.setGlobalLoggerProvider(loggerProvider);
  registerFunctionsInstrumentation();
  const installed: Telemetry = {
    target,
    flush: async () => {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush(), loggerProvider?.forceFlush()]);
    },
    shutdown: async () => {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider?.shutdown()]);
      trace.disable();
      metrics.disable();
      logs.disable();
      propagation.disable();
      context.disable();
      if (state.current === installed) state.current = undefined;
    },
  };
  state.current = installed;
  return installed;
}

async function startOtlp(endpoint: string): Promise<Telemetry> {
  const [{ OTLPTraceExporter }, { OTLPMetricExporter }] = await Promise.all([
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/exporter-metrics-otlp-http"),
  ]);
  return installTelemetry({
    spans: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }),
    metrics: new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${endpoint}/v1/metrics` }), exportIntervalMillis: 15_000 }),
  }, "otlp");
}

async function startAzureMonitor(target: Extract<TelemetryTarget, { kind: "azure-monitor" }>): Promise<Telemetry> {
  if (!target.publicIngestion) {
    // An overridden ingestion endpoint means nothing may contact a public Microsoft host: SDK stats would.
    disableSdkStats();
  }
  const { useAzureMonitor, shutdownAzureMonitor } = await import("@azure/monitor-opentelemetry");
  const credential = target.aad ? await ingestionCredential(target) : undefined;
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString: target.connectionString, ...(credential ? { credential } : {}) },
    resource: resourceFromAttributes(SERVICE),
    // The default rate-limited sampler (5 traces/s) drops spans of short runs; keep every span.
    samplingRatio: 1,
    tracesPerSecond: 0,
    enableLiveMetrics: false,
    instrumentationOptions: { http: { enabled: true }, azureSdk: { enabled: true } },
  });
  registerFunctionsInstrumentation();
  const installed: Telemetry = {
    target: "azure-monitor",
    flush: async () => {
      await Promise.all([(trace.getTracerProvider() as { forceFlush?: () => Promise<void> }).forceFlush?.(), (metrics.getMeterProvider() as { forceFlush?: () => Promise<void> }).forceFlush?.()]);
    },
    shutdown: async () => {
      await shutdownAzureMonitor();
      if (state.current === installed) state.current = undefined;
    },
  };
  return installed;
}

/** The managed identity (AAD ingestion); ClientId= in the authentication string names a user-assigned one. */
async function ingestionCredential(target: Extract<TelemetryTarget, { kind: "azure-monitor" }>): Promise<TokenCredential> {
  const { ManagedIdentityCredential, DefaultAzureCredential } = await import("@azure/identity");
  const clientId = target.aadClientId ?? target.managedIdentityClientId;
  if (clientId) return new ManagedIdentityCredential({ clientId });
  return new DefaultAzureCredential();
}

const { AzureFunctionsInstrumentationESM } = functionsInstrumentationModule;

/**
 * Invocation trace context and context.log → OpenTelemetry logs. The hooks are registered once per process
 * (setup is locked after app start); a later install only points them at its logger provider. Skipped outside
 * a Functions worker (plain unit tests), where @azure/functions would only warn about test mode.
 */
function registerFunctionsInstrumentation(): void {
  if (!state.functionsHooks) {
    if (!insideFunctionsWorker()) return;
    state.functionsHooks = new AzureFunctionsInstrumentationESM();
    try {
      state.functionsHooks.registerAzFunc(functionsLib);
    } catch {
      // Setup is locked once the app has started: the hooks cannot be added any more.
    }
  }
  state.functionsHooks.setLoggerProvider(logs.getLoggerProvider() as never);
}

function insideFunctionsWorker(): boolean {
  try {
    createRequire(import.meta.url)("@azure/functions-core");
    return true;
  } catch {
    return false;
  }
}
