// Telemetry on/off for the benchmarks (issue 12: telemetry costs at most 10 %). "On" installs the real SDK
// pipeline — batch span processor, periodic metric reader, log processor — with exporters that serialize every
// item as an exporter would and then drop it (nothing leaves the machine).
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { PushMetricExporter, ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { Telemetry } from "../../shared/telemetry/setup.js";

export interface ExportCounts { spans: number; metricExports: number; logs: number; bytes: number }

export async function installBenchTelemetry(): Promise<{ telemetry: Telemetry; counts: ExportCounts }> {
  const [{ installTelemetry }, { PeriodicExportingMetricReader, AggregationTemporality }] = await Promise.all([
    import("../../shared/telemetry/setup.js"),
    import("@opentelemetry/sdk-metrics"),
  ]);
  const counts: ExportCounts = { spans: 0, metricExports: 0, logs: 0, bytes: 0 };
  const ok = (done: (result: ExportResult) => void) => done({ code: 0 });
  const spans: SpanExporter = {
    export(items: ReadableSpan[], done) {
      counts.spans += items.length;
      counts.bytes += JSON.stringify(items.map((s) => ({ n: s.name, a: s.attributes, c: s.spanContext(), p: s.parentSpanContext, t: [s.startTime, s.endTime] }))).length;
      ok(done);
    },
    shutdown: async () => undefined,
  };
  const metrics: PushMetricExporter = {
    export(item: ResourceMetrics, done) {
      counts.metricExports++;
      counts.bytes += JSON.stringify(item.scopeMetrics).length;
      ok(done);
    },
    selectAggregationTemporality: () => AggregationTemporality.DELTA,
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  const logs: LogRecordExporter = {
    export(items: ReadableLogRecord[], done) {
      counts.logs += items.length;
      counts.bytes += JSON.stringify(items.map((r) => ({ b: r.body, a: r.attributes }))).length;
      ok(done);
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  const telemetry = installTelemetry({ spans, metrics: new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 5_000 }), logs });
  return { telemetry, counts };
}
