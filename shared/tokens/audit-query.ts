// Reads the token audit back (TABLES.tokenAudit): one caller's records for a day, or every record, in both
// layouts (packed sub-partitioned entities, and one-record rows written before packing; audit-layout.ts).
import { odata, type TableClient } from "@azure/data-tables";
import { decodeAuditRow, ownerDayRange, type StoredAuditRecord } from "./audit-layout.js";

/** Partition owner of refusals whose sender never authenticated (their `caller` is only a claim). */
export const UNAUTHENTICATED_OWNER = "~unauthenticated";

export interface AuditQuery {
  /** A caller id, or UNAUTHENTICATED_OWNER; with `day`, reads only that caller's partitions of that day. */
  owner?: string;
  /** YYYY-MM-DD (UTC). */
  day?: string;
}

/** The records matching the query, oldest first. Without owner and day, the whole table. */
export async function readAudit(table: Pick<TableClient, "listEntities">, query: AuditQuery = {}): Promise<StoredAuditRecord[]> {
  const filter = query.owner !== undefined && query.day !== undefined ? rangeFilter(`${query.owner}_${query.day}`) : undefined;
  const records: StoredAuditRecord[] = [];
  for await (const row of table.listEntities<Record<string, unknown>>(filter ? { queryOptions: { filter } } : {})) {
    const owner = partitionOwner(String(row.partitionKey));
    for (const record of decodeAuditRow(row)) {
      if (query.day !== undefined && !record.time.startsWith(query.day)) continue;
      if (query.owner !== undefined && owner !== query.owner) continue;
      records.push(record);
    }
  }
  return records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

function rangeFilter(ownerDay: string): string {
  const { from, below } = ownerDayRange(ownerDay);
  return odata`PartitionKey ge ${from} and PartitionKey lt ${below}`;
}

/** `<owner>_<YYYY-MM-DD>` or `<owner>_<YYYY-MM-DD>-<shard>` → owner. */
function partitionOwner(partitionKey: string): string {
  const match = /^(.*)_\d{4}-\d{2}-\d{2}(?:-[0-9a-f]{2})?$/.exec(partitionKey);
  return match ? match[1]! : partitionKey;
}
