// `npm start` prints log records as one readable line each (time, level, message, a few attributes), through the
// real OpenTelemetry logs SDK; spans and metrics are dropped unless TELEMETRY_CONSOLE=full.
import { SeverityNumber } from "@opentelemetry/api-logs";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { describe, expect, it } from "vitest";
import { ReadableLogExporter } from "../../shared/telemetry/readable-log-exporter.js";

function emit(records: Array<{ severityNumber?: SeverityNumber; severityText?: string; body: string; attributes?: Record<string, string | number> }>): string[] {
  const lines: string[] = [];
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: new ReadableLogExporter((line) => lines.push(line)) })] });
  const logger = provider.getLogger("test");
  for (const r of records) logger.emit({ ...r, timestamp: new Date("2026-12-07T02:20:56.187Z") });
  return lines;
}

describe("readable log lines", () => {
  it("one line: time, level, message and the attributes", () => {
    const [line] = emit([{ severityNumber: SeverityNumber.WARN, body: "sync: org throttled", attributes: { org: "https://contoso.crm.dynamics.com", retryAfterSeconds: 2 } }]);
    expect(line).toBe("02:20:56.187 WARN  sync: org throttled  org=https://contoso.crm.dynamics.com retryAfterSeconds=2");
  });

  it("levels from the severity number, else its text; multi-line messages and long values folded", () => {
    const lines = emit([
      { severityNumber: SeverityNumber.ERROR, body: "first\n  second" },
      { severityText: "information", body: "from the Functions host" },
      { severityNumber: SeverityNumber.INFO, body: "many", attributes: { a: "x".repeat(200), b: 1, c: 2, d: 3, e: 4, f: 5 } },
    ]);
    expect(lines[0]).toBe("02:20:56.187 ERROR first second");
    expect(lines[1]).toBe("02:20:56.187 INFO  from the Functions host");
    expect(lines[2]).toMatch(/^02:20:56\.187 INFO {2}many {2}a=x{79}… b=1 c=2 d=3 \(\+2\)$/);
    for (const line of lines) expect(line).not.toContain("\n");
  });
});
