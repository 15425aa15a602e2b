// Run reports in Table storage: one row per run (counts, state, errors) and its change list in chunk rows,
// so a dry run over many users keeps every planned change without one oversized entity. Contract §3: a report
// is never lost to its own size. The run row's JSON is split across numbered properties (table-limits.ts) and
// its error list capped (with a count of what was left out) so it always fits one entity; every string in a
// listed change or error is capped with a visible marker, and change rows are packed to stay under 32K.
import { RestError, type TableClient } from "@azure/data-tables";
import { escapeODataString } from "../odata/literal.js";
import { capStrings, fitEntity, joinText, packJsonList, splitText, tableKey, truncationMarker } from "../state/table-limits.js";
import { accessRidesOn, ACCESS_ACTION, entryUserKey } from "../access/report-entries.js";
import { CHANGE_LIST_CAP, ENTRY_TEXT_CAP, ERROR_LIST_CAP, type ChangeEntry, type RunReport } from "./run-report.js";

type RunEntity = Record<string, unknown> & { partitionKey: string; rowKey: string };

const RUN_PARTITION = "run";
/** Newest-first index of runs: row keys sort by inverted creation time (Table storage lists in key order). */
const INDEX_PARTITION = "index";
const indexKey = (at: number, runId: string) => `${String(9_999_999_999_999 - at).padStart(13, "0")}-${runId}`;
/** Table string properties hold 32K UTF-16 characters; stay well under. */
const CHUNK_CHARS = 30_000;
/** The run row's JSON in at most this many properties of CHUNK_CHARS: 360K chars, 720 KB, under 1 MiB. */
const REPORT_PARTS = 12;
const REPORT_CHARS = REPORT_PARTS * CHUNK_CHARS;

/** The stored head of a report: strings capped, errors dropped (counted) until it fits REPORT_CHARS. */
export function storedHead(report: RunReport): Omit<RunReport, "changes"> {
  const { changes: _, ...rest } = report;
  const head = capStrings(rest, ENTRY_TEXT_CAP);
  // Keep the first errors (the cause) and the last one (a run-level failure is appended last).
  if (head.errors.length > ERROR_LIST_CAP + 10) {
    const drop = head.errors.length - ERROR_LIST_CAP;
    head.errors.splice(ERROR_LIST_CAP - 1, drop);
    head.errorsOmitted = (head.errorsOmitted ?? 0) + drop;
  }
  while (JSON.stringify(head).length > REPORT_CHARS && head.errors.length > 1) {
    head.errors.splice(head.errors.length - 2, 1);
    head.errorsOmitted = (head.errorsOmitted ?? 0) + 1;
  }
  return head;
}

/** What stands in a change row for an entry that cannot fit one (never expected after capStrings). */
const oversizedChange = (change: ChangeEntry, length: number): ChangeEntry => ({
  objectId: change.objectId, systemUserId: change.systemUserId, action: change.action, outcome: change.outcome,
  reason: truncationMarker(length),
});

export class RunStore {
  constructor(
    private readonly runs: () => Promise<TableClient>,
    private readonly items: () => Promise<TableClient>,
  ) {}

  async save(report: RunReport): Promise<void> {
    const text = JSON.stringify(storedHead(report));
    const entity: RunEntity = { partitionKey: RUN_PARTITION, rowKey: report.runId, org: report.org, ...splitText("report", text, REPORT_PARTS, CHUNK_CHARS) };
    const client = await this.runs();
    await client.upsertEntity(fitEntity(entity), "Replace");
    // A run is saved "queued" once, when it is created: that is when it enters the index.
    if (report.state === "queued") {
      await client.upsertEntity(fitEntity({ partitionKey: INDEX_PARTITION, rowKey: indexKey(Date.now(), report.runId), org: report.org, runId: report.runId }), "Replace");
    }
  }

  /** The newest runs (their reports without the change list), optionally of one org. */
  async listRecent(limit: number, org?: string): Promise<Array<Omit<RunReport, "changes">>> {
    const client = await this.runs();
    const filter = `PartitionKey eq '${INDEX_PARTITION}'${org ? ` and org eq ${escapeODataString(org)}` : ""}`;
    const ids: string[] = [];
    for await (const page of client.listEntities<{ runId: string }>({ queryOptions: { filter, select: ["runId"] } }).byPage({ maxPageSize: limit })) {
      for (const row of page) if (ids.length < limit) ids.push(row.runId);
      if (ids.length >= limit) break;
    }
    const heads = await Promise.all(ids.map((id) => this.head(id)));
    return heads.filter((h): h is Omit<RunReport, "changes"> => h !== undefined);
  }

  private async head(runId: string): Promise<Omit<RunReport, "changes"> | undefined> {
    const entity = await this.runEntity(runId);
    if (!entity) return undefined;
    const { changes: _, ...head } = JSON.parse(joinText(entity, "report")) as RunReport;
    return head;
  }

  private async runEntity(runId: string): Promise<RunEntity | undefined> {
    try {
      return await (await this.runs()).getEntity<RunEntity>(RUN_PARTITION, tableKey(runId));
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async get(runId: string): Promise<RunReport | undefined> {
    const entity = await this.runEntity(runId);
    if (!entity) return undefined;
    const report = JSON.parse(joinText(entity, "report")) as RunReport;
    report.changes = await this.readChanges(runId);
    return report;
  }

  /**
   * Appends changes; for a non-dry run only the first CHANGE_LIST_CAP are kept, the rest are counted. An access
   * entry of a user whose own entry this run listed rides on it (access/report-entries.ts): kept, not counted.
   */
  async appendChanges(report: RunReport, recorded: { count: number; chunk: number; listed?: Set<string> }, changes: ChangeEntry[]): Promise<void> {
    const kept = report.dryRun ? changes : this.withinCap(report, recorded, changes);
    if (report.dryRun) recorded.count += changes.length;
    if (kept.length === 0) return;
    const client = await this.items();
    const chunks = packJsonList(kept.map((c) => capStrings(c, ENTRY_TEXT_CAP)), CHUNK_CHARS, oversizedChange);
    for (const items of chunks) {
      await client.upsertEntity(fitEntity({ partitionKey: `changes-${report.runId}`, rowKey: String(recorded.chunk++).padStart(8, "0"), items }), "Replace");
    }
  }

  /** The changes a non-dry run lists: the first CHANGE_LIST_CAP, and access riding on a listed user's entry. */
  private withinCap(report: RunReport, recorded: { count: number; listed?: Set<string> }, changes: readonly ChangeEntry[]): ChangeEntry[] {
    const listed = (recorded.listed ??= new Set());
    const kept: ChangeEntry[] = [];
    for (const change of changes) {
      if (accessRidesOn(change, listed)) { kept.push(change); continue; }
      if (recorded.count >= CHANGE_LIST_CAP) { report.changesOmitted++; continue; }
      kept.push(change);
      recorded.count++;
      const key = change.action === ACCESS_ACTION ? undefined : entryUserKey(change);
      if (key !== undefined) listed.add(key);
    }
    return kept;
  }

  private async readChanges(runId: string): Promise<ChangeEntry[]> {
    const client = await this.items();
    const changes: ChangeEntry[] = [];
    const rows = client.listEntities<{ items: string }>({ queryOptions: { filter: `PartitionKey eq ${escapeODataString(`changes-${runId}`)}` } });
    for await (const row of rows) changes.push(...(JSON.parse(row.items) as ChangeEntry[]));
    return changes;
  }
}
