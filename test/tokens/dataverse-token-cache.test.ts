// Single flight, refresh-ahead and "too close to expiry" semantics of the org token cache (fake clock).
import { describe, expect, it } from "vitest";
import type { AccessToken } from "@azure/identity";
import { DataverseTokenCache, sha256Hex } from "../../shared/tokens/dataverse-token-cache.js";

const MIN = 60_000;
const ORG = "https://org1.example";

function harness(lifetimeMs = 60 * MIN) {
  let clock = 1_000_000;
  const calls: string[] = [];
  const gates: Array<() => void> = [];
  let fail = false;
  let manual = false;
  const cache = new DataverseTokenCache({
    now: () => clock,
    acquire: async (org) => {
      calls.push(org);
      if (manual) await new Promise<void>((r) => gates.push(r));
      if (fail) throw new Error("entra down");
      return { token: `tok-${calls.length}`, expiresOnTimestamp: clock + lifetimeMs } satisfies AccessToken;
    },
  });
  return {
    cache, calls, gates,
    advance: (ms: number) => { clock += ms; },
    setFail: (v: boolean) => { fail = v; },
    setManual: (v: boolean) => { manual = v; },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("DataverseTokenCache", () => {
  it("1,000 concurrent misses for a cold org share one acquisition", async () => {
    const h = harness();
    const results = await Promise.all(Array.from({ length: 1000 }, () => h.cache.get(ORG)));
    expect(h.calls).toEqual([ORG]);
    expect(new Set(results.map((r) => r.token))).toEqual(new Set(["tok-1"]));
    expect(results[0]!.sha256).toBe(sha256Hex("tok-1"));
  });

  it("caches per org", async () => {
    const h = harness();
    await h.cache.get(ORG);
    await h.cache.get("https://org2.example");
    await h.cache.get(ORG);
    expect(h.calls).toEqual([ORG, "https://org2.example"]);
  });

  it("refreshes ahead of expiry in the background: callers keep getting the cached token meanwhile", async () => {
    const h = harness();
    const first = await h.cache.get(ORG);
    h.advance(54 * MIN); // 6 min left: outside the 5 min window
    expect((await h.cache.get(ORG)).token).toBe(first.token);
    expect(h.calls).toHaveLength(1);

    h.advance(2 * MIN); // 4 min left: inside the window, still useful
    h.setManual(true);
    const during = await Promise.all(Array.from({ length: 50 }, () => h.cache.get(ORG)));
    expect(during.every((t) => t.token === first.token)).toBe(true); // nobody waited
    expect(h.calls).toHaveLength(2); // one background acquisition for all 50
    h.gates.forEach((open) => open());
    await settle();
    expect((await h.cache.get(ORG)).token).toBe("tok-2");
    expect(h.calls).toHaveLength(2);
  });

  it("refreshes first when the cached token is too close to expiry to be useful", async () => {
    const h = harness();
    await h.cache.get(ORG);
    h.advance(59 * MIN); // 1 min left, under the 2 min minimum
    const token = await h.cache.get(ORG);
    expect(token.token).toBe("tok-2");
    expect(token.expiresOnTimestamp).toBeGreaterThan(1_000_000 + 59 * MIN + 30 * MIN);
  });

  it("keeps serving the cached token when a background refresh fails, and retries later, not on every call", async () => {
    const h = harness();
    await h.cache.get(ORG);
    h.advance(56 * MIN);
    h.setFail(true);
    expect((await h.cache.get(ORG)).token).toBe("tok-1");
    await settle();
    expect((await h.cache.get(ORG)).token).toBe("tok-1");
    await settle();
    expect(h.calls).toHaveLength(2);
    h.advance(31_000);
    h.setFail(false);
    await h.cache.get(ORG);
    await settle();
    expect(h.calls).toHaveLength(3);
    expect((await h.cache.get(ORG)).token).toBe("tok-3");
  });

  it("a failed cold acquisition reaches every waiting caller, and the next call tries again", async () => {
    const h = harness();
    h.setFail(true);
    const results = await Promise.allSettled([h.cache.get(ORG), h.cache.get(ORG)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(h.calls).toHaveLength(1);
    h.setFail(false);
    expect((await h.cache.get(ORG)).token).toBe("tok-2");
  });

  it("does not ask again on every call when the credential keeps handing back the same token", async () => {
    let clock = 0;
    let calls = 0;
    const cache = new DataverseTokenCache({
      now: () => clock,
      acquire: async () => { calls++; return { token: "same", expiresOnTimestamp: 4 * MIN }; },
    });
    await cache.get(ORG); // 4 min left: inside the refresh window from the start
    for (let i = 0; i < 20; i++) { await cache.get(ORG); await settle(); }
    expect(calls).toBe(1);
    clock += 31_000;
    await cache.get(ORG);
    await settle();
    expect(calls).toBe(2);
  });
});
