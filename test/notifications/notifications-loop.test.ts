// The whole webhook loop on the local Functions host: the subscription timer creates the Graph subscription
// (the emulator performs the validation handshake against our endpoint), a directory change is posted to
// /api/notifications, debounced through Table storage and the notifications queue, and an incremental sync
// carries it into both sandbox Dataverse orgs, without the sync timer. Lifecycle notifications and lost
// subscriptions are handled. Tests run in order and share state, like a deployed app over time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TableClient } from "@azure/data-tables";
import { installFunctionsCore } from "../../dev/local-host/functions-core.js";
import type { LocalHost } from "../../dev/local-host/host.js";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import type { RunReport } from "../../shared/sync/run-report.js";
import type { SubscriptionStore as SubscriptionStoreType } from "../../shared/notifications/subscription-store.js";
import { waitFor as waitForState } from "../support/wait-for.js";

let env: BridgeEnvironment;
let host: LocalHost;
let url: string;
let store: SubscriptionStoreType;

beforeAll(async () => {
  installFunctionsCore(); // before anything loads @azure/functions
  env = await startBridgeEnvironment({ orgs: 2, seed: { users: 12 } });
  const { startLocalHost } = await import("../../dev/local-host/host.js");
  host = await startLocalHost({ port: 0, timers: false, storageConnectionString: env.azurite.connectionString, log: () => undefined });
  url = `${host.url}/api/notifications`;
  process.env.NOTIFICATION_URL = url; // http to loopback: the only plain-http NOTIFICATION_URL config accepts
  const { SubscriptionStore } = await import("../../shared/notifications/subscription-store.js");
  store = new SubscriptionStore((await import("../support/test-bridge.js")).testBridge().storage.tableOf((await import("../../shared/state/storage.js")).TABLES.subscriptions));
});
afterAll(async () => {
  await host?.close();
  await env?.stop();
});

const emulator = () => env.sandbox.graph.emulator;
const directory = () => env.sandbox.tenant.directory;
const secret = () => env.sandbox.tenant.vault.get(env.sandbox.identities.clientStateSecretName)!.at(-1)!.value;
const orgs = () => env.sandbox.dataverse.map((d) => d.org);
const waitFor = <T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 40_000) => waitForState(probe, timeoutMs);

const tableClient = (name: string) => TableClient.fromConnectionString(env.azurite.connectionString, name, { allowInsecureConnection: true });

async function runs(): Promise<RunReport[]> {
  const out: RunReport[] = [];
  for await (const row of tableClient("BridgeRuns").listEntities<{ report: string }>({ queryOptions: { filter: "PartitionKey eq 'run'" } })) out.push(JSON.parse(row.report));
  return out;
}
const notificationRuns = async () => (await runs()).filter((r) => r.trigger === "notification");

async function debounceRows(): Promise<Array<{ org: string; phase: string; expiresAt: number }>> {
  const out: Array<{ org: string; phase: string; expiresAt: number }> = [];
  try {
    for await (const row of tableClient("BridgeNotifyDebounce").listEntities<{ org: string; phase: string; expiresAt: number }>()) out.push({ org: row.org, phase: row.phase, expiresAt: Number(row.expiresAt) });
  } catch { /* table not created yet */ }
  return out;
}

/** No notification run queued or running and no run unfinished: what follows starts from a quiet system. */
async function quiet(): Promise<void> {
  await waitFor(async () => {
    const pending = (await debounceRows()).some((r) => r.expiresAt > Date.now());
    const busy = (await runs()).some((r) => r.state === "queued" || r.state === "running");
    return !pending && !busy;
  }, 60_000);
}

async function postNotifications(value: unknown[]): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ value }) });
}

const change = (id: string, clientState: string) => ({
  subscriptionId: emulator().subscriptions[0]?.id ?? "none", changeType: "updated", resource: `Users/${id}`,
  resourceData: { id }, clientState, tenantId: env.sandbox.tenant.tenantId,
});

describe("Graph change notifications on the local host", () => {
  it("the timer creates the users subscription after Graph's validation handshake, and stores it", async () => {
    await host.runTimer("graphSubscriptions");
    const subs = emulator().subscriptions;
    expect(subs).toHaveLength(1);
    expect(subs[0]).toMatchObject({ resource: "users", changeType: "updated,deleted", notificationUrl: url, lifecycleNotificationUrl: url, clientState: secret() });
    const validations = emulator().deliveries.filter((d) => d.kind === "validation");
    expect(validations.length).toBeGreaterThan(0);
    expect(validations.every((d) => d.status === 200 && !d.error)).toBe(true);
    expect(await store.get()).toMatchObject({ subscriptionId: subs[0]!.id, expirationDateTime: subs[0]!.expirationDateTime, notificationUrl: url });
    await host.runTimer("graphSubscriptions"); // fresh: verified, not duplicated
    expect(emulator().subscriptions.map((s) => s.id)).toEqual([subs[0]!.id]);
  });

  it("echoes a validation token as text/plain over HTTP", async () => {
    const token = "Validation: Testing client application reachability for subscription Request-Id: 123 +&=";
    const response = await fetch(`${url}?validationToken=${encodeURIComponent(token)}`, { method: "POST" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe(token);
  });

  it("a user changed in the directory reaches both Dataverse orgs without the sync timer", async () => {
    const user = [...directory().users.values()].find((u) => u.state === "active" && u.accountEnabled)!;
    const title = `Webhook ${Date.now()}`;
    directory().updateUser(user.id, { jobTitle: title });
    for (const org of orgs()) {
      await waitFor(() => [...org.users.values()].some((r) => r.azureactivedirectoryobjectid?.toLowerCase() === user.id.toLowerCase() && r.jobtitle === title), 60_000);
    }
    expect(emulator().deliveries.some((d) => d.kind === "change" && d.status === 202)).toBe(true);
    const byNotification = await notificationRuns();
    expect(new Set(byNotification.map((r) => r.org))).toEqual(new Set(env.sandbox.dataverse.map((d) => d.url.toLowerCase())));
    await quiet();
    // Now incremental: another change travels through the delta cursor the first run saved.
    const second = `Webhook again ${Date.now()}`;
    directory().updateUser(user.id, { jobTitle: second });
    for (const org of orgs()) await waitFor(() => [...org.users.values()].some((r) => r.jobtitle === second), 60_000);
    await quiet();
    const latest = (await notificationRuns()).filter((r) => !byNotification.some((b) => b.runId === r.runId));
    expect(latest.map((r) => r.mode)).toEqual(["incremental", "incremental"]);
    expect(latest.every((r) => r.counts.updated === 1)).toBe(true);
  }, 150_000);

  it("ignores notifications with a wrong clientState", async () => {
    await quiet();
    const before = await debounceRows();
    const user = [...directory().users.values()][0]!;
    const response = await postNotifications([change(user.id, "forged"), change(user.id, `${secret()}x`)]);
    expect(response.status).toBe(202);
    expect(await debounceRows()).toEqual(before);
  }, 90_000);

  it("a burst of 1,000 notifications coalesces into one run per org, and at most one follow-up", async () => {
    await quiet();
    const beforeRuns = await notificationRuns();
    const before = beforeRuns.length;
    const users = [...directory().users.values()];
    const batches = Array.from({ length: 100 }, (_, b) => Array.from({ length: 10 }, (_, i) => change(users[(b * 10 + i) % users.length]!.id, secret())));
    const answers = await Promise.all(batches.map((batch) => postNotifications(batch)));
    expect(answers.every((a) => a.status === 202)).toBe(true);
    for (const u of users.slice(0, 5)) directory().updateUser(u.id, { mobilePhone: `+1 555 0${Math.floor(Math.random() * 1000)}` });
    await emulator().flushNotifications();
    await waitFor(async () => (await notificationRuns()).length >= before + 2 || undefined, 60_000);
    await quiet();
    const after = await notificationRuns();
    // Rows come back in runId order (random): pick the new ones by id, not by position.
    const known = new Set(beforeRuns.map((r) => r.runId));
    const fresh = after.filter((r) => !known.has(r.runId));
    // The leading run of each org, plus at most one follow-up for notifications that came while it read.
    const perOrg = env.sandbox.dataverse.map((d) => fresh.filter((r) => r.org.replace(/\/$/, "") === d.url.replace(/\/$/, "")).length);
    expect(new Set(fresh.map((r) => r.org)).size).toBe(2);
    expect(fresh.length).toBe(perOrg.reduce((a, b) => a + b, 0));
    for (const runs of perOrg) expect(runs === 1 || runs === 2, `runs per org: ${perOrg}`).toBe(true);
  }, 150_000);

  it("reauthorizationRequired renews the subscription and runs a sync", async () => {
    await quiet();
    const sub = emulator().subscriptions[0]!;
    const expiry = sub.expirationDateTime;
    const before = (await notificationRuns()).length;
    const delivery = await emulator().sendLifecycleNotification(sub.id, "reauthorizationRequired");
    expect(delivery.status).toBe(202);
    await waitFor(() => Date.parse(emulator().subscriptions[0]!.expirationDateTime) > Date.parse(expiry));
    expect(emulator().subscriptions.map((s) => s.id)).toEqual([sub.id]);
    await waitFor(async () => (await notificationRuns()).length >= before + 2 || undefined, 60_000);
  }, 120_000);

  it("subscriptionRemoved recreates the subscription", async () => {
    await quiet();
    const old = emulator().subscriptions[0]!.id;
    expect((await emulator().sendLifecycleNotification(old, "subscriptionRemoved")).status).toBe(202);
    const fresh = await waitFor(() => emulator().subscriptions.find((s) => s.id !== old));
    expect(emulator().subscriptions).toHaveLength(1);
    await waitFor(async () => (await store.get())?.subscriptionId === fresh.id);
  }, 120_000);

  it("missed runs a sync of every org", async () => {
    await quiet();
    const before = (await notificationRuns()).length;
    expect((await emulator().sendLifecycleNotification(emulator().subscriptions[0]!.id, "missed")).status).toBe(202);
    await waitFor(async () => (await notificationRuns()).length >= before + 2 || undefined, 60_000);
    expect(emulator().subscriptions).toHaveLength(1);
  }, 120_000);

  it("renews the subscription well before it expires", async () => {
    const sub = emulator().subscriptions[0]!;
    const soon = new Date(Date.now() + 60 * 60_000).toISOString();
    sub.expirationDateTime = soon;
    await store.save({ ...(await store.get())!, expirationDateTime: soon });
    await host.runTimer("graphSubscriptions");
    expect(emulator().subscriptions.map((s) => s.id)).toEqual([sub.id]);
    expect(Date.parse(emulator().subscriptions[0]!.expirationDateTime)).toBeGreaterThan(Date.now() + 2 * 24 * 3600_000);
    expect((await store.get())!.expirationDateTime).toBe(emulator().subscriptions[0]!.expirationDateTime);
  });

  it("recreates the subscription when Graph lost it: 404 on renew, or on the routine check", async () => {
    const lost = emulator().subscriptions[0]!.id;
    await store.save({ ...(await store.get())!, expirationDateTime: new Date(Date.now() + 60_000).toISOString() });
    emulator().forgetSubscription(lost);
    await host.runTimer("graphSubscriptions");
    const recreated = emulator().subscriptions;
    expect(recreated).toHaveLength(1);
    expect(recreated[0]!.id).not.toBe(lost);
    expect((await store.get())!.subscriptionId).toBe(recreated[0]!.id);

    emulator().forgetSubscription(recreated[0]!.id);
    await host.runTimer("graphSubscriptions");
    expect(emulator().subscriptions).toHaveLength(1);
    expect(emulator().subscriptions[0]!.id).not.toBe(recreated[0]!.id);
  });

  it("never answers 5xx to malformed bodies over HTTP", async () => {
    const bodies: Array<[string, string]> = [
      ["", "application/json"], ["{", "application/json"], ["[]", "application/json"], ["null", "application/json"],
      ['{"value":"x"}', "application/json"], ['{"value":[1,{"lifecycleEvent":7}]}', "application/json"],
      ["\u0000\u00ff binary", "application/octet-stream"], ["value=1", "application/x-www-form-urlencoded"],
      [JSON.stringify({ value: [], pad: "x".repeat(1_100_000) }), "application/json"],
    ];
    for (const [body, type] of bodies) {
      const response = await fetch(url, { method: "POST", headers: { "content-type": type }, body });
      expect(response.status, body.slice(0, 40)).toBeLessThan(500);
      expect([202, 400, 413]).toContain(response.status);
    }
    expect((await fetch(url, { method: "GET" })).status).toBe(405);
  });
});
