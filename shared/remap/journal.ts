// The remap journal (Table TABLES.remapJournal): one row per remap, partitioned by org, written before each
// step runs. Open rows (a step started, not yet settled) are what the recovery pass finishes or rolls back.
import { RestError, odata, type TableClient } from "@azure/data-tables";
import { encodeKey } from "../state/leases.js";
import { capStrings, fitEntity } from "../state/table-limits.js";

export type JournalState =
  | "step1" // about to point the record at the temporary account (or doing it)
  | "step2" // about to point it at the new name
  | "rollback" // about to restore the original name
  | "stuck" // on the temporary account, step 2 and rollback failed: recovery keeps retrying
  | "succeeded"
  | "rolled-back"
  | "failed" // step 1 failed: nothing changed
  | "not-started" // cut off before step 1 took effect
  | "verify-failed" // the read-back showed another directory object
  | "abandoned"; // the record was deleted or changed by someone else meanwhile

export const OPEN_STATES: ReadonlySet<JournalState> = new Set(["step1", "step2", "rollback", "stuck"]);

export type StepName = "temporary" | "target" | "rollback" | "verify";

export interface JournalStep {
  step: StepName;
  /** The domainname this step writes (or, for verify, the one read back). */
  domainName: string | null;
  outcome: "started" | "ok" | "failed";
  at: string;
  error?: string;
}

export interface JournalEntry {
  operationId: string;
  org: string;
  systemUserId: string;
  from: string | null;
  to: string;
  originalObjectId: string | null;
  targetObjectId: string;
  placeholder: string;
  placeholderObjectId: string;
  requestedBy: string;
  source: string;
  state: JournalState;
  steps: JournalStep[];
  createdAt: string;
  updatedAt: string;
  lastError?: string;
  /** Recovery attempts on this entry. */
  attempts: number;
  etag?: string;
}

interface Row {
  partitionKey: string;
  rowKey: string;
  open: boolean;
  org: string;
  systemUserId: string;
  from: string;
  to: string;
  originalObjectId: string;
  targetObjectId: string;
  placeholder: string;
  placeholderObjectId: string;
  requestedBy: string;
  source: string;
  state: string;
  steps: string;
  createdAt: string;
  updatedAt: string;
  lastError: string;
  attempts: number;
}

export class RemapJournal {
  constructor(
    private readonly client: () => Promise<TableClient>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(entry: Omit<JournalEntry, "createdAt" | "updatedAt" | "etag" | "attempts">): Promise<JournalEntry> {
    const at = this.now().toISOString();
    const full: JournalEntry = { ...entry, createdAt: at, updatedAt: at, attempts: 0 };
    const res = await (await this.client()).createEntity(fitEntity(toRow(full)));
    return { ...full, etag: res.etag };
  }

  /** Writes the entry's new state; fails (412) if anyone else wrote it since it was read. */
  async update(entry: JournalEntry, patch: Partial<Omit<JournalEntry, "operationId" | "org" | "etag">>): Promise<JournalEntry> {
    const next: JournalEntry = { ...entry, ...patch, updatedAt: this.now().toISOString() };
    const res = await (await this.client()).updateEntity(fitEntity(toRow(next)), "Replace", { etag: entry.etag ?? "*" });
    return { ...next, etag: res.etag };
  }

  /** Appends a step (its `at` stamped now) and sets the state, in one write. */
  step(entry: JournalEntry, state: JournalState, step: Omit<JournalStep, "at">, extra: Partial<JournalEntry> = {}): Promise<JournalEntry> {
    return this.update(entry, { ...extra, state, steps: [...entry.steps, { ...step, at: this.now().toISOString() }] });
  }

  /** Settles the last started step with its outcome. */
  settle(entry: JournalEntry, outcome: "ok" | "failed", state: JournalState = entry.state, error?: string): Promise<JournalEntry> {
    const steps = entry.steps.slice();
    const last = steps[steps.length - 1];
    if (last && last.outcome === "started") steps[steps.length - 1] = { ...last, outcome, ...(error ? { error } : {}) };
    return this.update(entry, { state, steps, ...(error ? { lastError: error } : {}) });
  }

  async get(org: string, operationId: string): Promise<JournalEntry | undefined> {
    try {
      const row = await (await this.client()).getEntity<Row>(encodeKey(org), operationId);
      return fromRow(row as Row & { etag: string });
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  /** Open entries: of one org, or of every org. */
  async listOpen(org?: string): Promise<JournalEntry[]> {
    const filter = org ? odata`PartitionKey eq ${encodeKey(org)} and open eq true` : "open eq true";
    return this.query(filter);
  }

  /** Open entries of one user (a new remap of it must wait for them to settle). */
  async openForUser(org: string, systemUserId: string): Promise<JournalEntry[]> {
    return this.query(odata`PartitionKey eq ${encodeKey(org)} and open eq true and systemUserId eq ${systemUserId.toLowerCase()}`);
  }

  /** Succeeded remaps from one name to another (repeats of a finished request answer from these). */
  async succeeded(org: string, from: string, to: string): Promise<JournalEntry[]> {
    const rows = await this.query(odata`PartitionKey eq ${encodeKey(org)} and state eq ${"succeeded"} and toLower eq ${to.toLowerCase()}`);
    return rows.filter((e) => (e.from ?? "").toLowerCase() === from.toLowerCase());
  }

  private async query(filter: string): Promise<JournalEntry[]> {
    const out: JournalEntry[] = [];
    for await (const row of (await this.client()).listEntities<Row>({ queryOptions: { filter } })) out.push(fromRow(row as Row & { etag: string }));
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}

function toRow(e: JournalEntry): Row & { toLower: string } {
  return {
    partitionKey: encodeKey(e.org),
    rowKey: e.operationId,
    open: OPEN_STATES.has(e.state),
    org: e.org,
    systemUserId: e.systemUserId.toLowerCase(),
    from: e.from ?? "",
    to: e.to,
    toLower: e.to.toLowerCase(),
    originalObjectId: e.originalObjectId ?? "",
    targetObjectId: e.targetObjectId,
    placeholder: e.placeholder,
    placeholderObjectId: e.placeholderObjectId,
    requestedBy: e.requestedBy,
    source: e.source,
    state: e.state,
    // Each step's strings capped so the list stays parseable JSON within one property.
    steps: JSON.stringify(capStrings(e.steps, 1_000)),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    lastError: (e.lastError ?? "").slice(0, 2000),
    attempts: e.attempts,
  };
}

function fromRow(r: Row & { etag: string }): JournalEntry {
  return {
    operationId: r.rowKey,
    org: r.org,
    systemUserId: r.systemUserId,
    from: r.from || null,
    to: r.to,
    originalObjectId: r.originalObjectId || null,
    targetObjectId: r.targetObjectId,
    placeholder: r.placeholder,
    placeholderObjectId: r.placeholderObjectId,
    requestedBy: r.requestedBy,
    source: r.source,
    state: r.state as JournalState,
    steps: JSON.parse(r.steps || "[]") as JournalStep[],
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.lastError ? { lastError: r.lastError } : {}),
    attempts: Number(r.attempts ?? 0),
    etag: r.etag,
  };
}
