// Every shipped KQL query compiles with Microsoft's Kusto parser against the Application Insights schema, and
// the runbooks print exactly the queries that are deployed (a comment must not swallow part of one).
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { bicepFiles, bicepQueries, fillPlaceholders, kqlDiagnostics, markdownQueries, normalizedQuery, workbookQueries } from "./kql.js";

const root = resolve(import.meta.dirname, "../..");
const bicep = bicepFiles(join(root, "infra")).flatMap(bicepQueries);
const workbook = workbookQueries(join(root, "infra/workbook.json"));
const docs = markdownQueries(join(root, "docs/operations.md"));

describe("KQL queries", () => {
  it.each([...bicep, ...workbook, ...docs].map((q) => [q.source.replace(`${root}/`, ""), q.query]))(
    "%s compiles without a diagnostic",
    (_source, query) => {
      expect(kqlDiagnostics(fillPlaceholders(query))).toEqual([]);
    },
  );

  it("finds the queries: every alert rule, every workbook chart, every runbook block", () => {
    expect(bicep.length).toBeGreaterThanOrEqual(9);
    expect(workbook.length).toBeGreaterThanOrEqual(8);
    expect(docs.length).toBe(bicep.length + workbook.length);
  });

  it("the runbooks show each deployed query as deployed (comments aside)", () => {
    const shown = new Set(docs.map((d) => normalizedQuery(d.query)));
    for (const q of [...bicep, ...workbook])
      expect(shown.has(normalizedQuery(q.query)), `${q.source} is printed in docs/operations.md`).toBe(true);
  });

  it("catches what Azure would refuse: keywords as names, unknown tables and columns, broken syntax", () => {
    // The subscription-expiring rule as it once was: `latest` and `last` are KQL keywords.
    const keywordNames = [
      'let latest = customMetrics | where name == "x" | project timestamp, value;',
      "let failed = traces | summarize failures = count(), last = max(timestamp) | project timestamp = last;",
      "union latest, failed",
    ].join("\n");
    expect(kqlDiagnostics(keywordNames)).not.toEqual([]);
    expect(kqlDiagnostics("customMetric | count")).toEqual([expect.stringContaining("customMetric")]);
    expect(kqlDiagnostics('customMetrics | where nmae == "x"')).toEqual([expect.stringContaining("nmae")]);
    expect(kqlDiagnostics("customMetrics | where name == ")).not.toEqual([]);
    expect(kqlDiagnostics("union requests, traces, customMetrics | where timestamp > ago(1h) | count | where Count == 0")).toEqual([]);
  });

  it("compares queries without their comments, and keeps // inside strings", () => {
    expect(normalizedQuery("traces\n| where a > 1 // why\n| count")).toBe("traces | where a > 1 | count");
    expect(normalizedQuery('traces | where url has "https://x"')).toBe('traces | where url has "https://x"');
    expect(normalizedQuery('traces\n| where timestamp > ago(1h)  // note and name == "x"')).not.toBe(
      normalizedQuery('traces\n| where timestamp > ago(1h) and name == "x"'),
    );
  });
});
