// Records the bridge's metrics (names in names.ts). The OpenTelemetry metrics API has no proxy provider, so
// instruments are built from whichever MeterProvider is installed when first used, and rebuilt if a
// different one is installed later (tests install in-memory exporters after modules have loaded).
import { metrics, type Attributes, type Counter, type Gauge, type Histogram } from "@opentelemetry/api";
import { METRICS, TELEMETRY_SCOPE, type MetricKey } from "./names.js";
import { safeAttributes } from "./attributes.js";
import { processTelemetry } from "./process.js";

type Instrument = Counter | Histogram | Gauge;

const state = processTelemetry; // process-wide by nature: see process.ts

function instrument(key: MetricKey): Instrument {
  const provider = metrics.getMeterProvider();
  if (state.instruments?.provider !== provider) state.instruments = { provider, byKey: new Map() };
  let found = state.instruments.byKey.get(key);
  if (!found) {
    const def = METRICS[key];
    const meter = provider.getMeter(TELEMETRY_SCOPE);
    const options = { unit: def.unit, description: def.description };
    found = def.kind === "counter" ? meter.createCounter(def.name, options)
      : def.kind === "histogram" ? meter.createHistogram(def.name, options)
      : meter.createGauge(def.name, options);
    state.instruments.byKey.set(key, found);
  }
  return found;
}

/** Adds to a counter, records a histogram value or sets a gauge, whichever the metric is. */
export function recordMetric(key: MetricKey, value: number, attributes: Attributes = {}): void {
  if (!Number.isFinite(value)) return;
  const target = instrument(key);
  const attrs = safeAttributes(attributes);
  if (METRICS[key].kind === "counter") (target as Counter).add(value, attrs);
  else (target as Histogram | Gauge).record(value, attrs);
}
