// Pure pieces of the webhook: the clientState check, tolerant parsing, the endpoint's decisions (with fake
// scheduling), the queue worker's handling of 409s, and the subscription manager's reconciliation rules.
import { describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { AppError } from "../../shared/errors/app-error.js";
import { ConfigError, loadConfig } from "../../shared/config/config.js";
import { clientStateFingerprint, clientStateMatches } from "../../shared/notifications/client-state.js";
import { receiveNotifications } from "../../shared/notifications/endpoint.js";
import { classifyNotifications, MAX_NOTIFICATIONS_PER_REQUEST, parseNotificationCollection } from "../../shared/notifications/parse.js";
import type { NotificationServices } from "../../shared/notifications/services.js";
import { handleNotificationMessage } from "../../shared/notifications/worker.js";
import { SubscriptionManager } from "../../shared/notifications/subscription-manager.js";
import type { GraphSubscriptionInfo, NewSubscription, SubscriptionsPort } from "../../shared/notifications/graph-subscriptions.js";
import type { StoredSubscription } from "../../shared/notifications/subscription-store.js";
import { SlowRefusals } from "../../shared/http/slow-refusals.js";
import { callHandler } from "../support/bridge-env.js";

const SECRET = "s3cret-client-state-value";
const TENANT = "11111111-2222-3333-4444-555555555555";
const ORGS = ["https://org1.crm.dynamics.com", "https://org2.crm.dynamics.com"];

function fakeDeps(overrides: Partial<NotificationServices> = {}) {
  const requested: string[] = [];
  const enqueued: unknown[] = [];
  const logs: string[] = [];
  const deps = {
    tenantId: TENANT,
    orgs: ORGS,
    clientState: async () => SECRET,
    debouncer: {
      request: vi.fn(async (org: string) => { requested.push(org); return "scheduled" as const; }), retryLater: vi.fn(async () => 5),
      holds: vi.fn(async (_org: string, claim?: string) => claim !== "stale"), release: vi.fn(async () => undefined),
      runStarted: vi.fn(async () => undefined), runFinished: vi.fn(async () => undefined),
    },
    enqueue: vi.fn(async (m: unknown) => { enqueued.push(m); }),
    log: (m: string) => logs.push(m),
    refusals: new SlowRefusals({ perSource: 1_000_000, windowMs: 60_000, holdMs: 0, maxHeld: 1 }) as Pick<SlowRefusals, "refused">,
    trustedProxyHops: 1,
    ...overrides,
  };
  return { deps, requested, enqueued, logs };
}

const change = (clientState: unknown, extra: Record<string, unknown> = {}) => ({
  subscriptionId: "sub-1", changeType: "updated", resource: "Users/abc", clientState, tenantId: TENANT, ...extra,
});

const post = (deps: ReturnType<typeof fakeDeps>["deps"], body: unknown, options: { query?: Record<string, string>; headers?: Record<string, string> } = {}) =>
  callHandler((request) => receiveNotifications(request, () => deps), "/api/notifications", { method: "POST", body: body as object, ...options });

describe("clientState", () => {
  it("matches only the exact value, whatever the lengths", () => {
    expect(clientStateMatches(SECRET, SECRET)).toBe(true);
    expect(clientStateMatches(SECRET, `${SECRET}x`)).toBe(false);
    expect(clientStateMatches(SECRET, SECRET.slice(0, -1))).toBe(false);
    expect(clientStateMatches(SECRET, "")).toBe(false);
    expect(clientStateMatches(SECRET, null)).toBe(false);
    expect(clientStateMatches(SECRET, 42)).toBe(false);
    expect(clientStateMatches("", "")).toBe(false);
  });

  it("fingerprints without revealing the value", () => {
    expect(clientStateFingerprint(SECRET)).toBe(clientStateFingerprint(SECRET));
    expect(clientStateFingerprint(SECRET)).not.toBe(clientStateFingerprint(`${SECRET}2`));
    expect(clientStateFingerprint(SECRET)).not.toContain(SECRET.slice(0, 6));
  });
});

describe("NOTIFICATION_URL", () => {
  const env = {
    AZURE_TENANT_ID: TENANT, APP_CLIENT_ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", KEY_VAULT_URL: "https://kv-bridge.vault.azure.net",
    APP_CREDENTIAL_SECRET_NAME: "bridge-app-credential", DATAVERSE_URLS: ORGS.join(","), AzureWebJobsStorage: "UseDevelopmentStorage=true",
    API_AUDIENCE: "api://identity-bridge", NOTIFICATION_CLIENT_STATE_SECRET_NAME: "client-state",
  };
  it("must be https, except plain http to loopback for the local sandbox loop", () => {
    expect(loadConfig({ ...env, NOTIFICATION_URL: "https://bridge.example/api/notifications" }).notifications.url).toBe("https://bridge.example/api/notifications");
    expect(loadConfig({ ...env, NOTIFICATION_URL: "http://127.0.0.1:7071/api/notifications" }).notifications.url).toBe("http://127.0.0.1:7071/api/notifications");
    expect(loadConfig({ ...env, NOTIFICATION_URL: "http://localhost:7071/api/notifications" }).notifications.url).toBeDefined();
    for (const bad of ["http://bridge.example/api/notifications", "http://127.0.0.1.evil.example/api/notifications", "ftp://127.0.0.1/x", "not a url"]) {
      expect(() => loadConfig({ ...env, NOTIFICATION_URL: bad }), bad).toThrow(ConfigError);
    }
  });
});

describe("parsing notifications", () => {
  const trusted = (clientState: string) => clientState === SECRET;

  it("keeps good items and drops malformed, unknown or untrusted ones", () => {
    const parsed = classifyNotifications(parseNotificationCollection(JSON.stringify({ value: [
      change(SECRET), { nonsense: true }, 7, null,
      { subscriptionId: "sub-1", lifecycleEvent: "missed", clientState: SECRET },
      { subscriptionId: "sub-1", lifecycleEvent: "somethingNew", clientState: SECRET },
      { subscriptionId: 42, changeType: "updated", resource: "Users/x", clientState: SECRET },
    ] })), trusted);
    expect(parsed.changes).toHaveLength(1);
    expect(parsed.lifecycle).toEqual([expect.objectContaining({ lifecycleEvent: "missed" })]);
    expect(parsed).toMatchObject({ malformed: 4, untrusted: 1 });
  });

  it("refuses a body that is not a notification collection with a 400", () => {
    for (const body of ["", "{", "[]", "null", '{"value":{}}', '"x"', '[{"value":[]}]']) {
      expect(() => parseNotificationCollection(body)).toThrow(expect.objectContaining({ status: 400 }));
    }
  });

  it("refuses a collection of more items than Graph sends, before looking at any item", () => {
    const body = JSON.stringify({ value: Array.from({ length: MAX_NOTIFICATIONS_PER_REQUEST + 1 }, () => ({})) });
    expect(() => parseNotificationCollection(body)).toThrow(expect.objectContaining({ status: 413, code: "too_many_notifications" }));
    expect(parseNotificationCollection(JSON.stringify({ value: Array.from({ length: MAX_NOTIFICATIONS_PER_REQUEST }, () => ({})) }))).toHaveLength(MAX_NOTIFICATIONS_PER_REQUEST);
  });

  it("checks clientState before anything else of an item: a forged item's other fields are never read", () => {
    const touched: string[] = [];
    const forged = (clientState: unknown) => {
      const item = { clientState };
      for (const field of ["subscriptionId", "changeType", "resource", "lifecycleEvent"]) {
        Object.defineProperty(item, field, { enumerable: true, get: () => { touched.push(field); return "x"; } });
      }
      return item;
    };
    const parsed = classifyNotifications([forged("wrong"), forged(undefined), forged(12), forged(`${SECRET} `)], trusted);
    expect(parsed).toMatchObject({ changes: [], lifecycle: [], untrusted: 4, malformed: 0 });
    expect(touched).toEqual([]);
  });
});

describe("POST /api/notifications", () => {
  it("echoes Graph's validation token as text/plain without touching anything else", async () => {
    const { deps } = fakeDeps({ clientState: async () => { throw new Error("must not read Key Vault"); } });
    const token = "Validation: Testing client application reachability for subscription Request-Id: 7c1e0ff3-0000-4c4f-9a4f-0e2d2a2d2a2d";
    const response = await post(deps, undefined, { query: { validationToken: token } });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/plain/);
    expect(response.text).toBe(token);
    expect(deps.debouncer.request).not.toHaveBeenCalled();
  });

  it("schedules one debounced sync per org for trusted notifications", async () => {
    const { deps, requested } = fakeDeps();
    const response = await post(deps, { value: [change(SECRET), change(SECRET, { resource: "Users/def" })] });
    expect(response.status).toBe(202);
    expect(requested.sort()).toEqual([...ORGS].sort());
  });

  it("ignores notifications whose clientState is wrong, missing or from another tenant", async () => {
    const { deps, logs } = fakeDeps();
    const response = await post(deps, { value: [
      change("wrong"), change(`${SECRET} `), change(null), change(undefined), change(SECRET, { tenantId: "99999999-2222-3333-4444-555555555555" }),
      { subscriptionId: "sub-1", lifecycleEvent: "subscriptionRemoved", clientState: "wrong" },
    ] });
    expect(response.status).toBe(202);
    expect(deps.debouncer.request).not.toHaveBeenCalled();
    expect(deps.enqueue).not.toHaveBeenCalled();
    expect(logs.join("\n")).toMatch(/dropped 6/);
    expect(logs.join("\n")).not.toContain(SECRET);
  });

  it("keeps the trusted notifications of a batch that also holds forged ones", async () => {
    const { deps, requested } = fakeDeps();
    expect((await post(deps, { value: [change("forged"), change(SECRET)] })).status).toBe(202);
    expect(requested).toHaveLength(ORGS.length);
  });

  it("queues each lifecycle event once", async () => {
    const { deps, enqueued, requested } = fakeDeps();
    const lifecycle = { subscriptionId: "sub-1", lifecycleEvent: "reauthorizationRequired", clientState: SECRET, tenantId: TENANT };
    expect((await post(deps, { value: [lifecycle, lifecycle] })).status).toBe(202);
    expect(enqueued).toEqual([{ kind: "lifecycle", event: "reauthorizationRequired", subscriptionId: "sub-1" }]);
    expect(requested).toEqual([]);
  });

  it("answers 503 (Graph redelivers) when the sync cannot be recorded", async () => {
    const { deps: base } = fakeDeps();
    const deps = { ...base, debouncer: { ...base.debouncer, request: vi.fn(async (): Promise<"scheduled"> => { throw new Error("storage down"); }) } };
    const response = await post(deps, { value: [change(SECRET)] });
    expect(response.status).toBe(503);
    expect(response.headers["retry-after"]).toBe("30");
  });

  it("answers 413 for a body over 1 MiB", async () => {
    const { deps } = fakeDeps();
    const response = await post(deps, JSON.stringify({ value: [], pad: "x".repeat(1024 * 1024) }), { headers: { "content-type": "application/json" } });
    expect(response.status).toBe(413);
  });

  it("answers 413 to a 250 KiB body of ~85k {} items without reading the clientState secret", async () => {
    const { deps } = fakeDeps({ clientState: async () => { throw new Error("must not be reached"); } });
    const items = Math.floor((250 * 1024 - 12) / 3);
    const body = `{"value":[${Array(items).fill("{}").join(",")}]}`;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(256 * 1024);
    const response = await post(deps, body, { headers: { "content-type": "application/json" } });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ type: "urn:identity-bridge:problem:too_many_notifications" });
  });

  it("never answers 5xx to malformed bodies", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const { deps } = fakeDeps();
    const bodies = fc.oneof(
      fc.string(),
      fc.json(),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.record({ value: fc.array(fc.anything(), { maxLength: 5 }) }).map((v) => JSON.stringify(v)),
      fc.array(fc.record({ subscriptionId: fc.anything(), clientState: fc.oneof(fc.constant(SECRET), fc.anything()), lifecycleEvent: fc.anything(), changeType: fc.anything(), resource: fc.anything() }), { maxLength: 4 })
        .map((value) => JSON.stringify({ value })),
    );
    await fc.assert(fc.asyncProperty(bodies, async (body) => {
      const response = await post(deps, body, { headers: { "content-type": "application/json" } });
      expect([202, 400, 413]).toContain(response.status);
    }), { numRuns: 300 });
  });
});

describe("POST /api/notifications: a source that keeps being refused is slowed, a valid delivery never", () => {
  const NESTED = `{"value":${"[".repeat(5_000)}${"]".repeat(5_000)}}`;
  const json = { "content-type": "application/json" };
  const from = (address: string, sent?: string) => ({ ...json, "x-forwarded-for": sent ? `${sent}, ${address}` : address });
  const slowed = (options: Partial<ConstructorParameters<typeof SlowRefusals>[0]> = {}) =>
    new SlowRefusals({ perSource: 3, windowMs: 60_000, holdMs: 1_500, maxHeld: 8, ...options });

  it("answers the budget's refusals at once, then holds each further one and answers 429 with Retry-After", async () => {
    const refusals = slowed();
    const { deps } = fakeDeps({ refusals });
    for (let i = 0; i < 3; i++) expect((await post(deps, NESTED, { headers: from("203.0.113.7") })).status).toBe(400);
    const started = performance.now();
    const held = post(deps, NESTED, { headers: from("203.0.113.7") });
    await vi.waitFor(() => expect(refusals.holding).toBe(1));
    const response = await held;
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(response.status).toBe(429);
    expect(response.body).toMatchObject({ type: "urn:identity-bridge:problem:too_many_refusals" });
    expect(Number(response.headers["retry-after"])).toBeGreaterThanOrEqual(1);
  });

  it("serves a delivery with our clientState at once while the same source's refusals are held", async () => {
    const refusals = slowed();
    const { deps, requested } = fakeDeps({ refusals });
    for (let i = 0; i < 3; i++) await post(deps, NESTED, { headers: from("203.0.113.7") });
    const held = post(deps, NESTED, { headers: from("203.0.113.7") });
    await vi.waitFor(() => expect(refusals.holding).toBe(1));
    expect((await post(deps, { value: [change(SECRET)] }, { headers: from("203.0.113.7") })).status).toBe(202);
    expect(refusals.holding).toBe(1); // the refused one is still waiting
    expect(requested).toHaveLength(ORGS.length);
    expect((await held).status).toBe(429);
  });

  it("counts per source as the trusted front end saw it: another source is unaffected, a client-written entry changes nothing", async () => {
    const refusals = slowed({ holdMs: 30_000 });
    const { deps } = fakeDeps({ refusals });
    for (let i = 0; i < 3; i++) await post(deps, NESTED, { headers: from("203.0.113.7", `10.0.0.${i}`) });
    void post(deps, NESTED, { headers: from("203.0.113.7", "10.0.0.99") });
    await vi.waitFor(() => expect(refusals.holding).toBe(1));
    expect((await post(deps, NESTED, { headers: from("198.51.100.9") })).status).toBe(400);
    expect(refusals.holding).toBe(1);
  });

  it("counts deliveries that carry nothing trusted (a wrong clientState) as refusals, still answered 202 within the budget", async () => {
    const refusals = slowed({ holdMs: 10 });
    const { deps } = fakeDeps({ refusals });
    const forged = { value: [change("guess")] };
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(deps, forged, { headers: from("203.0.113.7") })).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
    expect(deps.debouncer.request).not.toHaveBeenCalled();
  });

  it("counts validation handshakes too: a flood of them is slowed like refusals", async () => {
    const refusals = slowed({ holdMs: 10 });
    const { deps } = fakeDeps({ refusals });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(deps, "x".repeat(1024), { query: { validationToken: "abc" }, headers: from("203.0.113.7") })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it("holds at most maxHeld answers at once; past that a refusal is answered without a pause", async () => {
    const refusals = slowed({ holdMs: 30_000, maxHeld: 2 });
    const { deps } = fakeDeps({ refusals });
    for (let i = 0; i < 3; i++) await post(deps, NESTED, { headers: from("203.0.113.7") });
    void post(deps, NESTED, { headers: from("203.0.113.7") });
    void post(deps, NESTED, { headers: from("203.0.113.7") });
    await vi.waitFor(() => expect(refusals.holding).toBe(2));
    expect((await post(deps, NESTED, { headers: from("203.0.113.7") })).status).toBe(429);
    expect(refusals.holding).toBe(2);
  });
});

describe("notification queue worker", () => {
  const deps = (start: () => Promise<unknown>) => {
    const { deps: d } = fakeDeps();
    return { ...d, syncRuns: { start: vi.fn(start) }, subscriptions: { ensure: vi.fn(), handleLifecycle: vi.fn(async () => ({ action: "renewed" as const })) } };
  };

  it("starts an incremental run triggered by the notification", async () => {
    const d = deps(async () => ({ runId: "r1" }));
    await handleNotificationMessage({ kind: "sync", org: ORGS[0]! }, d as never);
    expect(d.syncRuns.start).toHaveBeenCalledWith({ org: ORGS[0], mode: "incremental", trigger: "notification" });
  });

  it("comes back later while a run is in progress, and drops a halted org", async () => {
    const busy = deps(async () => { throw new AppError("busy", 409, "run_in_progress"); });
    expect(await handleNotificationMessage({ kind: "sync", org: ORGS[0]!, attempt: 2 }, busy as never)).toMatch(/trying again/);
    expect(busy.debouncer.retryLater).toHaveBeenCalledWith(ORGS[0], 2, undefined);
    const halted = deps(async () => { throw new AppError("halted", 409, "run_halted"); });
    expect(await handleNotificationMessage({ kind: "sync", org: ORGS[0]!, claim: "c1" }, halted as never)).toMatch(/skipped/);
    expect(halted.debouncer.retryLater).not.toHaveBeenCalled();
    expect(halted.debouncer.release).toHaveBeenCalledWith(ORGS[0], "c1"); // the org is quiet again
    const broken = deps(async () => { throw new Error("storage down"); });
    await expect(handleNotificationMessage({ kind: "sync", org: ORGS[0]! }, broken as never)).rejects.toThrow("storage down");
  });

  it("drops a message whose claim was superseded (a run that covers it started, or a newer claim took over)", async () => {
    const d = deps(async () => ({ runId: "r1" }));
    expect(await handleNotificationMessage({ kind: "sync", org: ORGS[0]!, claim: "stale" }, d as never)).toMatch(/superseded/);
    expect(d.syncRuns.start).not.toHaveBeenCalled();
  });

  it("a lifecycle event schedules a sync of every org and fixes the subscription", async () => {
    const d = deps(async () => ({ runId: "r1" }));
    await handleNotificationMessage({ kind: "lifecycle", event: "missed", subscriptionId: "sub-1" }, d as never);
    expect(d.debouncer.request).toHaveBeenCalledTimes(ORGS.length);
    expect(d.subscriptions.handleLifecycle).toHaveBeenCalledWith("missed", "sub-1");
  });
});

describe("subscription manager", () => {
  function fakeGraph() {
    const items = new Map<string, GraphSubscriptionInfo & { clientState: string }>();
    let n = 0;
    const graph: SubscriptionsPort & { items: typeof items } = {
      items,
      create: vi.fn(async (input: NewSubscription) => { const s = { id: `sub-${++n}`, ...input }; items.set(s.id, s); return s; }),
      renew: vi.fn(async (id: string, expirationDateTime: string) => { const s = items.get(id); if (!s) return null; s.expirationDateTime = expirationDateTime; return s; }),
      get: vi.fn(async (id: string) => items.get(id) ?? null),
      list: vi.fn(async () => [...items.values()]),
      delete: vi.fn(async (id: string) => { items.delete(id); }),
    };
    return graph;
  }
  function setup(options: { url?: string; secret?: string; now?: number; leaseFree?: boolean } = {}) {
    const graph = fakeGraph();
    let row: StoredSubscription | undefined;
    const store = { get: async () => row, save: async (s: StoredSubscription) => { row = s; }, delete: async () => { row = undefined; } };
    const state = { secret: options.secret ?? SECRET, now: options.now ?? Date.parse("2025-01-01T00:00:00Z"), url: "url" in options ? options.url : "https://bridge.example/api/notifications" };
    const leases = {
      acquire: vi.fn(async () => (options.leaseFree === false ? { acquired: false as const, current: { key: "k", holder: "other", expiresAt: 0, note: "" } } : { acquired: true as const, lease: { key: "k", holder: "h", expiresAt: 0, note: "" } })),
      release: vi.fn(async () => undefined),
    };
    const make = () => new SubscriptionManager({ graph, store, leases, notificationUrl: state.url, clientState: async () => state.secret, now: () => state.now });
    return { graph, store, state, leases, make, row: () => row };
  }

  it("creates the users subscription with our clientState, then only verifies it while it is fresh", async () => {
    const s = setup();
    expect(await s.make().ensure()).toMatchObject({ action: "created", subscriptionId: "sub-1" });
    expect(s.graph.create).toHaveBeenCalledWith(expect.objectContaining({
      resource: "users", changeType: "updated,deleted", clientState: SECRET,
      notificationUrl: "https://bridge.example/api/notifications", lifecycleNotificationUrl: "https://bridge.example/api/notifications",
    }));
    expect(s.row()).toMatchObject({ subscriptionId: "sub-1", expirationDateTime: "2025-01-04T00:00:00.000Z" });
    expect(JSON.stringify(s.row())).not.toContain(SECRET);
    expect(await s.make().ensure()).toMatchObject({ action: "verified" });
    expect(s.graph.renew).not.toHaveBeenCalled();
  });

  it("renews once less than a day remains, and recreates when the renewal answers 404", async () => {
    const s = setup();
    await s.make().ensure();
    s.state.now += 2.5 * 24 * 3600_000;
    expect(await s.make().ensure()).toMatchObject({ action: "renewed", subscriptionId: "sub-1" });
    expect(s.row()!.expirationDateTime).toBe(new Date(s.state.now + 3 * 24 * 3600_000).toISOString());
    s.graph.items.clear();
    s.state.now += 2.5 * 24 * 3600_000;
    expect(await s.make().ensure()).toMatchObject({ action: "recreated", subscriptionId: "sub-2" });
  });

  it("recreates when the URL or the clientState secret changed, deleting the old one", async () => {
    const s = setup();
    await s.make().ensure();
    s.state.secret = "rotated";
    expect(await s.make().ensure()).toMatchObject({ action: "recreated", reason: expect.stringMatching(/clientState/) });
    expect([...s.graph.items.keys()]).toEqual(["sub-2"]);
    s.state.url = "https://moved.example/api/notifications";
    expect(await s.make().ensure()).toMatchObject({ action: "recreated", reason: expect.stringMatching(/URL/) });
    expect([...s.graph.items.values()].map((i) => i.notificationUrl)).toEqual(["https://moved.example/api/notifications"]);
  });

  it("removes an orphan of ours instead of doubling notifications", async () => {
    const s = setup();
    await s.make().ensure();
    await s.store.delete();
    expect(await s.make().ensure()).toMatchObject({ action: "created", subscriptionId: "sub-2" });
    expect([...s.graph.items.keys()]).toEqual(["sub-2"]);
  });

  it("deletes the subscription when webhooks are turned off", async () => {
    const s = setup();
    await s.make().ensure();
    s.state.url = undefined;
    expect(await s.make().ensure()).toMatchObject({ action: "deleted", subscriptionId: "sub-1" });
    expect(s.graph.items.size).toBe(0);
    expect(s.row()).toBeUndefined();
    expect(await s.make().ensure()).toEqual({ action: "off" });
  });

  it("handles lifecycle events: reauthorize by renewing, recreate when removed", async () => {
    const s = setup();
    await s.make().ensure();
    expect(await s.make().handleLifecycle("reauthorizationRequired", "sub-1")).toMatchObject({ action: "renewed", subscriptionId: "sub-1" });
    s.graph.items.delete("sub-1");
    expect(await s.make().handleLifecycle("subscriptionRemoved", "sub-1")).toMatchObject({ action: "recreated", subscriptionId: "sub-2" });
    expect(await s.make().handleLifecycle("missed", "sub-2")).toMatchObject({ action: "verified" });
  });

  it("leaves the work to the instance holding the lease", async () => {
    const s = setup({ leaseFree: false });
    expect(await s.make().ensure()).toEqual({ action: "busy" });
    await expect(s.make().handleLifecycle("missed", "sub-1")).rejects.toMatchObject({ status: 409 });
    expect(s.graph.create).not.toHaveBeenCalled();
  });
});
