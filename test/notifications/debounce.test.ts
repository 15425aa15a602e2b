// The durable debounce on Azurite: many instances and a burst of notifications claim one window per org,
// so one queue message (one run) per org; a new window opens only after the previous one has passed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TableClient } from "@azure/data-tables";
import { startAzurite, type RunningAzurite } from "../../dev/sandbox/azurite.js";
import { SyncDebouncer } from "../../shared/notifications/debounce.js";
import type { SyncMessage } from "../../shared/notifications/messages.js";

let storageEmulator: RunningAzurite;
let tableNo = 0;

beforeAll(async () => { storageEmulator = await startAzurite(); });
afterAll(async () => { await storageEmulator?.stop(); });

const ORGS = ["https://org1.crm.dynamics.com", "https://org2.crm.dynamics.com", "https://org3.crm.dynamics.com"];

async function freshTable(): Promise<() => Promise<TableClient>> {
  const client = TableClient.fromConnectionString(storageEmulator.connectionString, `Debounce${++tableNo}`, { allowInsecureConnection: true });
  await client.createTable();
  return async () => client;
}

function instances(count: number, client: () => Promise<TableClient>, clock: { now: number }, sent: Array<{ message: SyncMessage; seconds: number }>) {
  return Array.from({ length: count }, () => new SyncDebouncer({
    client, now: () => clock.now, enqueue: async (message, seconds) => { sent.push({ message, seconds }); },
  }));
}

describe("SyncDebouncer", () => {
  it("coalesces a burst of 1,000 notifications over 4 instances into one message per org", async () => {
    const clock = { now: Date.now() };
    const sent: Array<{ message: SyncMessage; seconds: number }> = [];
    const debouncers = instances(4, await freshTable(), clock, sent);
    const outcomes = await Promise.all(Array.from({ length: 1000 }, (_, i) => debouncers[i % 4]!.request(ORGS[i % ORGS.length]!)));
    expect(outcomes.filter((o) => o === "scheduled")).toHaveLength(ORGS.length);
    expect(sent.map((s) => s.message.org).sort()).toEqual([...ORGS].sort());
    expect(sent.every((s) => s.seconds === 5 && s.message.kind === "sync")).toBe(true);
  });

  it("opens a new window once the pending one has passed", async () => {
    const clock = { now: Date.now() };
    const sent: Array<{ message: SyncMessage; seconds: number }> = [];
    const [a, b] = instances(2, await freshTable(), clock, sent);
    expect(await a!.request(ORGS[0]!)).toBe("scheduled");
    clock.now += 4_000;
    expect(await b!.request(ORGS[0]!)).toBe("coalesced");
    clock.now += 1_001;
    expect(await b!.request(ORGS[0]!)).toBe("scheduled");
    expect(await a!.request(ORGS[0]!)).toBe("coalesced");
    expect(sent).toHaveLength(2);
  });

  it("gives the window back when the queue message cannot be sent", async () => {
    const client = await freshTable();
    const failing = new SyncDebouncer({ client, enqueue: async () => { throw new Error("queue down"); } });
    await expect(failing.request(ORGS[0]!)).rejects.toThrow("queue down");
    const sent: SyncMessage[] = [];
    const healthy = new SyncDebouncer({ client, enqueue: async (m) => { sent.push(m); } });
    expect(await healthy.request(ORGS[0]!)).toBe("scheduled");
    expect(sent).toHaveLength(1);
  });

  it("retries an org whose run is in progress with a growing delay, covering notifications meanwhile", async () => {
    const clock = { now: Date.now() };
    const sent: Array<{ message: SyncMessage; seconds: number }> = [];
    const [a, b] = instances(2, await freshTable(), clock, sent);
    expect(await a!.retryLater(ORGS[0]!, 0)).toBe(5);
    expect(await a!.retryLater(ORGS[0]!, 3)).toBe(40);
    expect(await a!.retryLater(ORGS[0]!, 10)).toBe(60);
    expect(sent.map((s) => [s.message.attempt, s.seconds])).toEqual([[1, 5], [4, 40], [11, 60]]);
    expect(await b!.request(ORGS[0]!)).toBe("coalesced");
  });
});
