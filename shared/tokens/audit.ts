// Audit of every issuance and refusal (contract §5): one Table storage row (TABLES.tokenAudit) and one log
// line (auditLogLine, written to the invocation log) each, carrying the SHA-256 of an issued token, never
// the token or a secret. Issuance waits for its row: if the write fails the caller gets no token (fail
// closed). Rows written in the same tick go in one entity-group transaction per partition (group commit),
// so a busy endpoint costs one storage call per batch, not per token; a failed batch is retried row by row,
// so one bad row cannot withhold the others' tokens. Every field that came off the wire is capped and
// normalised first, and refusals of senders that never authenticated go to their own partition, never to
// the caller they claim to be (issue #11, audit poisoning).
import { randomUUID } from "node:crypto";
import type { TableClient, TransactionAction } from "@azure/data-tables";
import { truncateText, wellFormed } from "../state/table-limits.js";
import { fitEntity } from "../state/table-limits.js";

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

export interface AuditSink {
  /** Resolves once the record is stored; rejects when it could not be. */
  record(record: AuditRecord): Promise<void>;
}

/** Entity-group transactions take at most 100 operations, all in one partition. */
const MAX_BATCH = 100;
/** 10 fields of 1,024 UTF-16 code units: about 21 KB a row, so a full batch stays far under 4 MiB. */
const AUDIT_STRING_CHARS = 1_024;

interface Pending {
  entity: Record<string, unknown> & { partitionKey: string; rowKey: string };
  done: (error?: unknown) => void;
}

export class TableAuditSink implements AuditSink {
  private readonly queued = new Map<string, Pending[]>();
  /** Partitions with a transaction in flight: new rows wait and go in the next, larger batch. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly client: () => Promise<Pick<TableClient, "submitTransaction">>) {}

  record(record: AuditRecord): Promise<void> {
    // Within Table limits by construction (table-limits.ts); short strings keep 100 rows under 4 MiB.
    const entity = fitEntity(toEntity(record), { maxStringChars: AUDIT_STRING_CHARS });
    return new Promise<void>((resolve, reject) => {
      const list = this.queued.get(entity.partitionKey) ?? [];
      list.push({ entity, done: (error) => (error === undefined ? resolve() : reject(error)) });
      this.queued.set(entity.partitionKey, list);
      // Group commit: one transaction per partition at a time; what arrives meanwhile rides the next one.
      if (!this.inFlight.has(entity.partitionKey)) {
        this.inFlight.add(entity.partitionKey);
        setImmediate(() => void this.drain(entity.partitionKey));
      }
    });
  }

  private async drain(partitionKey: string): Promise<void> {
    for (;;) {
      const list = this.queued.get(partitionKey);
      if (!list || list.length === 0) break;
      const batch = list.splice(0, MAX_BATCH);
      if (list.length === 0) this.queued.delete(partitionKey);
      await this.commit(batch);
    }
    this.inFlight.delete(partitionKey);
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.submit(batch);
      for (const p of batch) p.done();
    } catch (error) {
      if (batch.length === 1) return batch[0]!.done(error ?? new Error("audit write failed"));
      // A transaction fails as a whole: retry each row alone so only a row that really can't be stored fails.
      for (const p of batch) {
        await this.submit([p]).then(() => p.done(), (rowError: unknown) => p.done(rowError ?? new Error("audit write failed")));
      }
    }
  }

  private async submit(batch: Pending[]): Promise<void> {
    const client = await this.client();
    const actions: TransactionAction[] = batch.map((p) => ["create", p.entity]);
    const response = await client.submitTransaction(actions);
    if (response.status >= 300) throw new Error(`audit transaction answered ${response.status}`);
  }
}

/** The log line of an audit record (Application Insights in Azure): the row's fields, no token. */
export function auditLogLine(record: AuditRecord): string {
  return `token-audit ${JSON.stringify(toLogFields(record))}`;
}

function toLogFields(record: AuditRecord): Record<string, unknown> {
  return {
    outcome: record.outcome,
    caller: capWireValue(record.caller),
    authenticated: record.authenticated,
    grant: capWireValue(record.grant),
    method: capWireValue(record.method),
    target: capWireValue(record.target),
    identity: record.identity,
    error: capWireValue(record.error),
    reason: capWireValue(record.reason, MAX_REASON),
    time: record.time.toISOString(),
    expiresOn: record.expiresOn?.toISOString(),
    tokenSha256: record.tokenSha256,
  };
}

function toEntity(record: AuditRecord): Pending["entity"] {
  const day = record.time.toISOString().slice(0, 10);
  const fields = toLogFields(record);
  // Only a sender that authenticated writes into its caller's partition; a claim alone goes apart.
  const owner = record.outcome === "refused" && record.authenticated === false ? UNAUTHENTICATED_PARTITION : safeKey(record.caller);
  const entity: Pending["entity"] = {
    // One partition per caller per day: "what did caller X get on day D" is one partition scan.
    partitionKey: `${owner}_${day}`,
    // Time-ordered, unique.
    rowKey: `${record.time.toISOString()}_${randomUUID()}`,
  };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) entity[key] = value;
  return entity;
}

/** Table keys exclude / \ # ? and control characters; claimed ids from the wire may contain anything. */
function safeKey(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what Table keys must not hold
  const cleaned = capWireValue(value, 200)!.replace(/[/\\#?\u0000-\u001f\u007f-\u009f\ufffd]/g, "_");
  return cleaned || "_";
}

/** Partition (per day) of refusals whose sender never authenticated. Caller ids are [A-Za-z0-9._:-], so no clash. */
const UNAUTHENTICATED_PARTITION = "~unauthenticated";
/** Longest wire-derived string kept in an audit field (ids, grant types, targets are far shorter). */
const MAX_FIELD = 256;
const MAX_REASON = 512;

/**
 * Caps and normalises a value that may have come off the wire before it reaches storage or a log line: at
 * most `max` characters with a visible marker of what was cut (shared/state/table-limits), lone surrogates and
 * control characters replaced (a log line stays one line).
 */
export function capWireValue(value: string | undefined, max = MAX_FIELD): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a log line must not hold
  return truncateText(wellFormed(value), max).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "\ufffd");
}

