// The last issuance and refusal per caller seen by this instance (for GET /api/callers). The audit table is
// the durable record across instances; this is the cheap "what happened lately" view, bounded in size.
import type { AuditRecord, AuditSink } from "./audit.js";
import type { CallerActivity } from "../callers/callers.js";

/** Distinct caller ids kept (refusals may claim any id; known callers are few). */
const MAX_CALLERS = 1000;

export class CallerActivityLog {
  private readonly byCaller = new Map<string, CallerActivity>();

  constructor(private readonly isKnown: (callerId: string) => boolean) {}

  note(record: AuditRecord): void {
    if (!this.isKnown(record.caller) || record.outcome === "provisioned") return;
    if (!this.byCaller.has(record.caller) && this.byCaller.size >= MAX_CALLERS) return;
    const entry = this.byCaller.get(record.caller) ?? {};
    const at = record.time.toISOString();
    if (record.outcome === "issued") entry.lastIssuance = { at, org: record.target ?? "" };
    else entry.lastRefusal = { at, error: record.error ?? "", reason: record.reason };
    this.byCaller.set(record.caller, entry);
  }

  get(callerId: string): CallerActivity {
    return { ...this.byCaller.get(callerId) };
  }

  /** An audit sink that also notes activity once the row is stored. */
  wrap(sink: AuditSink): AuditSink {
    return { record: (entry) => sink.record(entry).then(() => this.note(entry.record)) };
  }
}
