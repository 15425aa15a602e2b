// Telemetry read back from in-memory exporters while the whole app runs on the local Functions host:
// one trace for a scheduled sync (timer → queue message → worker → Dataverse batches), the run's metric
// points, a token issuance's spans and metrics, and no secret or token in any attribute or log record.
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
installFunctionsCore(); // before anything loads @azure/functions, so functions register for real
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader, type DataPoint, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { InMemoryLogRecordExporter } from "@opentelemetry/sdk-logs";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import type { Telemetry } from "../../shared/telemetry/setup.js";
import { waitFor } from "../support/wait-for.js";

let env: BridgeEnvironment;
let host: LocalHost;
let telemetry: Telemetry;
const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const logs = new InMemoryLogRecordExporter();
const hostLog: string[] = [];
let adminToken: string;
const issuedTokens: string[] = [];

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1, seed: { users: 30, existingShare: 0.4 } });
  const { installTelemetry } = await import("../../shared/telemetry/setup.js");
  telemetry = installTelemetry({
    spans,
    metrics: new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 }),
    logs,
    immediate: true,
  });
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: (line) => hostLog.push(line) });
  adminToken = await env.sandbox.adminToken();
});
afterAll(async () => {
  await host?.close();
  await telemetry?.shutdown();
  await env?.stop();
});

const byName = (name: string) => spans.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** Every data point of a metric in the last export, with its attributes. */
async function points(name: string): Promise<Array<DataPoint<unknown>>> {
  await telemetry.flush();
  const last: ResourceMetrics | undefined = metricExporter.getMetrics().at(-1);
  return (last?.scopeMetrics ?? []).flatMap((s) => s.metrics).filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as Array<DataPoint<unknown>>);
}

describe("telemetry of a scheduled sync run", () => {
  let org: string;
  let runId: string;

  it("the timer's fan-out, the queued worker and its Dataverse batches form one trace", async () => {
    org = env.sandbox.dataverse[0]!.org.url;
    await host.runTimer("directorySync");
    const [fanOut] = byName("bridge.sync.fan_out");
    expect(fanOut).toBeDefined();
    const run = await waitFor(async () => byName("bridge.sync.run").find((s) => s.spanContext().traceId === fanOut!.spanContext().traceId));
    runId = String(run.attributes["bridge.runId"]);
    expect(run.attributes["bridge.org"]).toBe(org);
    expect(run.attributes["bridge.outcome"]).toBe("succeeded");
    // The worker's span is a child of the fan-out: the context crossed the queue in the message.
    expect(parentOf(run)).toBe(fanOut!.spanContext().spanId);

    const inTrace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === run.spanContext().traceId);
    const ids = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    const descendsFromRun = (s: ReadableSpan): boolean => {
      for (let p = parentOf(s); p; p = parentOf(ids.get(p)!)) { if (p === run.spanContext().spanId) return true; if (!ids.has(p)) return false; }
      return false;
    };
    const batches = inTrace.filter((s) => s.name === "dataverse batch");
    expect(batches.length).toBeGreaterThan(0);
    for (const batch of batches) {
      expect(descendsFromRun(batch)).toBe(true);
      expect(batch.attributes["bridge.org"]).toBe(org);
      expect(batch.attributes["http.response.status_code"]).toBe(200);
    }
    expect(inTrace.filter((s) => s.name.startsWith("dataverse ") && s.name !== "dataverse batch").every(descendsFromRun)).toBe(true);
  });

  it("records the run's metric points", async () => {
    const runs = await points("bridge.sync.runs");
    expect(runs.find((p) => p.attributes.org === org && p.attributes.outcome === "succeeded")?.value).toBe(1);
    const changed = await points("bridge.sync.users_changed");
    const created = changed.find((p) => p.attributes.org === org && p.attributes.action === "created");
    const report = await (await fetch(`${host.url}/api/sync/runs/${runId}`, { headers: { authorization: `Bearer ${adminToken}` } })).json() as { counts: { created: number; updated: number } };
    expect(created?.value).toBe(report.counts.created);
    const duration = await points("bridge.sync.run.duration");
    expect((duration.find((p) => p.attributes.org === org)?.value as { count: number }).count).toBe(1);
    const requests = await points("bridge.dataverse.requests");
    expect(requests.some((p) => p.attributes.org === org && p.attributes.kind === "batch" && p.attributes.status === 200)).toBe(true);
    expect((await points("bridge.sync.cursor_age_s")).some((p) => p.attributes.org === org)).toBe(true);
    expect((await points("bridge.queue.poison_depth")).map((p) => p.attributes.queue)).toContain("bridge-sync-org-poison");
  });

  it("log records of the worker's invocation carry the run's attributes and its trace", async () => {
    const records = logs.getFinishedLogRecords();
    const line = records.find((r) => String(r.body).includes(`runId=${runId}`));
    expect(line, JSON.stringify(records.map((r) => r.body))).toBeDefined();
    expect(String(line!.body)).toContain(`org=${org}`);
    const run = byName("bridge.sync.run").find((s) => s.attributes["bridge.runId"] === runId)!;
    expect(line!.spanContext?.traceId).toBe(run.spanContext().traceId);
  });
});

describe("telemetry of a token issuance", () => {
  it("a span with client authentication, cache and audit as timed events; issued and refused counted per caller", async () => {
    const org = env.sandbox.dataverse[0]!.url;
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    const post = (password: string) => fetch(`${host.url}/api/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(password)}`).toString("base64")}` },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: `${org}/.default` }).toString(),
    });
    const ok = await post(secret);
    expect(ok.status).toBe(200);
    issuedTokens.push(((await ok.json()) as { access_token: string }).access_token);
    expect((await post("wrong-secret")).status).toBe(401);

    const issued1 = byName("bridge.tokens.issue").filter((s) => s.status.code !== 2);
    expect(issued1).toHaveLength(1);
    expect(issued1[0]!.attributes["bridge.org"]).toBe(org);
    const steps = issued1[0]!.events.map((e) => [e.name, e.attributes?.["bridge.outcome"]]);
    expect(steps).toEqual([["bridge.tokens.issue.client_auth", "ok"], ["bridge.tokens.issue.cache", "ok"], ["bridge.tokens.issue.audit", "ok"]]);
    const refusedSpan = byName("bridge.tokens.issue").find((s) => s.status.code === 2);
    expect(refusedSpan?.attributes["bridge.reason"]).toBeDefined();
    // The wrong secret fails the client authentication step: its event says so, with a duration.
    expect(refusedSpan!.events.map((e) => [e.name, e.attributes?.["bridge.outcome"]])).toEqual([["bridge.tokens.issue.client_auth", "error"]]);
    expect(refusedSpan!.events[0]!.attributes?.["bridge.durationMs"]).toEqual(expect.any(Number));
    const issued = await points("bridge.tokens.issued");
    expect(issued.reduce((n, p) => n + Number(p.value), 0)).toBe(1);
    const refused = await points("bridge.tokens.refused");
    expect(refused.length).toBeGreaterThan(0);
  });
});

describe("no secret or token anywhere in telemetry", () => {
  it("scans every span attribute and event, metric attribute and log record for the seeded secrets and issued tokens", async () => {
    await telemetry.flush();
    const secrets: string[] = [adminToken, ...issuedTokens, env.sandbox.identities.secretCaller.secret];
    for (const versions of env.sandbox.tenant.vault.values()) for (const v of versions) {
      // A PEM's body, or the whole value: either would show in a dump.
      const body = v.value.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
      secrets.push(body.length > 64 ? body.slice(20, 84) : v.value);
    }
    expect(secrets.every((s) => s.length >= 8)).toBe(true);
    const dump = JSON.stringify({
      spans: spans.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
      metrics: metricExporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => ({ name: m.descriptor.name, points: m.dataPoints.map((p) => p.attributes) })))),
      logs: logs.getFinishedLogRecords().map((r) => ({ body: r.body, attributes: r.attributes })),
      hostLog,
    });
    expect(dump.length).toBeGreaterThan(1000);
    for (const secret of secrets) expect(dump.includes(secret), `a secret starting ${secret.slice(0, 4)}… leaked`).toBe(false);
  });
});
