// Contract §2: any body sent to an admin endpoint — malformed, wrongly typed, unknown fields, huge — is
// answered 4xx problem+json (or handled), never a 5xx or a stack trace.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { oddBody, oddString } from "../support/odd-values.js";

let env: BridgeEnvironment;
let token: string;
beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 5 } });
  token = await env.sandbox.adminToken();
});
afterAll(async () => { await env?.stop(); });

const bodies = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.record({ org: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), mode: fc.string(), dryRun: fc.oneof(fc.boolean(), fc.string()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ user: fc.oneof(fc.string(), fc.integer()), newDomainName: fc.oneof(fc.string(), fc.constant("")), dryRun: fc.constant(true), extra: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ items: fc.array(fc.record({ user: fc.string(), newDomainName: fc.string() }), { maxLength: 3 }), rule: fc.dictionary(fc.string(), fc.string()), dryRun: fc.constant(true) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
);

describe("admin endpoints never answer 5xx to a bad body", () => {
  it("POST /api/sync, /api/users/remap, /api/users/remap/bulk", async () => {
    const { startSync } = await import("../../functions/sync-admin.http.js");
    const { remapUserHandler, remapBulkHandler } = await import("../../functions/remap.http.js");
    const routes = [
      { handler: startSync, url: "/api/sync" },
      { handler: remapUserHandler, url: "/api/users/remap" },
      { handler: remapBulkHandler, url: "/api/users/remap/bulk" },
    ];
    await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), bodies, fc.constantFrom("application/json", "text/plain", "application/merge-patch+json"), async (route, body, type) => {
      const res = await callHandler(route.handler, route.url, { method: "POST", body, headers: { authorization: `Bearer ${token}`, "content-type": type } });
      expect(res.status, `${route.url} ${body.slice(0, 80)}`).toBeLessThan(500);
      expect(res.text).not.toMatch(/\n\s+at /);
      if (res.status >= 400) expect(res.headers["content-type"]).toContain("application/problem+json");
    }), { numRuns: 150 });
  }, 120_000);

  it("an oversized body is 413 whatever it claims", async () => {
    const { startSync } = await import("../../functions/sync-admin.http.js");
    const big = JSON.stringify({ dryRun: true, pad: "x".repeat(1024 * 1024) });
    const res = await callHandler(startSync, "/api/sync", { method: "POST", body: big, headers: { authorization: `Bearer ${token}`, "content-length": "10" } });
    expect(res.status).toBe(413);
  });

  it("every HTTP route with odd values in its body, path, query and headers: no 5xx, no stack trace", async () => {
    const sync = await import("../../functions/sync-admin.http.js");
    const remap = await import("../../functions/remap.http.js");
    const { syncUserNow } = await import("../../functions/user-sync.http.js");
    const { notifications } = await import("../../functions/notifications.http.js");
    const { health } = await import("../../functions/health.http.js");
    type Route = { name: string; handler: Parameters<typeof callHandler>[0]; method: string; fields: string[]; param?: string; query?: string[] };
    const routes: Route[] = [
      { name: "startSync", handler: sync.startSync, method: "POST", fields: ["org", "mode", "dryRun"] },
      { name: "getSyncRun", handler: sync.getSyncRun, method: "GET", fields: [], param: "runId", query: ["offset", "limit"] },
      { name: "approveSyncRun", handler: sync.approveSyncRun, method: "POST", fields: [], param: "runId" },
      { name: "syncStatus", handler: sync.syncStatus, method: "GET", fields: [] },
      { name: "syncUserNow", handler: syncUserNow, method: "POST", fields: [], param: "objectIdOrUpn" },
      { name: "remapUser", handler: remap.remapUserHandler, method: "POST", fields: ["user", "newDomainName", "dryRun", "org"] },
      { name: "remapBulk", handler: remap.remapBulkHandler, method: "POST", fields: ["items", "rule", "dryRun", "org"] },
      { name: "remapBulkStatus", handler: remap.remapBulkStatusHandler, method: "GET", fields: [], param: "jobId" },
      { name: "notifications", handler: notifications, method: "POST", fields: ["value"], query: ["validationToken"] },
      { name: "health", handler: health, method: "GET", fields: [] },
    ];
    const seen: string[] = [];
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...routes), oddString, oddString, oddString, fc.option(oddString, { nil: undefined }),
      fc.constantFrom(...routes).chain((r) => oddBody(r.fields.length > 0 ? r.fields : ["x"])),
      async (route, param, queryValue, key, idempotencyKey, body) => {
        const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
        // Header values must be ByteStrings (the host refuses others before any function runs).
        if (idempotencyKey !== undefined && /^[\x20-\x7e]*$/.test(idempotencyKey) && idempotencyKey.length < 8_000) headers["idempotency-key"] = idempotencyKey;
        const query = Object.fromEntries((route.query ?? []).map((q) => [q, queryValue]));
        const res = await callHandler(route.handler, `/api/${route.name}`, {
          method: route.method, headers, query, params: route.param ? { [route.param]: param } : {},
          ...(route.method === "POST" ? { body } : {}),
        });
        seen.push(route.name);
        expect(res.status, `${route.name} ${String(body).slice(0, 60)} ${key.slice(0, 20)}`).toBeLessThan(500);
        expect(res.text).not.toMatch(/\n\s+at |node:internal|\.[jt]s:\d+:\d+/);
        if (res.status >= 400 && route.name !== "notifications") expect(res.headers["content-type"]).toContain("application/problem+json");
      }), { numRuns: 250 });
    expect(new Set(seen).size).toBe(routes.length);
  }, 300_000);
});
