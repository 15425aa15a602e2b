// Structured logging. Inside a function invocation, lines go through the InvocationContext, so the host (and
// in Azure the Functions OpenTelemetry instrumentation) ties them to the invocation's trace; attributes are
// appended as `key=value` and set on the active span. Work outside any invocation (a background token
// refresh) logs through the OpenTelemetry Logs API instead of the console.
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import { safeAttributes } from "./attributes.js";
import { annotateSpan } from "./tracing.js";
import { TELEMETRY_SCOPE } from "./names.js";

/** org, runId, caller, remapId, jobId, dataverseRequestId, …: see attributes.ts for the closed list. */
export type LogAttributes = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
  /** A logger that adds these attributes to every line. */
  with(attributes: LogAttributes): Logger;
}

/** What a logger needs of an InvocationContext. */
export interface LogSink {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

const MAX_MESSAGE = 2_000;

export function formatLine(message: string, attributes: LogAttributes): string {
  const pairs = Object.entries(safeAttributes(attributes)).map(([k, v]) => `${k}=${v}`);
  const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
  return pairs.length > 0 ? `${text} {${pairs.join(", ")}}` : text;
}

/** A logger writing through the invocation context. */
export function invocationLogger(context: LogSink, base: LogAttributes = {}): Logger {
  const write = (level: "log" | "warn" | "error") => (message: string, attributes: LogAttributes = {}) => {
    const all = { ...base, ...attributes };
    annotateSpan(all);
    context[level](formatLine(message, all));
  };
  return { info: write("log"), warn: write("warn"), error: write("error"), with: (more) => invocationLogger(context, { ...base, ...more }) };
}

/**
 * Where no InvocationContext reaches (use cases built once per process, background token refresh): OpenTelemetry
 * log records with the attributes as properties; the SDK stamps them with the active trace context, so a line
 * written during an invocation still correlates with it.
 */
export function backgroundLogger(base: LogAttributes = {}): Logger {
  const emit = (severityNumber: SeverityNumber, severityText: string) => (message: string, attributes: LogAttributes = {}) => {
    logs.getLogger(TELEMETRY_SCOPE).emit({ severityNumber, severityText, body: formatLine(message, {}), attributes: safeAttributes({ ...base, ...attributes }) });
  };
  return {
    info: emit(SeverityNumber.INFO, "INFO"),
    warn: emit(SeverityNumber.WARN, "WARN"),
    error: emit(SeverityNumber.ERROR, "ERROR"),
    with: (more) => backgroundLogger({ ...base, ...more }),
  };
}

/** Adapts a Logger to the `(line) => void` shape older ports take. */
export const lineLog = (logger: Logger, attributes: LogAttributes = {}) => (line: string) => logger.info(line, attributes);

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, with: () => silentLogger };
