// The notification debounce on Azurite, across instances: a quiet org's first notification starts a run at
// once (leading edge), a burst while it is queued costs nothing more, notifications while it runs cost one
// follow-up (trailing edge).
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
  it("leading edge: a quiet org's first notification sends its message at once; a burst of 1,000 over 4 instances sends one per org", async () => {
    const clock = { now: Date.now() };
    const sent: Array<{ message: SyncMessage; seconds: number }> = [];
    const debouncers = instances(4, await freshTable(), clock, sent);
    const outcomes = await Promise.all(Array.from({ length: 1000 }, (_, i) => debouncers[i % 4]!.request(ORGS[i % ORGS.length]!)));
    expect(outcomes.filter((o) => o === "scheduled")).toHaveLength(ORGS.length);
    expect(sent.map((s) => s.message.org).sort()).toEqual([...ORGS].sort());
    expect(sent.every((s) => s.seconds === 0 && s.message.kind === "sync" && typeof s.message.claim === "string")).toBe(true);
  });

  it("trailing edge: notifications while a run reads coalesce into one follow-up; a follow-up of a follow-up is spaced", async () => {
    const clock = { now: Date.now() };
    const sent: Array<{ message: SyncMessage; seconds: number }> = [];
    const [a, b, c] = instances(3, await freshTable(), clock, sent);
    const org = ORGS[0]!;
    expect(await a!.request(org)).toBe("scheduled");
    expect(await b!.request(org)).toBe("coalesced"); // queued: the run has not read yet, it covers this one
    expect(await c!.holds(org, sent[0]!.message.claim)).toBe(true);
    await c!.runStarted(org, "run-1");
    expect(await a!.holds(org, sent[0]!.message.claim)).toBe(false); // a later message of that claim is superseded
    const during = await Promise.all(Array.from({ length: 30 }, (_, i) => [a, b, c][i % 3]!.request(org)));
    expect(during.filter((o) => o === "scheduled")).toHaveLength(1); // the follow-up is marked once
    expect(sent).toHaveLength(1); // and not sent before the run ends
    clock.now += 1_200;
    await c!.runFinished(org, "run-1");
    expect(sent).toHaveLength(2);
    expect(sent[1]!.seconds).toBe(0); // the first follow-up goes at once
    expect(await b!.holds(org, sent[1]!.message.claim)).toBe(true);
    // Changes keep coming: the follow-up's own follow-up waits until 5 s (MIN_SPACING_SECONDS) after its start.
    await a!.runStarted(org, "run-2");
    expect(await b!.request(org)).toBe("scheduled");
    clock.now += 1_200;
    await a!.runFinished(org, "run-2");
    expect(sent.map((s) => s.seconds)).toEqual([0, 0, 4]);
    // That one runs with nothing new meanwhile: the org goes quiet, and the next change leads again.
    await c!.runStarted(org, "run-3");
    await c!.runFinished(org, "run-3");
    expect(sent).toHaveLength(3);
    expect(await b!.request(org)).toBe("scheduled");
    expect(sent.at(-1)!.seconds).toBe(0);
  });

  it("a run that ends with no notification meanwhile, or a stale end, sends nothing", async () => {
    const sent: Array<{ message: SyncMessage; seconds: number }> = [];
    const [a] = instances(1, await freshTable(), { now: Date.now() }, sent);
    await a!.runStarted(ORGS[1]!, "timer-run");
    await a!.runFinished(ORGS[1]!, "some-older-run");
    await a!.runFinished(ORGS[1]!, "timer-run");
    expect(sent).toHaveLength(0);
  });

  it("gives the claim back when the queue message cannot be sent", async () => {
    const client = await freshTable();
    const failing = new SyncDebouncer({ client, enqueue: async () => { throw new Error("queue down"); } });
    await expect(failing.request(ORGS[0]!)).rejects.toThrow("queue down");
    const sent: SyncMessage[] = [];
    const healthy = new SyncDebouncer({ client, enqueue: async (m) => { sent.push(m); } });
    expect(await healthy.request(ORGS[0]!)).toBe("scheduled");
    expect(sent).toHaveLength(1);
  });

  it("a claim whose run never started stops covering notifications after its time to live", async () => {
    const clock = { now: Date.now() };
    const sent: Array<{ message: SyncMessage; seconds: number }> = [];
    const [a, b] = instances(2, await freshTable(), clock, sent);
    expect(await a!.request(ORGS[0]!)).toBe("scheduled");
    clock.now += 4 * 60_000;
    expect(await b!.request(ORGS[0]!)).toBe("coalesced");
    clock.now += 61_000;
    expect(await b!.request(ORGS[0]!)).toBe("scheduled");
    expect(await a!.holds(ORGS[0]!, sent[0]!.message.claim)).toBe(false);
    expect(sent).toHaveLength(2);
  });

  it("retries an org held by a run it did not see start with a growing delay, keeping its claim", async () => {
    const sent: Array<{ message: SyncMessage; seconds: number }> = [];
    const [a] = instances(1, await freshTable(), { now: Date.now() }, sent);
    expect(await a!.retryLater(ORGS[0]!, 0, "c1")).toBe(5);
    expect(await a!.retryLater(ORGS[0]!, 3, "c1")).toBe(40);
    expect(await a!.retryLater(ORGS[0]!, 10, "c1")).toBe(60);
    expect(sent.map((s) => [s.message.attempt, s.seconds, s.message.claim])).toEqual([[1, 5, "c1"], [4, 40, "c1"], [11, 60, "c1"]]);
  });
});
