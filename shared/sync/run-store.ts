// Run reports in Table storage: one row per run (counts, state, errors) and its change list in chunk rows,
// so a dry run over many users keeps every planned change without one oversized entity. A report is never
// lost to its own size. The run row's JSON is split across numbered properties (table-limits.ts) and
// its error list capped (with a count of what was left out) so it always fits one entity; every string in a
// listed change or error is capped with a visible marker, and change rows are packed to stay under 32K.
import { RestError, type TableClient } from "@azure/data-tables";
import { escapeODataString } from "../odata/literal.js";
import { capStrings, fitEntity, joinText, packJsonList, splitText, tableKey, truncationMarker } from "../state/table-limits.js";
import { ENTRY_TEXT_CAP, ERROR_LIST_CAP, type ChangeEntry, type RunReport, type RunSummary } from "./run-report.js";

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

/**
 * The record as stored: strings capped, errors dropped (counted) until it fits REPORT_CHARS. Keeps the first
 * errors (the cause) and the last one (a run-level failure is listed last).
 */
export function storedHead(record: RunSummary): RunSummary {
  // A whole report is a summary too: its changes live in change rows, never in the run row.
  const { changes: _, ...summary } = record as RunSummary & { changes?: unknown };
  const capped = capStrings(summary, ENTRY_TEXT_CAP);
  const errors = [...capped.errors];
  let omitted = capped.errorsOmitted ?? 0;
  if (errors.length > ERROR_LIST_CAP + 10) {
    const drop = errors.length - ERROR_LIST_CAP;
    errors.splice(ERROR_LIST_CAP - 1, drop);
    omitted += drop;
  }
  const withErrors = (): RunSummary => ({ ...capped, errors, ...(omitted > 0 ? { errorsOmitted: omitted } : {}) });
  while (JSON.stringify(withErrors()).length > REPORT_CHARS && errors.length > 1) {
    errors.splice(errors.length - 2, 1);
    omitted += 1;
  }
  return withErrors();
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

  /** Saves a run's record (a checkpoint); its change list goes to change rows (changeRows). */
  async save(record: RunSummary): Promise<void> {
    const text = JSON.stringify(storedHead(record));
    const entity: RunEntity = { partitionKey: RUN_PARTITION, rowKey: record.runId, org: record.org, ...splitText("report", text, REPORT_PARTS, CHUNK_CHARS) };
    const client = await this.runs();
    await client.upsertEntity(fitEntity(entity), "Replace");
    // A run is saved "queued" once, when it is created: that is when it enters the index.
    if (record.state === "queued") {
      await client.upsertEntity(fitEntity({ partitionKey: INDEX_PARTITION, rowKey: indexKey(Date.now(), record.runId), org: record.org, runId: record.runId }), "Replace");
    }
  }

  /** The newest runs (their records without the change list), optionally of one org. */
  async listRecent(limit: number, org?: string): Promise<RunSummary[]> {
    const client = await this.runs();
    const filter = `PartitionKey eq '${INDEX_PARTITION}'${org ? ` and org eq ${escapeODataString(org)}` : ""}`;
    const ids: string[] = [];
    for await (const page of client.listEntities<{ runId: string }>({ queryOptions: { filter, select: ["runId"] } }).byPage({ maxPageSize: limit })) {
      for (const row of page) if (ids.length < limit) ids.push(row.runId);
      if (ids.length >= limit) break;
    }
    const heads = await Promise.all(ids.map((id) => this.head(id)));
    return heads.filter((h): h is RunSummary => h !== undefined);
  }

  private async head(runId: string): Promise<RunSummary | undefined> {
    const entity = await this.runEntity(runId);
    return entity ? (JSON.parse(joinText(entity, "report")) as RunSummary) : undefined;
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
    const head = await this.head(runId);
    return head ? { ...head, changes: await this.readChanges(runId) } : undefined;
  }

  /** Where a run appends its listed changes; `listed`: how many its list already holds (earlier attempts). */
  changeRows(runId: string, listed: number): ChangeRows {
    return new ChangeRows(this.items, runId, listed);
  }

  private async readChanges(runId: string): Promise<ChangeEntry[]> {
    const client = await this.items();
    const changes: ChangeEntry[] = [];
    const rows = client.listEntities<{ items: string }>({ queryOptions: { filter: `PartitionKey eq ${escapeODataString(changeRowsPartition(runId))}` } });
    for await (const row of rows) changes.push(...(JSON.parse(row.items) as ChangeEntry[]));
    return changes;
  }
}

const changeRowsPartition = (runId: string) => `changes-${runId}`;

/**
 * A run's change list in numbered rows, packed under the entity limit and read back in key order. Rows are
 * numbered on from the count of changes already listed: every attempt writes at most one row per change it lists,
 * so a redelivered or approved run numbering from that count never overwrites an earlier row, and keeps the order.
 */
export class ChangeRows {
  private next: number;

  constructor(
    private readonly items: () => Promise<TableClient>,
    private readonly runId: string,
    listed: number,
  ) {
    this.next = listed;
  }

  async append(changes: readonly ChangeEntry[]): Promise<void> {
    if (changes.length === 0) return;
    const client = await this.items();
    const chunks = packJsonList(changes.map((c) => capStrings(c, ENTRY_TEXT_CAP)), CHUNK_CHARS, oversizedChange);
    for (const items of chunks) {
      await client.upsertEntity(fitEntity({ partitionKey: changeRowsPartition(this.runId), rowKey: String(this.next++).padStart(8, "0"), items }), "Replace");
    }
  }
}
