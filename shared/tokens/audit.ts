// Audit of every issuance and refusal: stored in Table storage (TABLES.tokenAudit) and one log
// line each (auditLogLine, written to the invocation log), carrying the SHA-256 of an issued token, never the
// token or a secret. Issuance waits for its record to be durable: if the write fails the caller gets no token
// (fail closed). Group commit: records that arrive while a write is being prepared or is in flight wait
// together and go in the next write, packed into as few entities as Table limits allow, on a rotating
// sub-partition (audit-layout.ts); a failed write is retried record by record, so one record that cannot be
// stored cannot withhold the others' tokens. Every field that came off the wire is capped and normalised
// first, and refusals of senders that never authenticated go to their own partition, never to the caller they
// claim to be (issue #11, audit poisoning).
import { randomInt, randomUUID } from "node:crypto";
import type { TableClient, TransactionAction } from "@azure/data-tables";
import { truncateText, wellFormed } from "../state/table-limits.js";
import { UNAUTHENTICATED_OWNER } from "./audit-query.js";
import { AUDIT_SHARDS, MAX_RECORD_CHARS, auditPartition, packTransaction, type AuditChunk, type AuditRecord } from "./audit-layout.js";

export type { AuditRecord } from "./audit-layout.js";

/** A record capped and serialised once (prepareAudit): the same text goes to the log line and to storage. */
export interface PreparedAudit {
  record: AuditRecord;
  /** `<owner>_<day>`: where its partition starts. */
  ownerDay: string;
  /** The stored fields as compact JSON (every string capped). */
  text: string;
}

export interface AuditSink {
  /** Resolves once the record is stored; rejects when it could not be. */
  record(entry: PreparedAudit): Promise<void>;
}

type AuditTable = Pick<TableClient, "submitTransaction" | "createEntity">;

/** A record waiting for its write, with its promise's settlers (no closure of its own per record). */
interface Pending {
  text: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function settle(pending: Pending, error?: unknown): void {
  if (error === undefined) pending.resolve();
  else pending.reject(error);
}

/**
 * Writes in flight per owner and day at once, each on its own sub-partition; more records wait for one. A
 * record waits for about one write, not two (2 in flight: saturation 0.12–0.21 × bare node:http; 8: 0.28 ×).
 */
const MAX_IN_FLIGHT = 8;

export class TableAuditSink implements AuditSink {
  /** Records waiting, per `<owner>_<day>`. */
  private readonly queued = new Map<string, Pending[]>();
  private readonly inFlight = new Map<string, number>();
  private readonly scheduled = new Set<string>();
  /** Next sub-partition: starts at random so instances spread from their first write. */
  private shard = randomInt(AUDIT_SHARDS);

  constructor(private readonly client: () => Promise<AuditTable>) {}

  record({ ownerDay, text }: PreparedAudit): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const list = this.queued.get(ownerDay);
      const pending: Pending = { text, resolve, reject };
      if (list) list.push(pending);
      else this.queued.set(ownerDay, [pending]);
      this.schedule(ownerDay);
    });
  }

  /** Group commit: the write starts after this turn of the event loop, carrying everything queued by then. */
  private schedule(ownerDay: string): void {
    if (this.scheduled.has(ownerDay) || (this.inFlight.get(ownerDay) ?? 0) >= MAX_IN_FLIGHT) return;
    this.scheduled.add(ownerDay);
    setImmediate(() => {
      this.scheduled.delete(ownerDay);
      this.startWrite(ownerDay);
    });
  }

  private startWrite(ownerDay: string): void {
    const list = this.queued.get(ownerDay);
    if (!list || list.length === 0) return;
    const partitionKey = auditPartition(ownerDay, this.shard++);
    const stamp = `${new Date().toISOString()}_${randomUUID()}`;
    const { chunks, taken } = packTransaction(list.map((p) => p.text), partitionKey, (i) => `${stamp}_${i}`);
    // Cannot happen (records are bounded by MAX_RECORD_CHARS), but a record that fits nowhere must not stall the rest.
    if (taken === 0) settle(list.shift()!, new Error("audit record does not fit in an entity"));
    const batch = list.splice(0, taken);
    if (list.length === 0) this.queued.delete(ownerDay);
    if (batch.length === 0) return void (this.queued.has(ownerDay) && this.schedule(ownerDay));
    this.inFlight.set(ownerDay, (this.inFlight.get(ownerDay) ?? 0) + 1);
    void this.commit(chunks, batch, partitionKey).finally(() => {
      const left = (this.inFlight.get(ownerDay) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(ownerDay);
      else this.inFlight.set(ownerDay, left);
      if (this.queued.has(ownerDay)) this.schedule(ownerDay);
    });
    if (this.queued.has(ownerDay)) this.schedule(ownerDay);
  }

  private async commit(chunks: AuditChunk[], batch: Pending[], partitionKey: string): Promise<void> {
    try {
      await this.submit(chunks.map((c) => c.entity));
      for (const p of batch) p.resolve();
    } catch (error) {
      if (batch.length === 1) return settle(batch[0]!, error ?? new Error("audit write failed"));
      // A transaction fails as a whole: retry each record alone so only a record that really can't be stored fails.
      for (const p of batch) {
        const single = packTransaction([p.text], partitionKey, () => `${new Date().toISOString()}_${randomUUID()}`);
        await this.submit(single.chunks.map((c) => c.entity)).then(() => p.resolve(), (rowError: unknown) => settle(p, rowError ?? new Error("audit write failed")));
      }
    }
  }

  private async submit(entities: AuditChunk["entity"][]): Promise<void> {
    const client = await this.client();
    // One entity (the usual group commit) is a plain insert: no multipart batch to build and parse.
    if (entities.length === 1) return void (await client.createEntity(entities[0]!));
    const actions: TransactionAction[] = entities.map((entity) => ["create", entity]);
    const response = await client.submitTransaction(actions);
    if (response.status >= 300) throw new Error(`audit transaction answered ${response.status}`);
  }
}

/** The log line of an audit record (Application Insights in Azure): the row's fields, no token. */
export function auditLogLine(entry: PreparedAudit): string {
  return `token-audit ${entry.text}`;
}

function toLogFields(record: AuditRecord): Record<string, unknown> {
  return {
    outcome: record.outcome,
    caller: capWireValue(record.caller),
    authenticated: record.authenticated,
    grant: capWireValue(record.grant),
    method: capWireValue(record.method),
    target: capWireValue(record.target),
    identity: capWireValue(record.identity),
    error: capWireValue(record.error),
    reason: capWireValue(record.reason, MAX_REASON),
    time: record.time.toISOString(),
    expiresOn: record.expiresOn?.toISOString(),
    tokenSha256: record.tokenSha256,
  };
}

/** The record as stored and logged (every string capped, serialised once) and the owner-and-day its partition starts with. */
export function prepareAudit(record: AuditRecord): PreparedAudit {
  const fields = toLogFields(record);
  // Only a sender that authenticated writes into its caller's partition; a claim alone goes apart.
  const owner = record.outcome === "refused" && record.authenticated === false ? UNAUTHENTICATED_PARTITION : safeKey(record.caller);
  // One caller's day is one key range: "what did caller X get on day D" scans its sub-partitions only.
  const ownerDay = `${owner}_${(fields.time as string).slice(0, 10)}`;
  const text = JSON.stringify(fields);
  // Cannot happen: every string field is capped (capWireValue); the layout's limits rely on this bound.
  if (text.length > MAX_RECORD_CHARS) throw new Error(`audit record of ${text.length} characters exceeds ${MAX_RECORD_CHARS}`);
  return { record, ownerDay, text };
}

/** Table keys exclude / \ # ? and control characters; claimed ids from the wire may contain anything. */
function safeKey(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what Table keys must not hold
  const cleaned = capWireValue(value, 200)!.replace(/[/\\#?\u0000-\u001f\u007f-\u009f\ufffd]/g, "_");
  return cleaned || "_";
}

/** Partition (per day) of refusals whose sender never authenticated. Caller ids are [A-Za-z0-9._:-], so no clash. */
const UNAUTHENTICATED_PARTITION = UNAUTHENTICATED_OWNER;
/** Longest wire-derived string kept in an audit field (ids, grant types, targets are far shorter). */
const MAX_FIELD = 256;
const MAX_REASON = 512;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Caps and normalises a value that may have come off the wire before it reaches storage or a log line: at
 * most `max` characters with a visible marker of what was cut (shared/state/table-limits), lone surrogates and
 * control characters replaced (a log line stays one line).
 */
export function capWireValue(value: string | undefined, max = MAX_FIELD): string | undefined {
  if (value === undefined) return undefined;
  // The usual value (an id, a grant type, an org URL) is short printable ASCII: nothing to cut or replace.
  if (value.length <= max && PRINTABLE_ASCII.test(value)) return value;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a log line must not hold
  return truncateText(wellFormed(value), max).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "\ufffd");
}

