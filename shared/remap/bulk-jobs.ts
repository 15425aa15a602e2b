// Bulk remap jobs. A dry run plans at once and keeps the plan. Applying is queued work: the request stores
// the job and queues a `plan` message; the worker plans, stores one row per user and queues `apply`
// messages of CHUNK users each, which run the single-user remap (a few at a time, as many as there are
// temporary accounts to hold) and record each user's outcome. Messages may be redelivered: every step
// skips what is already done. Progress is read from the rows (no shared counter to contend on). A user whose
// remap is running elsewhere meanwhile (another delivery of the message, a sync, the API), or who finds every
// temporary account in use, is not a failed item: it stays pending and is looked at again a little later. An
// outcome is recorded only on the row as it was read, so a late duplicate never overwrites the first one's.
import { randomUUID } from "node:crypto";
import { RestError, odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import { resolveOrg } from "../config/org-url.js";
import { describeError, isRefusal, isAnswerable } from "../errors/app-error.js";
import { QUEUES, TABLES } from "../state/storage.js";
import { capStrings, fitEntity, joinText, packJsonList, tableBatches } from "../state/table-limits.js";
import { planBulk, type BulkSelection } from "./bulk-gather.js";
import type { BulkRule, PlanConflict, PlanEntry } from "./bulk-plan.js";
import { identityFor, type RemapDeps } from "./deps.js";
import { remapUser } from "./remap-user.js";

export type BulkMessage =
  | { kind: "plan"; jobId: string }
  /** `busyRetries`: how often these items were put off already because another remap of the user was running. */
  | { kind: "apply"; jobId: string; start: number; end: number; busyRetries?: number };

export type ItemOutcome = "pending" | "planned" | "succeeded" | "no-change" | "failed" | "skipped";

export interface BulkJobItem extends PlanEntry {
  index: number;
  outcome: ItemOutcome;
  code?: string;
  message?: string;
  operationId?: string;
  finishedAt?: string;
}

export interface BulkJobView {
  jobId: string;
  org: string;
  dryRun: boolean;
  state: "planning" | "planned" | "running" | "succeeded" | "completed-with-errors" | "failed";
  requestedBy: string;
  createdAt: string;
  finishedAt?: string;
  error?: string;
  selection: { rule?: unknown; items?: number };
  counts: { total: number; remap: number; none: number; skip: number; pending: number; succeeded: number; noChange: number; failed: number; skipped: number };
  plan: BulkJobItem[];
}

interface JobRow {
  partitionKey: string;
  rowKey: string;
  org: string;
  dryRun: boolean;
  state: string;
  requestedBy: string;
  createdAt: string;
  finishedAt?: string;
  error?: string;
  selection: string;
  total?: number;
}

const JOB_PARTITION = "job";
const CHUNK = 20;
/** Request items are stored as JSON arrays of at most this many characters a row. */
const REQUEST_ROW_CHARS = 30_000;
const MAX_PARALLEL = 4;
/**
 * A user another remap holds is looked at again this much later, up to MAX_BUSY_RETRIES times: 10 minutes,
 * longer than a remap's default lease and a recovery pass, so a remap whose process stopped is settled by then.
 */
export const BUSY_RETRY_SECONDS = 30;
export const MAX_BUSY_RETRIES = 20;
/**
 * The remap answers that mean "not now" rather than "this user cannot be remapped": someone is remapping this
 * user (another delivery of this message, a sync, the API), or every temporary account is in use.
 */
const BUSY_CODES = new Set(["remap_in_progress", "remap_pending", "placeholder_busy"]);
const itemKey = (i: number) => `item-${String(i).padStart(7, "0")}`;
const requestKey = (i: number) => `req-${String(i).padStart(7, "0")}`;

export interface BulkJobsDeps extends RemapDeps {
  jobs?: () => Promise<TableClient>;
  enqueue?: (message: BulkMessage, delaySeconds?: number) => Promise<void>;
}

const jobsTable = (deps: BulkJobsDeps) => (deps.jobs ?? (() => deps.storage.table(TABLES.remapJobs)))();
const send = (deps: BulkJobsDeps, message: BulkMessage, delaySeconds?: number) =>
  (deps.enqueue ?? ((m, d) => deps.storage.enqueueJson(QUEUES.remapBulk, m, { visibilityTimeoutSeconds: d })))(message, delaySeconds);

export interface StartBulkRequest {
  selection: BulkSelection;
  dryRun: boolean;
  org?: string;
  requestedBy: string;
}

/** Dry run: plans now and returns the view. Otherwise: stores the job, queues its planning, returns the id. */
export async function startBulkJob(request: StartBulkRequest, deps: BulkJobsDeps): Promise<{ jobId: string; view?: BulkJobView }> {
  const org = chooseOrg(request.org, deps);
  const jobId = randomUUID();
  const client = await jobsTable(deps);
  const selection = "rule" in request.selection ? { rule: request.selection.rule } : { items: request.selection.items.length };
  const job: JobRow = {
    partitionKey: JOB_PARTITION, rowKey: jobId, org, dryRun: request.dryRun, state: request.dryRun ? "planned" : "planning",
    requestedBy: request.requestedBy, createdAt: new Date().toISOString(), selection: JSON.stringify(capStrings(selection, 1_000)),
  };
  if (request.dryRun) {
    const plan = await planBulk({ port: deps.port(org), directory: deps.directory, identity: identityFor(deps, org) }, request.selection);
    await client.createEntity(fitEntity({ ...job, total: plan.length }));
    await writeItems(client, jobId, plan.map((p, index) => ({ ...p, index, outcome: "planned" as const })));
    return { jobId, view: await getBulkJob(jobId, deps) };
  }
  if ("items" in request.selection) {
    const items = request.selection.items;
    // Packed by size, not cut: the request is read back as JSON. An item over a row alone (never after the API's
    // 1024-character limit on both names) would stand in with its names capped to that limit.
    const rows = packJsonList(items, REQUEST_ROW_CHARS, (item) => capStrings(item, 1_024));
    await submit(client, rows.map((text, i) => ["create", { partitionKey: jobId, rowKey: requestKey(i), items: text }]));
  }
  await client.createEntity(fitEntity(job));
  await send(deps, { kind: "plan", jobId });
  return { jobId };
}

/** The queue worker. */
export async function processBulkMessage(message: BulkMessage, deps: BulkJobsDeps): Promise<void> {
  const client = await jobsTable(deps);
  const job = await getJob(client, message.jobId);
  if (!job) throw new Error(`bulk job ${message.jobId} does not exist`);
  if (message.kind === "plan") return planJob(client, job, deps);
  return applyChunk(client, job, message, deps);
}

async function planJob(client: TableClient, job: JobRow, deps: BulkJobsDeps): Promise<void> {
  if (job.state !== "planning") return;
  const jobId = job.rowKey;
  const selectionInfo = JSON.parse(job.selection) as { rule?: BulkRule };
  let selection: BulkSelection;
  if (selectionInfo.rule) selection = { rule: selectionInfo.rule };
  else {
    const items: Array<{ user: string; newDomainName: string }> = [];
    for await (const row of client.listEntities<{ items: string }>({ queryOptions: { filter: odata`PartitionKey eq ${jobId} and RowKey ge 'req-' and RowKey lt 'req.'` } })) {
      items.push(...(JSON.parse(joinText(row, "items")) as typeof items));
    }
    selection = { items };
  }
  let plan: PlanEntry[];
  try {
    plan = await planBulk({ port: deps.port(job.org), directory: deps.directory, identity: identityFor(deps, job.org) }, selection);
  } catch (error) {
    if (isRefusal(error)) {
      await client.updateEntity(fitEntity({ partitionKey: JOB_PARTITION, rowKey: jobId, state: "failed", error: error.message, finishedAt: new Date().toISOString() }), "Merge");
      return;
    }
    throw error;
  }
  // Rows are written before the state changes, so a redelivered message rewrites the same rows.
  await writeItems(client, jobId, plan.map((p, index) => ({
    ...p, index, outcome: p.action === "remap" ? "pending" : p.action === "none" ? "no-change" : "skipped",
  })), true);
  const remapIndexes = plan.flatMap((p, i) => (p.action === "remap" ? [i] : []));
  const done = remapIndexes.length === 0;
  await client.updateEntity(fitEntity({ partitionKey: JOB_PARTITION, rowKey: jobId, state: done ? "done" : "running", total: plan.length, ...(done ? { finishedAt: new Date().toISOString() } : {}) }), "Merge");
  for (let i = 0; i < remapIndexes.length; i += CHUNK) {
    await send(deps, { kind: "apply", jobId, start: remapIndexes[i]!, end: remapIndexes[Math.min(i + CHUNK, remapIndexes.length) - 1]! + 1 });
  }
}

async function applyChunk(client: TableClient, job: JobRow, message: Extract<BulkMessage, { kind: "apply" }>, deps: BulkJobsDeps): Promise<void> {
  const jobId = job.rowKey;
  const items: Array<{ item: BulkJobItem; etag: string }> = [];
  const filter = odata`PartitionKey eq ${jobId} and RowKey ge ${itemKey(message.start)} and RowKey lt ${itemKey(message.end)}`;
  for await (const row of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) items.push({ item: fromItemRow(row), etag: row.etag as string });
  const pending = items.filter(({ item }) => item.outcome === "pending" && item.systemUserId);
  const parallel = Math.max(1, Math.min(MAX_PARALLEL, deps.placeholders.length || MAX_PARALLEL));
  const busyRetries = message.busyRetries ?? 0;
  const busy: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, pending.length) }, async () => {
    while (next < pending.length) {
      const { item, etag } = pending[next++]!;
      const outcome = await applyItem(job, item, busyRetries < MAX_BUSY_RETRIES, deps);
      if (outcome === "busy") busy.push(item.index);
      else await recordOutcome(client, jobId, item.index, etag, outcome);
    }
  }));
  for (const index of busy) await send(deps, { kind: "apply", jobId, start: index, end: index + 1, busyRetries: busyRetries + 1 }, BUSY_RETRY_SECONDS);
  const view = await getBulkJob(jobId, deps);
  if (view && view.counts.pending === 0 && !view.finishedAt) {
    await client.updateEntity(fitEntity({ partitionKey: JOB_PARTITION, rowKey: jobId, state: "done", finishedAt: new Date().toISOString() }), "Merge");
  }
}

/** One user's remap: the outcome to record, or "busy" when another remap of the user runs and it may wait. */
async function applyItem(job: JobRow, item: BulkJobItem, mayWait: boolean, deps: BulkJobsDeps): Promise<Record<string, unknown> | "busy"> {
  const jobId = job.rowKey;
  const patch: Record<string, unknown> = { finishedAt: new Date().toISOString() };
  try {
    const result = await remapUser({ user: item.systemUserId!, newDomainName: item.to, org: job.org, requestedBy: job.requestedBy, source: `bulk:${jobId}` }, deps);
    return Object.assign(patch, { outcome: result.changed ? "succeeded" : "no-change", operationId: result.operationId ?? "", from: result.from ?? "" });
  } catch (error) {
    if (mayWait && isBusy(error)) return "busy";
    if (!isAnswerable(error)) deps.log?.(`bulk ${jobId} item ${item.index}: ${describeError(error)}`);
    return Object.assign(patch, {
      outcome: "failed",
      code: isAnswerable(error) ? error.code : "internal",
      message: (isAnswerable(error) ? error.message : describeError(error)).slice(0, 2000),
      operationId: isAnswerable(error) && typeof error.detail?.operationId === "string" ? error.detail.operationId : "",
    });
  }
}

/**
 * A "not now" answer. An earlier remap left `stuck` (its user deleted while on the temporary account) is not one:
 * it stays open until that user is restored, so the item fails now, naming it, as before.
 */
function isBusy(error: unknown): boolean {
  return isAnswerable(error) && BUSY_CODES.has(error.code) && !(error.code === "remap_pending" && error.detail?.state === "stuck");
}

/** Writes an item's outcome on the row as it was read: a 412 means another delivery recorded it first, which stands. */
async function recordOutcome(client: TableClient, jobId: string, index: number, etag: string, patch: Record<string, unknown>): Promise<void> {
  try {
    await client.updateEntity(fitEntity({ partitionKey: jobId, rowKey: itemKey(index), ...patch }), "Merge", { etag });
  } catch (error) {
    if (!(error instanceof RestError && error.statusCode === 412)) throw error;
  }
}

export async function getBulkJob(jobId: string, deps: BulkJobsDeps): Promise<BulkJobView | undefined> {
  const client = await jobsTable(deps);
  const job = await getJob(client, jobId);
  if (!job) return undefined;
  const plan: BulkJobItem[] = [];
  for await (const row of client.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${jobId} and RowKey ge 'item-' and RowKey lt 'item.'` } })) {
    plan.push(fromItemRow(row));
  }
  const count = (f: (i: BulkJobItem) => boolean) => plan.filter(f).length;
  const counts = {
    total: plan.length,
    remap: count((i) => i.action === "remap"),
    none: count((i) => i.action === "none"),
    skip: count((i) => i.action === "skip"),
    pending: count((i) => i.outcome === "pending"),
    succeeded: count((i) => i.outcome === "succeeded"),
    noChange: count((i) => i.outcome === "no-change"),
    failed: count((i) => i.outcome === "failed"),
    skipped: count((i) => i.outcome === "skipped"),
  };
  let state: BulkJobView["state"];
  if (job.dryRun) state = "planned";
  else if (job.state === "planning" || job.state === "failed") state = job.state;
  else if (counts.pending > 0) state = "running";
  else state = counts.failed > 0 ? "completed-with-errors" : "succeeded";
  return {
    jobId, org: job.org, dryRun: job.dryRun, state, requestedBy: job.requestedBy, createdAt: job.createdAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.error ? { error: job.error } : {}),
    selection: JSON.parse(job.selection) as BulkJobView["selection"],
    counts,
    plan,
  };
}

function chooseOrg(org: string | undefined, deps: RemapDeps): string {
  return resolveOrg(deps.orgs, org);
}

async function getJob(client: TableClient, jobId: string): Promise<JobRow | undefined> {
  try {
    return await client.getEntity<JobRow>(JOB_PARTITION, jobId);
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

async function writeItems(client: TableClient, jobId: string, items: BulkJobItem[], upsert = false): Promise<void> {
  const actions: TransactionAction[] = items.map((item) => [upsert ? "upsert" : "create", toItemRow(jobId, item), ...(upsert ? ["Replace" as const] : [])] as TransactionAction);
  await submit(client, actions);
}

/** Entity group transactions: one partition, at most 100 operations and 4 MiB (table-limits.ts). */
async function submit(client: TableClient, actions: TransactionAction[]): Promise<void> {
  for (const batch of tableBatches(actions)) await client.submitTransaction(batch);
}

function toItemRow(jobId: string, item: BulkJobItem): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  return {
    partitionKey: jobId,
    rowKey: itemKey(item.index),
    index: item.index,
    user: item.user,
    systemUserId: item.systemUserId ?? "",
    from: item.from ?? "",
    to: item.to,
    objectId: item.objectId ?? "",
    action: item.action,
    conflicts: JSON.stringify(capStrings(item.conflicts, 1_000)),
    outcome: item.outcome,
  };
}

function fromItemRow(row: Record<string, unknown>): BulkJobItem {
  const s = (k: string) => (typeof row[k] === "string" && row[k] !== "" ? (row[k] as string) : undefined);
  return {
    index: Number(row.index),
    user: s("user") ?? "",
    systemUserId: s("systemUserId") ?? null,
    from: s("from") ?? null,
    to: s("to") ?? "",
    objectId: s("objectId") ?? null,
    action: (s("action") ?? "skip") as PlanEntry["action"],
    conflicts: JSON.parse(s("conflicts") ?? "[]") as PlanConflict[],
    outcome: (s("outcome") ?? "pending") as ItemOutcome,
    ...(s("code") ? { code: s("code") } : {}),
    ...(s("message") ? { message: s("message") } : {}),
    ...(s("operationId") ? { operationId: s("operationId") } : {}),
    ...(s("finishedAt") ? { finishedAt: s("finishedAt") } : {}),
  };
}
