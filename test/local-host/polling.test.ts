// The local host polls an idle queue as the Functions host does: back-off up to host.json's
// extensions.queues.maxPollingInterval (default 1 minute), read as the host reads it.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { DEFAULT_MAX_POLLING_MS, maxPollingIntervalMs } from "../../dev/local-host/queues.js";

describe("maxPollingInterval", () => {
  it("reads a TimeSpan or milliseconds, never under the host's 100 ms floor, else the host's default", () => {
    const of = (value: unknown) => maxPollingIntervalMs({ extensions: { queues: { maxPollingInterval: value } } });
    expect(of("00:00:02")).toBe(2_000);
    expect(of("00:01:00")).toBe(60_000);
    expect(of("00:00:00.5")).toBe(500);
    expect(of(1500)).toBe(1_500);
    expect(of("00:00:00.01")).toBe(100);
    expect(of("soon")).toBe(DEFAULT_MAX_POLLING_MS);
    expect(maxPollingIntervalMs({})).toBe(DEFAULT_MAX_POLLING_MS);
    expect(maxPollingIntervalMs(undefined)).toBe(60_000);
  });

  it("the app's host.json polls an idle queue at least every second (a queue hop is part of change latency)", () => {
    const hostJson = JSON.parse(readFileSync(new URL("../../host.json", import.meta.url), "utf8")) as unknown;
    expect(maxPollingIntervalMs(hostJson)).toBeLessThanOrEqual(1_000);
  });
});
