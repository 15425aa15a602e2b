// Token audit packing (issue 20 item 1): a group commit's records go into as few entities as Table limits allow,
// on rotating sub-partitions; records with every field at its cap stay within every limit (checked here by
// the size formulas and by Azurite, which enforces them); rows in the layout before packing stay readable.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TableClient } from "@azure/data-tables";
import { startAzurite, type RunningAzurite } from "../../dev/sandbox/azurite.js";
import { prepareAudit, TableAuditSink, type AuditRecord } from "../../shared/tokens/audit.js";
import {
  AUDIT_SHARDS,
  MAX_RECORD_CHARS,
  PACKED_LAYOUT,
  PROPERTY_CHARS,
  decodeAuditRow,
  packTransaction,
} from "../../shared/tokens/audit-layout.js";
import { readAudit, UNAUTHENTICATED_OWNER } from "../../shared/tokens/audit-query.js";
import {
  MAX_CUSTOM_PROPERTIES,
  MAX_ENTITY_BYTES,
  MAX_STRING_CHARS,
  MAX_TRANSACTION_BYTES,
  MAX_TRANSACTION_OPS,
  encodedSize,
  jsonSize,
  type TableEntity,
} from "../../shared/state/table-limits.js";

/** A record whose every field is far over its cap, in characters that cost the most on the wire. */
function maxRecord(i: number, time = new Date()): AuditRecord {
  const worst = (n: number) => `"\\é\uD83D\uDE00\u2028`.repeat(n);
  return {
    outcome: "refused",
    caller: `caller-${i % 3}`,
    authenticated: true,
    grant: worst(500),
    method: worst(500),
    target: worst(500),
    identity: worst(500),
    error: worst(500),
    reason: worst(2_000),
    time,
    expiresOn: time,
    tokenSha256: "f".repeat(64),
  };
}

describe("audit layout (pure)", () => {
  it("packs records of max-size fields within every entity and transaction limit", () => {
    const texts = Array.from({ length: 3_000 }, (_, i) =>
      JSON.stringify({ ...maxRecord(i), grant: `"\\é`.repeat(1_000) }).slice(0, MAX_RECORD_CHARS),
    );
    let offset = 0;
    let transactions = 0;
    while (offset < texts.length) {
      const { chunks, taken } = packTransaction(texts.slice(offset), "caller-0_2026-12-07-0a", (i) => `row-${transactions}-${i}`);
      expect(taken).toBeGreaterThan(0);
      expect(chunks.length).toBeLessThanOrEqual(MAX_TRANSACTION_OPS);
      const transactionBytes = chunks.reduce((sum, c) => sum + jsonSize(c.entity), 0);
      expect(transactionBytes).toBeLessThan(MAX_TRANSACTION_BYTES);
      for (const { entity, count } of chunks) {
        expect(encodedSize(entity)).toBeLessThanOrEqual(MAX_ENTITY_BYTES);
        expect(Object.keys(entity).length - 2).toBeLessThanOrEqual(MAX_CUSTOM_PROPERTIES);
        for (const value of Object.values(entity))
          if (typeof value === "string") expect(value.length).toBeLessThanOrEqual(Math.min(PROPERTY_CHARS, MAX_STRING_CHARS));
        expect(entity.n).toBe(count);
      }
      offset += taken;
      transactions++;
    }
    // A transaction carries megabytes of records, not one each.
    expect(transactions).toBeLessThan(texts.length / 100);
  });

  it("decodes a packed entity and a row of the layout before packing", () => {
    const { chunks } = packTransaction(
      [JSON.stringify({ outcome: "issued", caller: "a", time: "2026-12-07T00:00:00.000Z" })],
      "a_2026-12-07-00",
      () => "r",
    );
    expect(chunks[0]!.entity.v).toBe(PACKED_LAYOUT);
    expect(decodeAuditRow(chunks[0]!.entity)).toEqual([{ outcome: "issued", caller: "a", time: "2026-12-07T00:00:00.000Z" }]);
    const old = {
      partitionKey: "a_2026-12-07",
      rowKey: "x",
      etag: "W/1",
      timestamp: "t",
      outcome: "refused",
      caller: "a",
      authenticated: false,
      error: "invalid_client",
      time: "2026-12-07T00:00:01.000Z",
    };
    expect(decodeAuditRow(old)).toEqual([
      { outcome: "refused", caller: "a", authenticated: false, error: "invalid_client", time: "2026-12-07T00:00:01.000Z" },
    ]);
  });
});

describe("TableAuditSink on Azurite", () => {
  let azurite: RunningAzurite;
  let tableNo = 0;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  async function freshTable(): Promise<TableClient> {
    const client = TableClient.fromConnectionString(azurite.connectionString, `AuditLayout${++tableNo}`, { allowInsecureConnection: true });
    await client.createTable();
    return client;
  }

  function counting(table: TableClient) {
    const transactions: number[] = [];
    const client = {
      submitTransaction: (actions: Parameters<TableClient["submitTransaction"]>[0]) => {
        transactions.push(actions.length);
        return table.submitTransaction(actions);
      },
      createEntity: (entity: Parameters<TableClient["createEntity"]>[0]) => {
        transactions.push(1);
        return table.createEntity(entity);
      },
    };
    return { transactions, client: async () => client };
  }

  it("stores a burst of records with max-size fields in a few entities, and reads every one back", async () => {
    const table = await freshTable();
    const { transactions, client } = counting(table);
    const sink = new TableAuditSink(client);
    const time = new Date();
    await Promise.all(Array.from({ length: 900 }, (_, i) => sink.record(prepareAudit(maxRecord(i, time)))));
    const entities: TableEntity[] = [];
    for await (const row of table.listEntities<TableEntity>()) entities.push(row);
    // 900 records of about 7,000 characters each: tens of entities, not 900.
    expect(entities.length).toBeLessThan(60);
    expect(transactions.length).toBeLessThan(40);
    const day = time.toISOString().slice(0, 10);
    const back = await readAudit(table, { owner: "caller-1", day });
    expect(back).toHaveLength(300);
    expect(back[0]).toMatchObject({
      outcome: "refused",
      caller: "caller-1",
      authenticated: true,
      time: time.toISOString(),
      tokenSha256: "f".repeat(64),
    });
    expect(back[0]!.grant!.length).toBeLessThanOrEqual(256);
    expect(back[0]!.reason!.length).toBeLessThanOrEqual(512);
    expect(back[0]!.grant).toMatch(/…\[truncated \d+ chars\]$/);
  });

  it("spreads commits over sub-partitions and keeps unauthenticated refusals apart", async () => {
    const table = await freshTable();
    const instances = [new TableAuditSink(async () => table), new TableAuditSink(async () => table)];
    const time = new Date();
    for (let commit = 0; commit < 6; commit++) {
      await Promise.all(
        instances.flatMap((sink) => [
          sink.record(prepareAudit({ outcome: "issued", caller: "reporting", time })),
          sink.record(prepareAudit({ outcome: "refused", caller: "reporting", authenticated: false, error: "invalid_client", time })),
        ]),
      );
    }
    const partitions = new Set<string>();
    for await (const row of table.listEntities()) partitions.add(String(row.partitionKey));
    const day = time.toISOString().slice(0, 10);
    const own = [...partitions].filter((p) => p.startsWith(`reporting_${day}-`));
    expect(own.length).toBeGreaterThan(1);
    expect(own.length).toBeLessThanOrEqual(AUDIT_SHARDS);
    expect([...partitions].every((p) => p.startsWith(`reporting_${day}-`) || p.startsWith(`${UNAUTHENTICATED_OWNER}_${day}-`))).toBe(true);
    expect(await readAudit(table, { owner: "reporting", day })).toHaveLength(12);
    const claims = await readAudit(table, { owner: UNAUTHENTICATED_OWNER, day });
    expect(claims).toHaveLength(12);
    expect(claims.every((r) => r.caller === "reporting" && r.authenticated === false)).toBe(true);
  });

  it("reads rows written before packing beside packed ones, oldest first", async () => {
    const table = await freshTable();
    const day = "2026-12-01";
    // The layout before packing: one record per entity, partition `<caller>_<day>`.
    await table.createEntity({
      partitionKey: `reporting_${day}`,
      rowKey: `${day}T08:00:00.000Z_1`,
      outcome: "issued",
      caller: "reporting",
      grant: "client_credentials",
      target: "https://org.example",
      time: `${day}T08:00:00.000Z`,
      tokenSha256: "a".repeat(64),
    });
    await table.createEntity({
      partitionKey: `~unauthenticated_${day}`,
      rowKey: `${day}T08:00:01.000Z_2`,
      outcome: "refused",
      caller: "reporting",
      authenticated: false,
      error: "invalid_client",
      time: `${day}T08:00:01.000Z`,
    });
    await new TableAuditSink(async () => table).record(prepareAudit({
      outcome: "issued",
      caller: "reporting",
      target: "https://org.example",
      time: new Date(`${day}T09:00:00.000Z`),
    }));
    const own = await readAudit(table, { owner: "reporting", day });
    expect(own.map((r) => [r.time, r.outcome, r.tokenSha256 ?? null])).toEqual([
      [`${day}T08:00:00.000Z`, "issued", "a".repeat(64)],
      [`${day}T09:00:00.000Z`, "issued", null],
    ]);
    expect((await readAudit(table, { owner: UNAUTHENTICATED_OWNER, day })).map((r) => r.error)).toEqual(["invalid_client"]);
    expect(await readAudit(table)).toHaveLength(3);
  });
});
