// The chaos soak in CI: one round with a fixed seed — two hosts on one on-disk Azurite, directory churn (group
// membership and licences included), and every fault kind at least once (throttling with Retry-After, slow
// answers, resets, a storage outage, hosts killed mid-page, mid-$batch, mid-remap and mid-bulk job, duplicate
// and out-of-order deliveries) — then the invariants. `npm run soak -- --minutes N --seed S` runs it longer.
import { expect, it } from "vitest";
import { formatResult, runSoak } from "../../dev/soak/soak.js";
import { testTls } from "../support/tls.js";

const SEED = 20261207;

it("converges after faults and churn together, with every invariant holding", async () => {
  const result = await runSoak({ seed: SEED, tls: testTls(), durationMs: 0, chaosMs: 10_000, users: 40 });
  console.log(formatResult(result));
  expect(result.violations).toEqual([]);
  expect(result.checks).toBeGreaterThanOrEqual(8);
  // The round really was chaotic: throttling answered, storage went down, a host died, deliveries repeated.
  const faults = Object.fromEntries(result.tally.under("fault: "));
  const throttled = ["dataverse 429", "dataverse 503", "graph 429", "graph 503"].reduce((n, k) => n + (faults[k] ?? 0), 0);
  expect(throttled).toBeGreaterThan(0);
  expect(faults["storage outage"]).toBeGreaterThan(0);
  expect(Object.keys(faults).filter((k) => k.startsWith("host killed")).length).toBeGreaterThan(0);
  const churn = result.tally.under("churn: ").map(([kind]) => kind);
  expect(churn.length).toBeGreaterThan(3);
  expect(churn.filter((k) => k.startsWith("rule group") || k.startsWith("licence")).length).toBeGreaterThan(0);
}, 180_000);
