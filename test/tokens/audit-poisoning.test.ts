// Issue #11 item 1: an unauthenticated request that claims a real caller's client_id with an oversized
// grant_type must not withhold that caller's tokens (the oversized row used to fail the caller's whole
// group-commit transaction). Values are capped, such refusals go to their own partition, and a failed batch
// is retried row by row.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { basic, postForm } from "./support.js";

let env: BridgeEnvironment;
let handler: typeof import("../../functions/token.http.js").token;
let org1: string;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1 });
  org1 = env.sandbox.dataverse[0]!.url;
  ({ token: handler } = await import("../../functions/token.http.js"));
});
afterAll(async () => env?.stop());

describe("audit poisoning", () => {
  it("a 40,000-character grant_type claiming a real client_id does not stop that caller's issuances", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    const legit = () => postForm(handler, { grant_type: "client_credentials", scope: `${org1}/.default` }, { authorization: basic(clientId, secret) });
    const poison = () => postForm(handler, { grant_type: "x".repeat(40_000), client_id: clientId, scope: `${org1}/.default` });
    await legit(); // warm: the next requests are audited in the same tick, in one batch per partition
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? poison() : legit())));
    const legitStatuses = results.filter((_, i) => i % 3 !== 0).map((r) => r.status);
    const poisonStatuses = results.filter((_, i) => i % 3 === 0).map((r) => r.status);
    expect(legitStatuses).toEqual(Array(20).fill(200));
    expect(poisonStatuses).toEqual(Array(10).fill(400));

    const { TABLES } = await import("../../shared/state/storage.js");
    const { readAudit, UNAUTHENTICATED_OWNER } = await import("../../shared/tokens/audit-query.js");
    const { storage } = (await import("../support/test-bridge.js")).testBridge();
    const table = await storage.table(TABLES.tokenAudit);
    const day = new Date().toISOString().slice(0, 10);
    const partitions = new Set<string>();
    for await (const row of table.listEntities()) partitions.add(String(row.partitionKey));
    // Packed sub-partitions: `<owner>_<day>-<shard>`; the unauthenticated senders' ones apart from the caller's.
    for (const partition of partitions) expect(partition).toMatch(new RegExp(`^(${clientId}|~unauthenticated)_\\d{4}-\\d{2}-\\d{2}-[0-9a-f]{2}$`));
    const unauthenticated = await readAudit(table, { owner: UNAUTHENTICATED_OWNER, day });
    const poisonRows = unauthenticated.filter((r) => r.outcome === "refused" && r.error === "unsupported_grant_type");
    expect(poisonRows).toHaveLength(10);
    for (const row of poisonRows) {
      expect(row.caller).toBe(clientId); // the claim is kept, as a claim
      expect(row.authenticated).toBe(false);
      expect(String(row.grant).length).toBeLessThanOrEqual(256);
      expect(String(row.grant)).toMatch(/^x+…\[truncated \d+ chars\]$/);
    }
    const own = await readAudit(table, { owner: clientId, day });
    expect(own.filter((r) => r.outcome === "issued")).toHaveLength(21);
    expect(own.some((r) => r.authenticated === false)).toBe(false);
  });
});

describe("TableAuditSink", () => {
  it("retries a failed group commit record by record: only the record that cannot be stored fails", async () => {
    const { TableAuditSink, prepareAudit } = await import("../../shared/tokens/audit.js");
    const transactions: number[] = [];
    const write = async (entities: Array<Record<string, unknown>>) => {
      transactions.push(entities.length);
      if (entities.some((entity) => JSON.stringify(entity).includes("unstorable"))) throw new Error("PropertyValueTooLarge");
      return { status: 202 } as any;
    };
    const sink = new TableAuditSink(async () => ({
      submitTransaction: async (actions: any[]) => write(actions.map(([, entity]: [string, Record<string, unknown>]) => entity)),
      createEntity: async (entity: Record<string, unknown>) => write([entity]),
    }));
    const time = new Date();
    const outcomes = await Promise.allSettled([
      sink.record(prepareAudit({ outcome: "issued", caller: "a", time })),
      sink.record(prepareAudit({ outcome: "refused", caller: "a", authenticated: true, reason: "unstorable", time })),
      sink.record(prepareAudit({ outcome: "issued", caller: "a", time })),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    // One packed entity carried all three; after it failed, each record went alone.
    expect(transactions).toEqual([1, 1, 1, 1]);
  });

  it("stores exactly the fields its log line carries (one capped serialisation for both)", async () => {
    const { TableAuditSink, auditLogLine, prepareAudit } = await import("../../shared/tokens/audit.js");
    const { decodeAuditRow } = await import("../../shared/tokens/audit-layout.js");
    const stored: Array<Record<string, unknown>> = [];
    const sink = new TableAuditSink(async () => ({
      submitTransaction: async () => { throw new Error("one record is a plain insert"); },
      createEntity: async (entity: Record<string, unknown>) => { stored.push(entity); return {} as any; },
    }));
    const entry = prepareAudit({ outcome: "refused", caller: "c\u0007".repeat(300), authenticated: true, reason: "r".repeat(2_000), time: new Date() });
    await sink.record(entry);
    const logged = JSON.parse(auditLogLine(entry).slice("token-audit ".length));
    expect(decodeAuditRow(stored[0]!)).toEqual([logged]);
    expect((logged.reason as string).length).toBeLessThanOrEqual(512);
  });

  it("caps and normalises wire values before they reach a row or a log line", async () => {
    const { auditLogLine, capWireValue, prepareAudit } = await import("../../shared/tokens/audit.js");
    expect(capWireValue("a\u0000b\nc\ud800d")).toBe("a\ufffdb\ufffdc\ufffdd");
    expect(capWireValue("https://org1.crm.dynamics.com")).toBe("https://org1.crm.dynamics.com");
    expect(capWireValue("a\u007f")).toBe("a\ufffd");
    expect(capWireValue("a".repeat(257))).toMatch(/^a+…\[truncated \d+ chars\]$/);
    const capped = capWireValue("é".repeat(300))!;
    expect(capped.length).toBeLessThanOrEqual(256);
    expect(capped).toMatch(/^é+…\[truncated \d+ chars\]$/);
    const line = auditLogLine(prepareAudit({ outcome: "refused", caller: "x\n".repeat(5000), authenticated: false, grant: "g".repeat(10_000), time: new Date() }));
    expect(line).not.toContain("\n");
    expect(line.length).toBeLessThan(1200);
  });
});
