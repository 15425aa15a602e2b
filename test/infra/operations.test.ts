// infra/modules/operations.bicep and infra/workbook.json: the action group, one scheduled query rule per
// alert of issue 12, the workbook loaded from JSON, and every query naming only metrics and log messages the
// code really emits (shared/telemetry/names.ts, and those names appear in the code that records them).
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LOG_EVENTS, METRICS } from "../../shared/telemetry/names.js";
import { at, find, literal, parseBicep, resourcesOfType, stringValue, syntaxErrors } from "./bicep.js";

const root = resolve(import.meta.dirname, "../..");
const ops = parseBicep(join(root, "infra/modules/operations.bicep"));
const workbook = JSON.parse(readFileSync(join(root, "infra/workbook.json"), "utf8")) as { version: string; items: Array<{ type: number; name: string; content: { query?: string } }> };
const docs = readFileSync(join(root, "docs/operations.md"), "utf8");

interface AlertDef { name: string; displayName: string; severity: number; frequency: string; window: string; query: string; autoMitigate?: boolean; mute?: string }

/** The alerts array; a query wrapped in replace('''…''', …) is read from its first argument. */
function alertDefinitions(): AlertDef[] {
  const array = find(ops, "var", "alerts").value!;
  return array.namedChildren.filter((n) => n.type === "object").map((obj) => {
    const plain = literal(obj) as Record<string, unknown>;
    const queryNode = at(obj, "query")!;
    let query = stringValue(queryNode);
    if (query === undefined) {
      const firstString = (n: typeof queryNode): typeof queryNode | undefined =>
        n.type === "string" ? n : n.namedChildren.map(firstString).find((c) => c !== undefined);
      query = stringValue(firstString(queryNode)!)!;
    }
    return { ...(plain as unknown as AlertDef), query };
  });
}

const metricNames = new Set(Object.values(METRICS).map((m) => m.name));

/** Metric names (`name == "…"`, `name in (…)`) and log messages (`message has "…"`) a query refers to. */
function referencedNames(query: string): { metrics: string[]; messages: string[] } {
  const metrics = new Set<string>();
  for (const m of query.matchAll(/name\s*==\s*"([^"]+)"/g)) metrics.add(m[1]!);
  for (const m of query.matchAll(/name\s+in\s*\(([^)]*)\)/g)) for (const q of m[1]!.matchAll(/"([^"]+)"/g)) metrics.add(q[1]!);
  const messages = [...query.matchAll(/message\s+has\s+"([^"]+)"/g)].map((m) => m[1]!);
  return { metrics: [...metrics], messages };
}

/** The shared/ and functions/ sources, to check each name is really recorded somewhere. */
const sources = ["shared", "functions"].flatMap((dir) => listTs(join(root, dir))).map((f) => readFileSync(f, "utf8")).join("\n");
function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? listTs(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []);
}
const metricKeyOf = (name: string) => Object.entries(METRICS).find(([, m]) => m.name === name)?.[0];
const logKeyOf = (message: string) => Object.entries(LOG_EVENTS).find(([, m]) => m === message)?.[0];

describe("operations Bicep", () => {
  it("parses, with an action group whose e-mail is a parameter", () => {
    expect(syntaxErrors(ops)).toEqual([]);
    const [group] = resourcesOfType(ops, "Microsoft.Insights/actionGroups");
    expect(group).toBeDefined();
    expect(at(group!.value, "properties.emailReceivers")?.text).toContain("alertEmail");
    expect(find(ops, "param", "alertEmail")).toBeDefined();
  });

  it("one scheduled query rule per alert of the issue, each sent to the action group with its runbook", () => {
    const names = alertDefinitions().map((a) => a.name);
    expect(names.sort()).toEqual(["audit-failure", "poison-queue", "remap-stuck", "subscription-expiring", "sync-backing-off", "sync-halted", "sync-no-success", "telemetry-silent", "token-refusal-spike"]);
    const [rules] = resourcesOfType(ops, "Microsoft.Insights/scheduledQueryRules");
    expect(rules!.value!.type).toBe("for_statement");
    expect(rules!.value!.text).toContain("actionGroup.id");
    expect(rules!.value!.text).toContain("appInsights.id");
    for (const name of names) expect(docs, `runbook for ${name}`).toContain(`<a id="${name}"></a>`);
  });

  it("every alert query names only metrics and log messages the code emits", () => {
    for (const alert of alertDefinitions()) {
      if (alert.name === "telemetry-silent") continue; // reads everything: below
      const { metrics, messages } = referencedNames(alert.query);
      expect(metrics.length + messages.length, alert.name).toBeGreaterThan(0);
      for (const metric of metrics) {
        expect(metricNames.has(metric), `${alert.name}: ${metric} is not in shared/telemetry/names.ts`).toBe(true);
        const key = metricKeyOf(metric)!;
        expect(sources, `${alert.name}: nothing records ${key}`).toMatch(new RegExp(`recordMetric\\("${key}"`));
      }
      for (const message of messages) {
        const key = logKeyOf(message);
        expect(key, `${alert.name}: "${message}" is not in LOG_EVENTS`).toBeDefined();
        expect(sources, `${alert.name}: nothing logs LOG_EVENTS.${key}`).toContain(`LOG_EVENTS.${key}`);
      }
      // The runbook shows the same query.
      expect(docs.replace(/\s+/g, " "), `docs show the ${alert.name} query`).toContain(alert.query.split("\n").find((l) => l.includes("bridge.") || l.includes("message has"))!.trim().replace(/\s+/g, " "));
    }
  });

  it("an alert fires when the app sends no telemetry at all, and neither it nor no-success resolves itself when telemetry stops", () => {
    const alerts = new Map(alertDefinitions().map((a) => [a.name, a]));
    const silent = alerts.get("telemetry-silent")!;
    expect(silent.query).toMatch(/^union requests, traces, customMetrics\n\| where timestamp > ago\(\{silence\}m\)\n\| count\n\| where Count == 0/m);
    for (const name of ["telemetry-silent", "sync-no-success"]) {
      expect(alerts.get(name)!.autoMitigate, name).toBe(false);
      expect(alerts.get(name)!.mute, name).toMatch(/^PT\d+H$/);
    }
    for (const alert of alerts.values()) if (alert.name !== "telemetry-silent" && alert.name !== "sync-no-success") expect(alert.autoMitigate, alert.name).toBeUndefined();
    const [rules] = resourcesOfType(ops, "Microsoft.Insights/scheduledQueryRules");
    expect(rules!.value!.text).toContain("autoMitigate: alert.?autoMitigate ?? true");
    expect(rules!.value!.text).toContain("muteActionsDuration: alert.?mute");
  });

  it("uses GA API versions only", () => {
    const files = readdirSync(join(root, "infra"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".bicep"));
    for (const file of files) {
      const versions = parseBicep(join(root, "infra", file)).declarations.filter((d) => d.kind === "resource").map((d) => d.target!);
      for (const version of versions) expect(version, file).toMatch(/@\d{4}-\d{2}-\d{2}$/);
    }
  });

  it("the workbook is loaded from infra/workbook.json and charts only emitted metrics", () => {
    const [wb] = resourcesOfType(ops, "Microsoft.Insights/workbooks");
    expect(at(wb!.value, "properties.serializedData")?.text).toBe("loadTextContent('../workbook.json')");
    expect(workbook.version).toBe("Notebook/1.0");
    const queries = workbook.items.filter((i) => i.type === 3).map((i) => i.content.query!);
    expect(queries.length).toBeGreaterThanOrEqual(8);
    for (const query of queries) for (const metric of referencedNames(query).metrics) expect(metricNames.has(metric), metric).toBe(true);
  });
});
