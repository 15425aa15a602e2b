// RFC 7523 §3 replay protection: each client assertion's `jti` is accepted once per caller until the
// assertion expires. Rows in TABLES.seenJti (shared by every instance); the insert itself is the check
// (a second insert of the same key conflicts), so two instances can't both accept one assertion.
import { createHash } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import { fitEntity } from "../state/table-limits.js";
import { upstreamStatus } from "../errors/app-error.js";

export interface JtiStore {
  /** True if this is the first use of `jti` by the caller; false if it was seen and hasn't expired. */
  markUsed(callerId: string, jti: string, expiresAt: Date): Promise<boolean>;
}

type Client = Pick<TableClient, "createEntity" | "getEntity" | "updateEntity" | "listEntities" | "deleteEntity">;

interface SeenJti {
  partitionKey: string;
  rowKey: string;
  expiresAt: Date;
}

export class TableJtiStore implements JtiStore {
  private lastPurge = 0;

  constructor(
    private readonly client: () => Promise<Client>,
    private readonly now: () => number = Date.now,
    private readonly purgeEveryMs = 10 * 60_000,
  ) {}

  async markUsed(callerId: string, jti: string, expiresAt: Date): Promise<boolean> {
    const client = await this.client();
    // jti is free text; the row key is its hash (table keys exclude / \ # ?).
    const entity: SeenJti = fitEntity({ partitionKey: callerId, rowKey: createHash("sha256").update(jti).digest("hex"), expiresAt });
    this.maybePurge(client);
    try {
      await client.createEntity(entity);
      return true;
    } catch (error) {
      if (upstreamStatus(error) !== 409) throw error;
    }
    // Seen before: a replay, unless that earlier use has expired (then the jti may be used again).
    const seen = await client.getEntity<{ expiresAt: Date }>(entity.partitionKey, entity.rowKey);
    if (new Date(seen.expiresAt).getTime() > this.now()) return false;
    try {
      await client.updateEntity(entity, "Replace", { etag: seen.etag });
      return true;
    } catch (error) {
      if (upstreamStatus(error) === 412) return false; // another instance took it first
      throw error;
    }
  }

  /** Drops expired rows now and then, in the background (they no longer protect anything). */
  private maybePurge(client: Client): void {
    const now = this.now();
    if (now - this.lastPurge < this.purgeEveryMs) return;
    this.lastPurge = now;
    void (async () => {
      const cutoff = new Date(now).toISOString();
      for await (const row of client.listEntities({ queryOptions: { filter: `expiresAt lt datetime'${cutoff}'`, select: ["PartitionKey", "RowKey"] } })) {
        await client.deleteEntity(row.partitionKey!, row.rowKey!).catch(() => undefined);
      }
    })().catch(() => undefined);
  }
}


