// The console's log records for people (`npm start`): one line each — time, level, message and a few attributes —
// instead of whole OpenTelemetry objects. TELEMETRY_CONSOLE=full brings back the SDK's console exporters.
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from "@opentelemetry/core";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { PushMetricExporter } from "@opentelemetry/sdk-metrics";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

/** Attributes shown on a line, at most; each value cut to ATTRIBUTE_CHARS. */
const MAX_ATTRIBUTES = 4;
const ATTRIBUTE_CHARS = 80;
const MESSAGE_CHARS = 500;

const LEVELS: Array<[number, string]> = [[21, "FATAL"], [17, "ERROR"], [13, "WARN "], [9, "INFO "], [5, "DEBUG"], [0, "TRACE"]];

const LEVEL_TEXTS: Array<[RegExp, string]> = [[/^(fatal|crit)/i, "FATAL"], [/^err/i, "ERROR"], [/^warn/i, "WARN "], [/^(debug|verbose)/i, "DEBUG"], [/^trace/i, "TRACE"]];

function level(record: ReadableLogRecord): string {
  const n = record.severityNumber ?? 0;
  if (n > 0) return LEVELS.find(([min]) => n >= min)![1];
  return LEVEL_TEXTS.find(([re]) => re.test(record.severityText ?? ""))?.[1] ?? "INFO ";
}

function text(value: unknown, max: number): string {
  const s = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  const oneLine = s.replace(/\s*\n\s*/g, " ");
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** One record as one line: `02:20:56.187 INFO  message  key=value …`. */
export function formatLogLine(record: ReadableLogRecord): string {
  const time = new Date(hrTimeToMilliseconds(record.hrTime)).toISOString().slice(11, 23);
  const attributes = Object.entries(record.attributes ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
  const shown = attributes.slice(0, MAX_ATTRIBUTES).map(([k, v]) => `${k}=${text(v, ATTRIBUTE_CHARS)}`);
  if (attributes.length > MAX_ATTRIBUTES) shown.push(`(+${attributes.length - MAX_ATTRIBUTES})`);
  return [time, level(record), text(record.body ?? "", MESSAGE_CHARS), ...(shown.length ? [` ${shown.join(" ")}`] : [])].join(" ");
}

export class ReadableLogExporter implements LogRecordExporter {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    for (const record of records) this.write(formatLogLine(record));
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}

  async forceFlush(): Promise<void> {}
}

/** Spans are not printed in lines mode: this exporter drops them (nothing accumulates). */
export function droppingSpanExporter(): SpanExporter {
  return { export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }), shutdown: async () => {} };
}

/** Metrics are not printed in lines mode: this exporter drops them. */
export function droppingMetricExporter(): PushMetricExporter {
  return { export: (_metrics, done) => done({ code: ExportResultCode.SUCCESS }), forceFlush: async () => {}, shutdown: async () => {} };
}
