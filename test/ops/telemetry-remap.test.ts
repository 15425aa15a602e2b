// Telemetry of a remap, read back from in-memory exporters: its two steps as spans of one trace carrying the
// remap id and org, the Dataverse calls inside them, and the recovery pass's span and gauges.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { installTelemetry, type Telemetry } from "../../shared/telemetry/setup.js";

let env: BridgeEnvironment;
let telemetry: Telemetry;
const spans = new InMemorySpanExporter();
const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 25, existingShare: 0.6 } });
  telemetry = installTelemetry({ spans, metrics: new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 }), immediate: true });
});
afterAll(async () => {
  await telemetry?.shutdown();
  await env?.stop();
});

describe("telemetry of a remap", () => {
  it("both steps are spans of one trace with the remap id and org; Dataverse calls nest inside", async () => {
    const { remapUserHandler } = await import("../../functions/remap.http.js");
    const org = env.sandbox.dataverse[0]!.org;
    const user = [...env.sandbox.tenant.directory.users.values()].find((u) => org.findByObjectId(u.id))!;
    const oldUpn = user.userPrincipalName;
    env.sandbox.tenant.directory.updateUser(user.id, { userPrincipalName: "remap.telemetry.test@contoso.com" });
    const res = await callHandler(remapUserHandler, "/api/users/remap", {
      method: "POST",
      headers: { authorization: `Bearer ${await env.sandbox.adminToken()}` },
      body: { user: oldUpn, newDomainName: "remap.telemetry.test@contoso.com" },
    });
    expect(res.status, res.text).toBe(200);

    const steps = spans.getFinishedSpans().filter((s) => s.name === "bridge.remap.step");
    expect(steps.map((s) => s.attributes["bridge.step"]).sort()).toEqual(["target", "temporary"]);
    const [first, second] = steps;
    expect(second!.spanContext().traceId).toBe(first!.spanContext().traceId);
    expect(new Set(steps.map((s) => s.attributes["bridge.remapId"])).size).toBe(1);
    expect(steps[0]!.attributes["bridge.remapId"]).toBe(res.body.operationId);
    for (const s of steps) expect(s.attributes["bridge.org"]).toBe(org.url);
    const stepIds = new Set(steps.map((s) => s.spanContext().spanId));
    const dataverseInside = spans.getFinishedSpans().filter((s) => s.name.startsWith("dataverse ") && stepIds.has(s.parentSpanContext?.spanId ?? ""));
    expect(dataverseInside.length).toBeGreaterThan(0);
  });

  it("the recovery pass is a span and records open and stuck remaps", async () => {
    const { recoverRemapsTraced } = await import("../../shared/telemetry/remap.js");
    const { testBridge } = await import("../support/test-bridge.js");
    const report = await recoverRemapsTraced(testBridge().remapDeps());
    expect(spans.getFinishedSpans().some((s) => s.name === "bridge.remap.recovery")).toBe(true);
    await telemetry.flush();
    const all = metrics.getMetrics().at(-1)!.scopeMetrics.flatMap((s) => s.metrics);
    expect(all.find((m) => m.descriptor.name === "bridge.remap.open")!.dataPoints[0]!.value).toBe(report.examined);
    expect(all.find((m) => m.descriptor.name === "bridge.remap.stuck")!.dataPoints[0]!.value).toBe(0);
  });
});
