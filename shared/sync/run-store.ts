// Run reports in Table storage: one row per run (counts, state, errors) and its change list in chunk rows,
// so a dry run over many users keeps every planned change without one oversized entity.
import { RestError, type TableClient } from "@azure/data-tables";
import { escapeODataString } from "../odata/literal.js";
import { TABLES, table } from "../state/storage.js";
import { CHANGE_LIST_CAP, ERROR_LIST_CAP, type ChangeEntry, type RunReport } from "./run-report.js";

interface RunEntity {
  partitionKey: string;
  rowKey: string;
  org: string;
  report: string;
}

const RUN_PARTITION = "run";
/** Newest-first index of runs: row keys sort by inverted creation time (Table storage lists in key order). */
const INDEX_PARTITION = "index";
const indexKey = (at: number, runId: string) => `${String(9_999_999_999_999 - at).padStart(13, "0")}-${runId}`;
/** Table string properties hold 32K UTF-16 characters; stay well under. */
const CHUNK_CHARS = 30_000;

export class RunStore {
  constructor(
    private readonly runs: () => Promise<TableClient> = () => table(TABLES.runs),
    private readonly items: () => Promise<TableClient> = () => table(TABLES.runItems),
  ) {}

  async save(report: RunReport): Promise<void> {
    const { changes: _, ...head } = report;
    const entity: RunEntity = { partitionKey: RUN_PARTITION, rowKey: report.runId, org: report.org, report: JSON.stringify({ ...head, errors: head.errors.slice(-ERROR_LIST_CAP) }) };
    const client = await this.runs();
    await client.upsertEntity(entity, "Replace");
    // A run is saved "queued" once, when it is created: that is when it enters the index.
    if (report.state === "queued") {
      await client.upsertEntity({ partitionKey: INDEX_PARTITION, rowKey: indexKey(Date.now(), report.runId), org: report.org, runId: report.runId }, "Replace");
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
    try {
      const entity = await (await this.runs()).getEntity<RunEntity>(RUN_PARTITION, runId);
      const { changes: _, ...head } = JSON.parse(entity.report) as RunReport;
      return head;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async get(runId: string): Promise<RunReport | undefined> {
    let entity: RunEntity;
    try {
      entity = await (await this.runs()).getEntity<RunEntity>(RUN_PARTITION, runId);
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
    const report = JSON.parse(entity.report) as RunReport;
    report.changes = await this.readChanges(runId);
    return report;
  }

  /** Appends changes; for a non-dry run only the first CHANGE_LIST_CAP are kept, the rest are counted. */
  async appendChanges(report: RunReport, recorded: { count: number; chunk: number }, changes: ChangeEntry[]): Promise<void> {
    const room = report.dryRun ? changes.length : Math.max(0, CHANGE_LIST_CAP - recorded.count);
    const kept = changes.slice(0, room);
    report.changesOmitted += changes.length - kept.length;
    if (kept.length === 0) return;
    const client = await this.items();
    let batch: ChangeEntry[] = [];
    let size = 2;
    const flush = async () => {
      if (batch.length === 0) return;
      await client.upsertEntity({ partitionKey: `changes-${report.runId}`, rowKey: String(recorded.chunk++).padStart(8, "0"), items: JSON.stringify(batch) }, "Replace");
      batch = [];
      size = 2;
    };
    for (const change of kept) {
      const text = JSON.stringify(change);
      if (size + text.length + 1 > CHUNK_CHARS) await flush();
      batch.push(change);
      size += text.length + 1;
    }
    await flush();
    recorded.count += kept.length;
  }

  private async readChanges(runId: string): Promise<ChangeEntry[]> {
    const client = await this.items();
    const changes: ChangeEntry[] = [];
    const rows = client.listEntities<{ items: string }>({ queryOptions: { filter: `PartitionKey eq ${escapeODataString(`changes-${runId}`)}` } });
    for await (const row of rows) changes.push(...(JSON.parse(row.items) as ChangeEntry[]));
    return changes;
  }
}
