// Audit of every remap attempt (dry runs excepted): who asked, which user, from, to, the steps and the
// outcome. Rows live in the journal table under their own partition, newest first.
import { randomUUID } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import { capStrings, fitEntity } from "../state/table-limits.js";
import type { JournalStep } from "./journal.js";

export interface RemapAuditRecord {
  requestedBy: string;
  source: string;
  org: string | null;
  /** The user as the request named it. */
  user: string;
  systemUserId: string | null;
  from: string | null;
  to: string;
  steps: readonly JournalStep[];
  /** `succeeded`, `no-change`, `refused`, `failed`, `rolled-back`, `stuck`, … */
  outcome: string;
  status: number;
  code?: string;
  message?: string;
  operationId?: string;
}

export const AUDIT_PARTITION = "audit";
const MAX_TICKS = 9_999_999_999_999;

export interface RemapAuditSink {
  record(entry: RemapAuditRecord): Promise<void>;
}

export class TableRemapAudit implements RemapAuditSink {
  constructor(
    private readonly client: () => Promise<TableClient>,
    private readonly log: (line: string) => void = () => undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(entry: RemapAuditRecord): Promise<void> {
    const at = this.now();
    // Inverted time keeps the newest rows first in a partition scan.
    const rowKey = `${String(MAX_TICKS - at.getTime()).padStart(13, "0")}-${randomUUID()}`;
    this.log(`remap audit: ${JSON.stringify({ at: at.toISOString(), ...entry, steps: entry.steps.length })}`);
    await (await this.client()).createEntity(fitEntity({
      partitionKey: AUDIT_PARTITION,
      rowKey,
      at: at.toISOString(),
      requestedBy: entry.requestedBy,
      source: entry.source,
      org: entry.org ?? "",
      user: entry.user.slice(0, 1024),
      systemUserId: entry.systemUserId ?? "",
      from: entry.from ?? "",
      to: entry.to.slice(0, 1024),
      steps: JSON.stringify(capStrings(entry.steps, 1_000)),
      outcome: entry.outcome,
      status: entry.status,
      code: entry.code ?? "",
      message: (entry.message ?? "").slice(0, 2000),
      operationId: entry.operationId ?? "",
    }));
  }

  /** Newest first (tests, support). */
  async list(limit = 100): Promise<Array<RemapAuditRecord & { at: string }>> {
    const out: Array<RemapAuditRecord & { at: string }> = [];
    const iter = (await this.client()).listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${AUDIT_PARTITION}'` } });
    for await (const row of iter) {
      out.push({
        at: String(row.at),
        requestedBy: String(row.requestedBy),
        source: String(row.source),
        org: row.org ? String(row.org) : null,
        user: String(row.user),
        systemUserId: row.systemUserId ? String(row.systemUserId) : null,
        from: row.from ? String(row.from) : null,
        to: String(row.to),
        steps: JSON.parse(String(row.steps || "[]")) as JournalStep[],
        outcome: String(row.outcome),
        status: Number(row.status),
        ...(row.code ? { code: String(row.code) } : {}),
        ...(row.message ? { message: String(row.message) } : {}),
        ...(row.operationId ? { operationId: String(row.operationId) } : {}),
      });
      if (out.length >= limit) break;
    }
    return out;
  }
}
