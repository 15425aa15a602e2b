import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../shared/tokens/rate-limit.js";

describe("RateLimiter (token bucket per caller)", () => {
  it("allows a minute's allowance, then refuses with Retry-After until a token refills", () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    for (let i = 0; i < 6; i++) expect(limiter.take("a", 6).allowed).toBe(true);
    const refused = limiter.take("a", 6);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 10 });
    now += 9_000;
    expect(limiter.take("a", 6)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now += 1_000;
    expect(limiter.take("a", 6).allowed).toBe(true);
    expect(limiter.take("a", 6).allowed).toBe(false);
  });

  it("keeps one bucket per caller", () => {
    const limiter = new RateLimiter(() => 0);
    expect(limiter.take("a", 1).allowed).toBe(true);
    expect(limiter.take("a", 1).allowed).toBe(false);
    expect(limiter.take("b", 1).allowed).toBe(true);
  });
});
