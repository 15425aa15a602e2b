// GET /api/openapi.json, and the contract tests: every route's real answers, served by the local host against
// the sandbox, validate against the document (status, content type, body schema).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { triggerOf } from "../../dev/local-host/invocation.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { contractFetch, templateOf } from "../support/openapi-contract.js";
import { waitFor } from "../support/wait-for.js";

let env: BridgeEnvironment;
let host: LocalHost;
let admin: string;
const auth = () => ({ authorization: `Bearer ${admin}`, "content-type": "application/json" });

beforeAll(async () => {
  installFunctionsCore();
  env = await startBridgeEnvironment({ seed: { users: 12, existingShare: 0.5 } });
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: () => undefined });
  admin = await env.sandbox.adminToken();
});
afterAll(async () => {
  await host?.close();
  await env?.stop();
});

describe("GET /api/openapi.json", () => {
  it("serves an OpenAPI 3.1 document without auth, its server the public origin (the local host's own address when PUBLIC_BASE_URL is unset)", async () => {
    const { status, body } = await contractFetch(`${host.url}/api/openapi.json`);
    expect(status).toBe(200);
    expect(body.openapi).toBe("3.1.0");
    expect(body.servers[0].url).toBe(new URL(host.url).origin);
    expect(body.components.schemas.StartSyncRequest).toMatchObject({ type: "object", additionalProperties: false, properties: { mode: { enum: ["incremental", "full"] } } });
  });

  it("describes every HTTP route the app serves", () => {
    const served = host.functions.map(triggerOf).filter((t) => t.type === "httpTrigger").map((t) => String(t.route))
      .filter((route) => !route.startsWith("console/"));
    const missing = served.filter((route) => templateOf(`/api/${route.replace(/\{[^}]+\}/g, "x")}`) === undefined);
    expect(missing).toEqual([]);
  });
});

describe("every route's answers validate against the document", () => {
  it("health and problem answers", async () => {
    expect((await contractFetch(`${host.url}/api/health`)).status).toBe(200);
    expect((await contractFetch(`${host.url}/api/sync/status`)).status).toBe(401);
    expect((await contractFetch(`${host.url}/api/sync`, { method: "POST", headers: auth(), body: '{"mode":"sideways"}' })).status).toBe(400);
    expect((await contractFetch(`${host.url}/api/sync`, { method: "POST", headers: auth(), body: "x".repeat(1024 * 1024 + 1) })).status).toBe(413);
    expect((await contractFetch(`${host.url}/api/sync/runs/00000000-0000-0000-0000-000000000000`, { headers: auth() })).status).toBe(404);
  });

  it("a run: start, list, report pages, status, approve refused", async () => {
    const started = await contractFetch(`${host.url}/api/sync`, { method: "POST", headers: auth(), body: '{"dryRun":true}' });
    expect(started.status).toBe(202);
    const report = await waitFor(async () => {
      const r = await contractFetch(`${started.body.statusUrl}?limit=2`, { headers: auth() });
      return ["succeeded", "failed"].includes(r.body.state) ? r.body : undefined;
    });
    expect(report.state).toBe("succeeded");
    expect(report.changes).toHaveLength(2);
    expect((await contractFetch(report.changesNext, { headers: auth() })).status).toBe(200);
    const list = await contractFetch(`${host.url}/api/sync/runs?limit=5`, { headers: auth() });
    expect(list.body.runs[0].runId).toBe(started.body.runId);
    expect((await contractFetch(`${host.url}/api/sync/status`, { headers: auth() })).body.orgs).toHaveLength(1);
    expect((await contractFetch(`${started.body.statusUrl}/approve`, { method: "POST", headers: auth() })).status).toBe(409);
  });

  it("one-user sync and remap answers", async () => {
    const upn = [...env.sandbox.tenant.directory.users.values()][0]!.userPrincipalName;
    expect((await contractFetch(`${host.url}/api/users/${encodeURIComponent(upn)}/sync`, { method: "POST", headers: auth() })).status).toBe(200);
    expect((await contractFetch(`${host.url}/api/users/nobody@contoso.com/sync`, { method: "POST", headers: auth() })).status).toBe(404);
    const lookup = await contractFetch(`${host.url}/api/users/${encodeURIComponent(upn)}`, { headers: auth() });
    expect(lookup.body.orgs[0].records).toHaveLength(1);
    expect(lookup.body.orgs[0].planned.action).toBe("unchanged");
    expect((await contractFetch(`${host.url}/api/users/nobody@contoso.com`, { headers: auth() })).status).toBe(404);
    expect((await contractFetch(`${host.url}/api/users/remap`, { method: "POST", headers: auth(), body: JSON.stringify({ user: "nobody@contoso.com", newDomainName: upn }) })).status).toBe(404);
    const plan = await contractFetch(`${host.url}/api/users/remap/bulk`, { method: "POST", headers: auth(), body: JSON.stringify({ rule: { fromSuffix: "@contoso.com", toSuffix: "@fabrikam.com" }, dryRun: true }) });
    expect(plan.status).toBe(200);
    expect((await contractFetch(plan.body.statusUrl, { headers: auth() })).status).toBe(200);
    expect((await contractFetch(`${host.url}/api/users/remap/bulk/not-a-job`, { headers: auth() })).status).toBe(404);
  });

  it("token endpoint answers, success and OAuth errors", async () => {
    const caller = env.sandbox.identities.secretCaller;
    const org = env.sandbox.dataverse[0]!.url;
    const basic = `Basic ${Buffer.from(`${caller.clientId}:${caller.secret}`).toString("base64")}`;
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const ok = await contractFetch(`${host.url}/api/token`, { method: "POST", headers: { ...form, authorization: basic }, body: `grant_type=client_credentials&scope=${encodeURIComponent(`${org}/.default`)}` });
    expect(ok.status).toBe(200);
    expect((await contractFetch(`${host.url}/api/token`, { method: "POST", headers: form, body: "grant_type=password" })).status).toBe(400);
    const bad = await contractFetch(`${host.url}/api/token`, { method: "POST", headers: { ...form, authorization: `Basic ${Buffer.from(`${caller.clientId}:wrong`).toString("base64")}` }, body: "grant_type=client_credentials" });
    expect(bad.status).toBe(401);
  });

  it("notifications: the subscription view, validation echo and accepted deliveries", async () => {
    expect((await contractFetch(`${host.url}/api/notifications/subscription`, { headers: auth() })).body).toMatchObject({ enabled: false, subscription: null });
    const echo = await contractFetch(`${host.url}/api/notifications?validationToken=abc`, { method: "POST" });
    expect(echo).toMatchObject({ status: 200, body: "abc" });
    expect((await contractFetch(`${host.url}/api/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"value":[]}' })).status).toBe(202);
    expect((await contractFetch(`${host.url}/api/notifications`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" })).status).toBe(400);
  });
});
