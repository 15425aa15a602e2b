import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { describeDisableThreshold, disableLimit, exceedsDisableThreshold, formatDisableThreshold, smallestBaseAdmitting } from "../../shared/sync/threshold.js";

describe("disable threshold", () => {
  it.each([
    // disables, managed users, threshold, exceeds
    [500, 100_000, { count: 500 }, false],
    [501, 100_000, { count: 500 }, true],
    [1, 10, { count: 0 }, true],
    [0, 10, { count: 0 }, false],
    [5, 100, { percent: 5 }, false],
    [6, 100, { percent: 5 }, true],
    [1, 10, { percent: 5 }, true], // 5% of 10 rounds down to 0
    [3, 3000, { percent: 0.1 }, false], // exactly 3, not 2.999…
    [4, 3000, { percent: 0.1 }, true],
    [100, 200, { percent: 50 }, false],
    [200, 200, { percent: 100 }, false],
    [1, 0, { percent: 5 }, true],
  ] as const)("%i disables of %i managed users with %o → exceeds %s", (disables, total, threshold, expected) => {
    expect(exceedsDisableThreshold(disables, total, threshold)).toBe(expected);
  });

  it("formats the threshold as configured", () => {
    expect(formatDisableThreshold({ count: 500 })).toBe("500");
    expect(formatDisableThreshold({ percent: 5 })).toBe("5%");
  });

  it("describes the check for the run report", () => {
    expect(describeDisableThreshold(12, 200, { percent: 5 })).toEqual({
      threshold: "5%",
      limit: 10,
      disables: 12,
      managedUsers: 200,
      exceeded: true,
      message: "12 disables planned, more than the threshold 5% of 200 managed users = 10: halted before disabling anyone, approve the run to go on",
    });
    expect(describeDisableThreshold(3, 200, { count: 500 })).toMatchObject({ exceeded: false, limit: 500, message: "3 disables planned, within the threshold 500" });
  });

  it("property: exceeding is monotonic in the disable count and agrees with the limit", () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(200_000), fc.oneof(fc.record({ count: fc.nat(1000) }), fc.record({ percent: fc.integer({ min: 0, max: 100 }) })), (n, total, t) => {
        const limit = disableLimit(t, total);
        expect(limit).toBeGreaterThanOrEqual(0);
        expect(exceedsDisableThreshold(n, total, t)).toBe(n > limit);
        if (exceedsDisableThreshold(n, total, t)) expect(exceedsDisableThreshold(n + 1, total, t)).toBe(true);
        if ("percent" in t) expect(limit * 100).toBeLessThanOrEqual(t.percent * total);
      }),
    );
  });

  it("smallestBaseAdmitting is the least base whose share admits the count (counting further cannot change the decision)", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0.01, max: 100, noNaN: true }), (count, percent) => {
      const t = { percent };
      const base = smallestBaseAdmitting(count, t)!;
      expect(disableLimit(t, base)).toBeGreaterThanOrEqual(count);
      if (base > 0) expect(disableLimit(t, base - 1)).toBeLessThan(count);
    }));
    expect(smallestBaseAdmitting(3, { count: 500 })).toBeUndefined();
    expect(smallestBaseAdmitting(1_500, { percent: 100 })).toBe(1_500);
  });
});
