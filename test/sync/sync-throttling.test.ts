// Throttling end to end: 30% of Dataverse and Graph requests answer 429 with `Retry-After: 2`. The initial sync
// still converges, and no logical request (its client request id, the same on each retry) is retried before
// its Retry-After has passed since the 429 was answered.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { GraphEmulator } from "../../dev/sandbox/graph.js";
import type { RecordedRequest } from "../../dev/sandbox/https-service.js";
import { expectConverged } from "./sync-helpers.js";
import { seeded } from "../support/seeded-random.js";

const RETRY_AFTER_MS = 2000;
/** Timer and clock granularity between this process's server and client sides. */
const SLACK_MS = 50;

let env: BridgeEnvironment;


beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 250, existingShare: 0.3 } });
  const dv = env.sandbox.dataverse[0]!;
  dv.org.random = seeded(7);
  dv.org.throttle = { rate: 0.3, retryAfterSeconds: 2 };
  env.sandbox.graph.knobs.random = seeded(12);
  env.sandbox.graph.knobs.fault = GraphEmulator.throttle({ rate: 0.3, retryAfterSeconds: 2 });
});
afterAll(async () => { await env?.stop(); });

/** For each 429, the next request with the same client request id: [429 answered at, retry arrived at]. */
function retriesAfter429(requests: readonly RecordedRequest[]): Array<{ id: string; answeredAt: number; retriedAt: number | undefined }> {
  const byId = new Map<string, RecordedRequest[]>();
  for (const r of requests) {
    expect(r.clientRequestId, `${r.method} ${r.url} carries a client request id`).toBeTruthy();
    byId.set(r.clientRequestId!, [...(byId.get(r.clientRequestId!) ?? []), r]);
  }
  const pairs: Array<{ id: string; answeredAt: number; retriedAt: number | undefined }> = [];
  for (const [id, attempts] of byId) {
    attempts.sort((a, b) => a.at - b.at);
    attempts.forEach((r, i) => {
      if (r.status === 429) pairs.push({ id, answeredAt: r.answeredAt!, retriedAt: attempts[i + 1]?.at });
    });
  }
  return pairs;
}

it("converges under 30% 429s with Retry-After: 2 and retries nothing early", async () => {
  const root = (await import("../support/test-bridge.js")).testBridge();
  const syncRuns = () => root.syncRuns;
  const runs = syncRuns();
  const run = await runs.start({ trigger: "test" });
  const report = await runs.execute({ org: run.org, runId: run.runId });
  expect(report.state).toBe("succeeded");
  expect(report.counts.failed).toBe(0);
  expect(report.counts.created).toBe(175); // two Graph delta pages of at most 200
  expectConverged(env.sandbox, env.sandbox.dataverse[0]!.org);

  for (const [name, service] of [["Dataverse", env.sandbox.dataverse[0]!], ["Graph", env.sandbox.graph]] as const) {
    const pairs = retriesAfter429(service.knobs.requests);
    expect(pairs.length, `${name} answered some 429s`).toBeGreaterThan(0);
    for (const p of pairs) {
      expect(p.retriedAt, `${name} request ${p.id} was retried after its 429`).toBeDefined();
      expect(p.retriedAt!, `${name} request ${p.id} waited its Retry-After`).toBeGreaterThanOrEqual(p.answeredAt + RETRY_AFTER_MS - SLACK_MS);
    }
  }
  // The throttled services answered 429 often, yet every logical request is one 2xx in the end: no spinning.
  const dv = env.sandbox.dataverse[0]!.knobs.requests;
  const logical = new Set(dv.map((r) => r.clientRequestId)).size;
  expect(dv.filter((r) => r.status! < 300)).toHaveLength(logical);
}, 60_000);
