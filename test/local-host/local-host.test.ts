// The local Functions host serving the real registrations: HTTP routes, the queue-triggered sync worker
// polling Azurite, and timers invoked as their schedule would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { waitFor } from "../support/wait-for.js";

let env: BridgeEnvironment;
let host: LocalHost;
let lastRunId = "";

beforeAll(async () => {
  installFunctionsCore();
  env = await startBridgeEnvironment({ seed: { users: 12 } });
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: () => undefined });
});
afterAll(async () => {
  await host?.close();
  await env?.stop();
});

describe("local host", () => {
  it("registers every function through @azure/functions itself", () => {
    const byName = Object.fromEntries(host.functions.map((f) => [f.name, Object.values(f.bindings).find((b) => b.direction === "in")!.type]));
    expect(byName).toMatchObject({ health: "httpTrigger", syncStart: "httpTrigger", directorySync: "timerTrigger", syncOrg: "queueTrigger" });
  });

  it("serves GET /api/health", async () => {
    const response = await fetch(`${host.url}/api/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", version: expect.any(String) });
  });

  it("answers problem+json for unknown routes and wrong methods", async () => {
    const missing = await fetch(`${host.url}/api/nothing`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    expect((await fetch(`${host.url}/api/health`, { method: "DELETE" })).status).toBe(405);
  });

  it("runs a sync end to end: POST /api/sync → queue → worker → report", async () => {
    const token = await env.sandbox.adminToken();
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const started = await fetch(`${host.url}/api/sync`, { method: "POST", headers, body: "{}" });
    expect(started.status).toBe(202);
    const { runId, statusUrl } = (await started.json()) as { runId: string; statusUrl: string };
    expect(statusUrl).toBe(`${host.url}/api/sync/runs/${runId}`);
    const report = await waitFor(async () => {
      const body = (await (await fetch(statusUrl, { headers })).json()) as { state: string; counts: Record<string, number> };
      return ["succeeded", "failed"].includes(body.state) ? body : undefined;
    });
    expect(report.state).toBe("succeeded");
    expect(report.counts.created).toBeGreaterThan(0);
    lastRunId = runId;
  });

  it("links in answers use the public origin, whatever the Host header says", async () => {
    const { request } = await import("node:http");
    const token = await env.sandbox.adminToken();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${host.url}/api/sync/runs/${lastRunId}?limit=1`, { headers: { host: "evil.example", authorization: `Bearer ${token}` } }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => { body += d.toString(); });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(answer.status).toBe(200);
    const { changesNext } = JSON.parse(answer.body) as { changesNext: string };
    expect(changesNext).toBe(`${host.url}/api/sync/runs/${lastRunId}?limit=1&offset=1`);
  });

  it("invokes the directory-sync timer, which fans out one run per org", async () => {
    await host.runTimer("directorySync");
    const token = await env.sandbox.adminToken();
    const status = await waitFor(async () => {
      const body = (await (await fetch(`${host.url}/api/sync/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as { orgs: Array<{ state: string; lastOutcome: string | null }> };
      return body.orgs[0]!.state === "idle" && body.orgs[0]!.lastOutcome === "succeeded" ? body : undefined;
    });
    expect(status.orgs).toHaveLength(1);
  });
});
