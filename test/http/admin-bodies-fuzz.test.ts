// Contract §2: any body sent to an admin endpoint — malformed, wrongly typed, unknown fields, huge — is
// answered 4xx problem+json (or handled), never a 5xx or a stack trace.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";

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
});
