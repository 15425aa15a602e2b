// The one piece of process-wide state in shared/: OpenTelemetry's providers are process globals by design
// (trace.setGlobalTracerProvider, metrics.setGlobalMeterProvider, the Functions worker's invocation hooks), so
// what the bridge remembers about them belongs to the process, not to a bridge: two bridges in one process (a
// test's and the adapters') export through the same providers. Everything else lives in shared/bridge.ts.
import type { Counter, Gauge, Histogram, MeterProvider } from "@opentelemetry/api";
import type functionsInstrumentationModule from "@azure/functions-opentelemetry-instrumentation";
import type { TelemetryTarget } from "../config/telemetry-settings.js";

export interface Telemetry {
  target: TelemetryTarget["kind"] | "custom";
  /** Exports what is buffered (tests, benchmarks, before a process exits). */
  flush(): Promise<void>;
  /** Flushes, stops the providers and removes the global registrations. */
  shutdown(): Promise<void>;
}

class ProcessTelemetry {
  /** The installed providers (setup.ts): started once, at app start. */
  current: Telemetry | undefined;
  /** The Functions worker hooks (registered once per process: setup is locked after app start). */
  functionsHooks: InstanceType<typeof functionsInstrumentationModule.AzureFunctionsInstrumentationESM> | undefined;
  /** Metric instruments of the MeterProvider installed now (metrics.ts); rebuilt when another is installed. */
  instruments: { provider: MeterProvider; byKey: Map<string, Counter | Histogram | Gauge> } | undefined;
}

export const processTelemetry = new ProcessTelemetry();
