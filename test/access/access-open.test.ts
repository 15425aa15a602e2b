// A full round reads the rule groups beside its first pages, not before them: with Graph's groups/delta answering
// slowly, the round's creates are under way before the rule groups are read, and every rule-group member still
// ends with the rule's unit, roles and team (the pages' touches wait for the access step, in order).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { SANDBOX_ACCESS, SANDBOX_GROUPS, sandboxAccessRules } from "../../dev/sandbox/seed-access.js";
import { recordsOf } from "../sync/sync-helpers.js";

let env: BridgeEnvironment;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1, seed: { users: 14, existingShare: 0 } });
  process.env.ACCESS_RULES = JSON.stringify(sandboxAccessRules(env.sandbox.dataverse[0]!.url));
});
afterAll(async () => {
  delete process.env.ACCESS_RULES;
  await env?.stop();
});

describe("the access step of a full round", () => {
  it("opens beside the round's first pages: creates go out before the rule groups are read, and members get their access", async () => {
    const graph = env.sandbox.graph.knobs;
    const dataverse = env.sandbox.dataverse[0]!;
    graph.schedule = (req) => (req.url?.includes("/groups/delta") ? { kind: "slow", delayMs: 600 } : null);
    const runs = (await import("../support/test-bridge.js")).testBridge().syncRuns;
    const run = await runs.start({ org: dataverse.url, trigger: "test", mode: "full" });
    try {
      await runs.execute({ org: run.org, runId: run.runId });
    } finally {
      graph.schedule = null;
    }
    const report = await runs.get(run.runId);
    expect(report.state).toBe("succeeded");

    const groupsRead = graph.requests.filter((r) => r.url.includes("/groups/delta"));
    expect(groupsRead.length).toBeGreaterThan(0);
    const firstWrite = dataverse.knobs.requests.find((r) => r.method === "POST" && r.url.includes("$batch"))!;
    expect(firstWrite.at).toBeLessThan(Math.min(...groupsRead.map((r) => r.answeredAt!)));

    const directory = env.sandbox.tenant.directory;
    const sales = new Set(directory.membersOf(SANDBOX_GROUPS.sales.id));
    expect(sales.size).toBeGreaterThan(0);
    const org = dataverse.org;
    for (const id of sales) {
      const record = recordsOf(org, id)[0]!;
      expect(org.access.units.get(record._businessunitid_value)!.name).toBe(SANDBOX_ACCESS.units.sales);
      expect(org.roleNamesOf(record.systemuserid)).toContain(SANDBOX_ACCESS.roles.salesperson);
    }
    expect(report.counts.accessChanged).toBeGreaterThanOrEqual(sales.size);
  });
});
