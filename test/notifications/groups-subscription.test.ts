// With ACCESS_RULES the bridge keeps a `groups` subscription beside the `users` one: each has its own stored row and
// lease, neither removes the other as an orphan, and a lifecycle event is acted on by the subscription it names.
import { describe, expect, it, vi } from "vitest";
import type { NewSubscription, SubscriptionsPort, GraphSubscriptionInfo } from "../../shared/notifications/graph-subscriptions.js";
import { SubscriptionManager, SubscriptionSet } from "../../shared/notifications/subscription-manager.js";
import type { StoredSubscription } from "../../shared/notifications/subscription-store.js";

function fakeGraph() {
  const items = new Map<string, GraphSubscriptionInfo>();
  let n = 0;
  const graph: SubscriptionsPort = {
    create: vi.fn(async (input: NewSubscription) => { const s = { id: `sub-${++n}`, ...input }; items.set(s.id, s); return s; }),
    renew: vi.fn(async (id: string, expirationDateTime: string) => { const s = items.get(id); if (!s) return null; s.expirationDateTime = expirationDateTime; return s; }),
    get: vi.fn(async (id: string) => items.get(id) ?? null),
    list: vi.fn(async () => [...items.values()]),
    delete: vi.fn(async (id: string) => { items.delete(id); }),
  };
  return { graph, items };
}

describe("the groups subscription", () => {
  it("is kept beside the users subscription, each in its own row and lease", async () => {
    const { graph, items } = fakeGraph();
    const rows = new Map<string, StoredSubscription>();
    const keys: string[] = [];
    const leases = {
      acquire: vi.fn(async (key: string) => { keys.push(key); return { acquired: true as const, lease: { key, holder: "h", expiresAt: 0, note: "" } }; }),
      release: vi.fn(async () => undefined),
    };
    const manager = (resource: string) => new SubscriptionManager({
      graph, leases, resource, notificationUrl: "https://bridge.example/api/notifications", clientState: async () => "secret-value-0123456789",
      store: { get: async () => rows.get(resource), save: async (s) => { rows.set(resource, s); }, delete: async () => { rows.delete(resource); } },
    });
    const set = new SubscriptionSet([manager("users"), manager("groups")]);
    expect(await set.ensure()).toMatchObject({ action: "created" });
    expect([...items.values()].map((s) => s.resource).sort()).toEqual(["groups", "users"]);
    expect(new Set(keys)).toEqual(new Set(["notifications:subscription", "notifications:subscription:groups"]));
    expect(await set.ensure()).toMatchObject({ action: "verified" });
    expect(items.size).toBe(2);

    const groups = rows.get("groups")!.subscriptionId;
    expect(await set.handleLifecycle("subscriptionRemoved", groups)).toMatchObject({ action: "recreated" });
    expect(rows.get("groups")!.subscriptionId).not.toBe(groups);
    expect([...items.values()].map((s) => s.resource).sort()).toEqual(["groups", "users"]);
  });
});
