// Exclusive, expiring leases in Table storage, guarded by ETags: one holder per key at a time; a holder
// that dies stops renewing and its lease lapses (so a crashed run frees its org within the lease time).
import { RestError, type TableClient } from "@azure/data-tables";
import { encodeKey, fitEntity } from "./table-limits.js";

export interface Lease {
  key: string;
  holder: string;
  expiresAt: number;
  /** What the holder wants others to see (e.g. the run id). */
  note: string;
}

export type AcquireResult = { acquired: true; lease: Lease } | { acquired: false; current: Lease };

interface LeaseEntity {
  partitionKey: string;
  rowKey: string;
  holder: string;
  expiresAt: number;
  note: string;
}

const PARTITION = "lease";

export class LeaseStore {
  constructor(
    private readonly client: () => Promise<TableClient>,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(key: string, holder: string, durationMs: number, note = ""): Promise<AcquireResult> {
    const client = await this.client();
    const rowKey = encodeKey(key);
    const entity: LeaseEntity = fitEntity({ partitionKey: PARTITION, rowKey, holder, expiresAt: this.now() + durationMs, note });
    const existing = await getEntity(client, rowKey);
    try {
      if (!existing) {
        await client.createEntity(entity);
      } else {
        const current = toLease(key, existing);
        if (current.holder !== holder && current.expiresAt > this.now()) return { acquired: false, current };
        await client.updateEntity(entity, "Replace", { etag: existing.etag });
      }
    } catch (error) {
      if (error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412)) {
        const winner = await getEntity(client, rowKey);
        if (winner) return { acquired: false, current: toLease(key, winner) };
        return this.acquire(key, holder, durationMs, note);
      }
      throw error;
    }
    return { acquired: true, lease: toLease(key, entity) };
  }

  /** Extends a lease still held by `holder`; false when it was lost. */
  async renew(key: string, holder: string, durationMs: number): Promise<boolean> {
    const client = await this.client();
    const existing = await getEntity(client, encodeKey(key));
    if (!existing || existing.holder !== holder) return false;
    try {
      await client.updateEntity(fitEntity({ ...stripMeta(existing), expiresAt: this.now() + durationMs }), "Replace", { etag: existing.etag });
      return true;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 412) return false;
      throw error;
    }
  }

  async release(key: string, holder: string): Promise<void> {
    const client = await this.client();
    const existing = await getEntity(client, encodeKey(key));
    if (!existing || existing.holder !== holder) return;
    await client.deleteEntity(PARTITION, existing.rowKey, { etag: existing.etag }).catch((error: unknown) => {
      if (!(error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412))) throw error;
    });
  }

  async get(key: string): Promise<Lease | undefined> {
    const existing = await getEntity(await this.client(), encodeKey(key));
    return existing ? toLease(key, existing) : undefined;
  }
}

// Table keys may not contain / \ # ? or control characters: base64url keeps any key safe (hashed when long).
export { encodeKey } from "./table-limits.js";

async function getEntity(client: TableClient, rowKey: string): Promise<(LeaseEntity & { etag: string }) | undefined> {
  try {
    return await client.getEntity<LeaseEntity>(PARTITION, rowKey) as LeaseEntity & { etag: string };
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

function stripMeta(entity: LeaseEntity): LeaseEntity {
  return { partitionKey: entity.partitionKey, rowKey: entity.rowKey, holder: entity.holder, expiresAt: entity.expiresAt, note: entity.note };
}

function toLease(key: string, entity: LeaseEntity): Lease {
  return { key, holder: entity.holder, expiresAt: Number(entity.expiresAt), note: entity.note };
}
