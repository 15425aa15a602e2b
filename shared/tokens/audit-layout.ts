// How token audit records sit in Table storage (pure: no I/O). A group commit packs its records into as few
// entities as Table limits allow: each record is one compact JSON object, records are joined into JSON arrays
// of at most PROPERTY_CHARS each (properties r0, r1, …), an entity holds as many such properties as fit in
// 1 MiB, a transaction as many entities as fit in 4 MiB. Partitions are `<owner>_<day>-<shard>`: one caller's
// day is spread over AUDIT_SHARDS sub-partitions (each instance starts at a random shard and rotates per
// commit), so instances and bursts do not queue on one partition. Rows written before packing (one record per
// entity, partition `<owner>_<day>`) are decoded too: a range over `<owner>_<day>` … `<owner>_<day>.` covers both.
import {
  MAX_CUSTOM_PROPERTIES,
  MAX_ENTITY_BYTES,
  MAX_TRANSACTION_BYTES,
  MAX_TRANSACTION_OPS,
  SAFE_STRING_CHARS,
  type TableEntity,
} from "../state/table-limits.js";

/** Marks a packed entity (`v`); rows without it are the one-record-per-entity layout. */
export const PACKED_LAYOUT = 2;
/** Sub-partitions per owner and day. */
export const AUDIT_SHARDS = 16;
/** Characters (UTF-16 code units) of one property: under the 32K limit with room to spare. */
export const PROPERTY_CHARS = SAFE_STRING_CHARS - 2_000;
/**
 * The longest a record's JSON can be: every wire-derived field is capped at 256 code units (the reason at 512)
 * and JSON escaping at most doubles a capped value (no control characters are left to escape as \uXXXX).
 */
export const MAX_RECORD_CHARS = 8_000;
/**
 * Bytes a code unit may take on the wire, the larger of the two ways the service counts: 2 in the entity size
 * formula; in the JSON body 3 (UTF-8 of a BMP character) or 2 (`"` and `\` escaped once more inside the string).
 */
const BYTES_PER_CHAR = 3;
/** Room for keys, names, `v`/`n` and JSON framing in an entity; for multipart framing in a transaction. */
const ENTITY_BUDGET = MAX_ENTITY_BYTES - 16 * 1024;
const TRANSACTION_BUDGET = MAX_TRANSACTION_BYTES - 256 * 1024;
const MAX_RECORD_PROPERTIES = MAX_CUSTOM_PROPERTIES - 4;

export interface AuditRecord {
  /** `provisioned`: an admin's POST /api/callers/{id}/provision changed the caller's application user. */
  outcome: "issued" | "refused" | "provisioned";
  /** Caller id from TOKEN_CALLERS, or the claimed client id / app id of an unknown caller. */
  caller: string;
  /** False for a refusal before the sender authenticated: `caller` is only a claim then. */
  authenticated?: boolean;
  grant?: string;
  method?: string;
  /** The org the token is (or would have been) for. */
  target?: string;
  /** The Dataverse app (application user) the issued token is for: the caller's dataverseAppId. */
  identity?: string;
  /** OAuth error code of a refusal. */
  error?: string;
  /** Internal reason (refusals) or token source (issuance). */
  reason?: string;
  time: Date;
  /** Expiry of the issued token. */
  expiresOn?: Date;
  tokenSha256?: string;
}

/** The fields stored for one record (strings already capped; times as ISO 8601), as in a chunk and the log line. */
export type StoredAuditRecord = Omit<AuditRecord, "time" | "expiresOn"> & { time: string; expiresOn?: string };

export interface AuditChunk {
  entity: TableEntity;
  /** How many of the given records (in order) this entity holds. */
  count: number;
}

/** `<owner>_<day>-<shard>`, shard as two hex digits. */
export function auditPartition(ownerDay: string, shard: number): string {
  return `${ownerDay}-${(shard % AUDIT_SHARDS).toString(16).padStart(2, "0")}`;
}

/** PartitionKey bounds that hold every row of `<owner>_<day>`, old layout (exact key) and sharded ones. */
export function ownerDayRange(ownerDay: string): { from: string; below: string } {
  return { from: ownerDay, below: `${ownerDay}.` };
}

/**
 * The entities of one transaction, taking records (JSON texts, each at most MAX_RECORD_CHARS) from the front
 * of `texts` until the transaction is full: at most 100 entities and 4 MiB, each entity at most 1 MiB and 252
 * properties, each property at most PROPERTY_CHARS. `taken` says how many records went in.
 */
export function packTransaction(
  texts: readonly string[],
  partitionKey: string,
  rowKey: (index: number) => string,
): { chunks: AuditChunk[]; taken: number } {
  const chunks: AuditChunk[] = [];
  let taken = 0;
  let transactionBytes = 0;
  while (taken < texts.length && chunks.length < MAX_TRANSACTION_OPS) {
    const room = Math.min(ENTITY_BUDGET, TRANSACTION_BUDGET - transactionBytes);
    // Room for the largest record with its entity's framing, or the transaction is full.
    if (room < 2 * (MAX_RECORD_CHARS + 2) * BYTES_PER_CHAR) break;
    const chunk = packEntity(texts, taken, room, { partitionKey, rowKey: rowKey(chunks.length) });
    if (chunk.chunk.count === 0) break;
    chunks.push(chunk.chunk);
    transactionBytes += chunk.bytes;
    taken += chunk.chunk.count;
  }
  return { chunks, taken };
}

function packEntity(texts: readonly string[], start: number, room: number, keys: { partitionKey: string; rowKey: string }) {
  const entity: TableEntity = { ...keys, v: PACKED_LAYOUT, n: 0 };
  let bytes = 512 + (keys.partitionKey.length + keys.rowKey.length) * BYTES_PER_CHAR;
  let index = start;
  let property = 0;
  let current: string[] = [];
  let chars = 2;
  const flush = () => {
    entity[`r${property++}`] = `[${current.join(",")}]`;
    current = [];
    chars = 2;
  };
  for (; index < texts.length; index++) {
    const text = texts[index]!;
    const opensProperty = current.length === 0 || chars + text.length + 1 > PROPERTY_CHARS;
    const cost = (text.length + 1) * BYTES_PER_CHAR + (opensProperty ? 64 : 0);
    if (bytes + cost > room || (opensProperty && current.length > 0 && property + 1 >= MAX_RECORD_PROPERTIES)) break;
    if (opensProperty && current.length > 0) flush();
    current.push(text);
    chars += text.length + 1;
    bytes += cost;
  }
  if (current.length > 0) flush();
  const count = index - start;
  entity.n = count;
  return { chunk: { entity, count }, bytes };
}

/** The records an audit row holds: every record of a packed entity, or the one record of an old row. */
export function decodeAuditRow(row: Record<string, unknown>): StoredAuditRecord[] {
  if (row.v !== PACKED_LAYOUT) return [oldRow(row)];
  const records: StoredAuditRecord[] = [];
  for (let i = 0; typeof row[`r${i}`] === "string"; i++) records.push(...(JSON.parse(row[`r${i}`] as string) as StoredAuditRecord[]));
  return records;
}

const OLD_ROW_FIELDS = [
  "outcome",
  "caller",
  "authenticated",
  "grant",
  "method",
  "target",
  "identity",
  "error",
  "reason",
  "time",
  "expiresOn",
  "tokenSha256",
] as const;

function oldRow(row: Record<string, unknown>): StoredAuditRecord {
  const record: Record<string, unknown> = {};
  for (const field of OLD_ROW_FIELDS) {
    const value = row[field];
    if (value !== undefined && value !== null) record[field] = value instanceof Date ? value.toISOString() : value;
  }
  return record as unknown as StoredAuditRecord;
}
