// Issue #19 item 2: cheap refusals. The webhook bounds a body's shape over its raw bytes before JSON.parse and
// takes at most 256 KiB; the OpenAPI document is built once and served with an ETag (304 on If-None-Match);
// a JSON body that repeats a key, and a query parameter a route does not take, are refused with 400 naming them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBodyBytes } from "../../shared/http/json-body.js";
import { jsonShapeProblem, JsonShapeScanner } from "../../shared/http/json-shape.js";
import { NOTIFICATION_SHAPE, notificationShapeCheck } from "../../shared/notifications/parse.js";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";

let env: BridgeEnvironment;
let admin: string;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1 });
  admin = await env.sandbox.adminToken();
});
afterAll(async () => env?.stop());

const nested = (depth: number) => `{"value":${"[".repeat(depth)}${"]".repeat(depth)}}`;

describe("the webhook's shape check", () => {
  it("bounds depth, items and string length over the raw text; a Graph notification passes", () => {
    const graph = { value: [{ subscriptionId: "s", changeType: "updated", resource: "Users/x", resourceData: { "@odata.type": "#Microsoft.Graph.User", id: "x" }, clientState: "c" }] };
    expect(jsonShapeProblem(Buffer.from(JSON.stringify(graph)), NOTIFICATION_SHAPE)).toBeUndefined();
    expect(jsonShapeProblem(Buffer.from(nested(7)), NOTIFICATION_SHAPE)).toBeUndefined(); // depth 8 with the object
    expect(jsonShapeProblem(Buffer.from(nested(8)), NOTIFICATION_SHAPE)?.text).toBe("nesting deeper than 8");
    expect(jsonShapeProblem(Buffer.from(`{"value":[${"1,".repeat(1000)}1]}`), NOTIFICATION_SHAPE)?.text).toBe("more than 1000 items in one array or object");
    expect(jsonShapeProblem(Buffer.from(`{"value":"${"a".repeat(9000)}"}`), NOTIFICATION_SHAPE)?.text).toBe("a string longer than 8192 bytes");
    // Brackets, commas and escaped quotes inside strings are text, not structure.
    expect(jsonShapeProblem(Buffer.from(`{"value":["${"[[[[,,,,\\\"".repeat(100)}"]}`), NOTIFICATION_SHAPE)).toBeUndefined();
  });

  it("scans a text that arrives in pieces as it would the whole, split anywhere (inside strings and escapes too)", () => {
    const texts = [nested(7), nested(8), `{"value":[${"1,".repeat(1000)}1]}`, `{"value":"${"a".repeat(9000)}"}`, `{"value":["${"[[[[,,,,\\\"".repeat(100)}"]}`, '{"a":"\\"}'];
    for (const text of texts) {
      const bytes = Buffer.from(text);
      const whole = jsonShapeProblem(bytes, NOTIFICATION_SHAPE);
      for (const at of [1, 7, 10, 11, 12, Math.floor(bytes.length / 2), bytes.length - 1]) {
        const scanner = new JsonShapeScanner(NOTIFICATION_SHAPE);
        expect(scanner.feed(bytes.subarray(0, at)) ?? scanner.feed(bytes.subarray(at)), `${text.slice(0, 30)} split at ${at}`).toEqual(whole);
      }
    }
  });

  it("a deeply nested body is refused at its first piece: the rest is never read or copied", async () => {
    let pulled = 0;
    const pieces = [Buffer.from(`{"value":${"[".repeat(16_000)}`), Buffer.from("[".repeat(100_000)), Buffer.from("]".repeat(116_000) + "}")];
    const body = new ReadableStream<Uint8Array>({ pull(controller) { controller.enqueue(pieces[pulled++]!); if (pulled === pieces.length) controller.close(); } }, { highWaterMark: 0 });
    const request = { headers: new Headers({ "content-type": "application/json" }), body } as never; // what readBodyBytes reads of an HttpRequest
    await expect(readBodyBytes(request, 256 * 1024, notificationShapeCheck())).rejects.toMatchObject({ status: 400, code: "json_too_complex" });
    expect(pulled).toBe(1);
  });

  it("POST /api/notifications refuses a deeply nested body with 400 before parsing it, and a body over 256 KiB with 413", async () => {
    const { notifications } = await import("../../functions/notifications.http.js");
    const deep = await callHandler(notifications, "/api/notifications", { method: "POST", headers: { "content-type": "application/json" }, body: `{"value":${"[".repeat(120_000)}${"]".repeat(120_000)}}` });
    expect([deep.status, deep.body.type]).toEqual([400, "urn:identity-bridge:problem:json_too_complex"]);
    expect(deep.body.detail).toContain("nesting deeper than 8");
    const large = await callHandler(notifications, "/api/notifications", { method: "POST", headers: { "content-type": "application/json" }, body: `{"value":[${'"x",'.repeat(70_000)}"x"]}` });
    expect(large.status).toBe(413);
    const duplicate = await callHandler(notifications, "/api/notifications", { method: "POST", headers: { "content-type": "application/json" }, body: '{"value":[{"clientState":"a","clientState":"b"}]}' });
    expect([duplicate.status, duplicate.body.type]).toEqual([400, "urn:identity-bridge:problem:duplicate_key"]);
    expect(duplicate.body.detail).toContain('"value.0.clientState"');
  });
});

describe("GET /api/openapi.json", () => {
  it("is built once and served with an ETag; If-None-Match answers 304 without a body", async () => {
    const { openApi } = await import("../../functions/openapi.http.js");
    const first = await callHandler(openApi, "/api/openapi.json");
    expect(first.status).toBe(200);
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await callHandler(openApi, "/api/openapi.json");
    expect([again.headers.etag, again.text]).toEqual([etag, first.text]);
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const notModified = await callHandler(openApi, "/api/openapi.json", { headers: { "if-none-match": ifNoneMatch } });
      expect([notModified.status, notModified.text, notModified.headers.etag]).toEqual([304, "", etag]);
    }
    expect((await callHandler(openApi, "/api/openapi.json", { headers: { "if-none-match": '"stale"' } })).status).toBe(200);
  });
});

describe("refused with 400 naming what is wrong", () => {
  it("a JSON body that repeats a key: {\"dryRun\":true,\"dryRun\":false} never runs for real", async () => {
    const { startSync } = await import("../../functions/sync-admin.http.js");
    const res = await callHandler(startSync, "/api/sync", { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: '{"dryRun":true,"dryRun":false}' });
    expect([res.status, res.body.type]).toEqual([400, "urn:identity-bridge:problem:duplicate_key"]);
    expect(res.body.detail).toContain('"dryRun"');
  });

  it("a query parameter the route does not take, on admin, anonymous, webhook and token routes", async () => {
    const { startSync, listSyncRuns } = await import("../../functions/sync-admin.http.js");
    const { health } = await import("../../functions/health.http.js");
    const { notifications } = await import("../../functions/notifications.http.js");
    const { token } = await import("../../functions/token.http.js");
    const auth = { authorization: `Bearer ${admin}`, "content-type": "application/json" };
    const sync = await callHandler(startSync, "/api/sync?dryRun=true", { method: "POST", headers: auth, body: "{}" });
    expect([sync.status, sync.body.type]).toEqual([400, "urn:identity-bridge:problem:unknown_query_parameter"]);
    expect(sync.body.detail).toContain('"dryRun"');
    expect((await callHandler(listSyncRuns, "/api/sync/runs?limit=2", { headers: auth })).status).toBe(200); // a parameter it takes
    const runs = await callHandler(listSyncRuns, "/api/sync/runs?limit=2&orgg=x", { headers: auth });
    expect([runs.status, runs.body.detail]).toEqual([400, expect.stringContaining('"orgg"')]);
    expect((await callHandler(health, "/api/health?verbose=1")).status).toBe(400);
    const hook = await callHandler(notifications, "/api/notifications?validationToken=abc&x=1", { method: "POST" });
    expect([hook.status, hook.body.type]).toEqual([400, "urn:identity-bridge:problem:unknown_query_parameter"]);
    expect((await callHandler(notifications, "/api/notifications?validationToken=abc", { method: "POST" })).text).toBe("abc");
    const form = await callHandler(token, "/api/token?client_secret=x", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=client_credentials" });
    expect([form.status, form.body.error]).toEqual([400, "invalid_request"]);
    expect(form.body.error_description).toContain('"client_secret"');
  });
});
