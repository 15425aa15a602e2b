// Per-org sync state in Table storage: the delta cursor (saved after every applied page), the round's
// mode, the last run, failure back-off, and disables waiting for the end of the round or for approval.
import { RestError, type TableClient } from "@azure/data-tables";
import { escapeODataString } from "../odata/literal.js";
import { capStrings, encodeKey, fitEntity, joinText, splitText, tableBatches } from "../state/table-limits.js";
import type { RunMode, RunState } from "./run-report.js";
import type { DisableReason } from "./plan.js";
import type { GroupMembersCursor } from "../directory/group-members-delta.js";

export interface OrgSyncState {
  org: string;
  /**
   * Where the round continues: a users/delta nextLink ("next"), a full round's /users listing nextLink ("list"),
   * or a deltaLink (round complete, "delta"); absent = next run is a full round.
   */
  cursor?: string;
  cursorKind?: "next" | "list" | "delta";
  /** A full round's users/delta link, taken before its listing: the round's delta link once the listing ends. */
  roundDeltaLink?: string;
  cursorSavedAt?: string;
  /** Mode of the round the cursor belongs to. */
  roundMode?: RunMode;
  /** Run that started the current round (full rounds collect seen ids under it). */
  roundId?: string;
  lastRunId?: string;
  lastOutcome?: RunState;
  lastFinishedAt?: string;
  haltedRunId?: string;
  /** The rule groups' `groups/delta` cursor (access): one delta link per chain of up to 50 groups. */
  accessGroups?: GroupMembersCursor;
  /** How many rows hold each rule group's saved direct members (group id → rows). */
  accessMembers?: Record<string, number>;
  /**
   * The scope groups' members saved by the last scoped run (in how many rows) and where their groups/delta
   * continues; absent = the next scoped run reads whole memberships and is a full round.
   */
  scopeMembers?: { groups: string; rows: number; cursor?: GroupMembersCursor };
  consecutiveFailures: number;
  backoffUntil?: string;
}

export interface PendingDisable {
  systemUserId: string;
  objectId: string;
  reason: DisableReason;
  runId: string;
  /** Who it is, for the report (each at most PERSON_TEXT_CAP characters: the row stays far below Table limits). */
  displayName?: string;
  logon?: string;
}

const STATE_PARTITION = "org";
// A table string property holds at most 32K UTF-16 characters: 800 GUIDs and commas fit.
export const SCOPE_MEMBERS_PER_ROW = 800;
const membersPartition = (org: string) => `members-${encodeKey(org)}`;
const retryPartition = (org: string) => `retry-${encodeKey(org)}`;
const accessPartition = (org: string) => `access-${encodeKey(org)}`;
const groupMembersPartition = (org: string, groupId: string) => `rulemembers-${encodeKey(org)}-${encodeKey(groupId.toLowerCase())}`;
const rowKeyOf = (i: number) => String(i).padStart(8, "0");

export class OrgStateStore {
  constructor(private readonly client: () => Promise<TableClient>) {}

  async get(org: string): Promise<OrgSyncState> {
    try {
      const entity = await (await this.client()).getEntity<Record<string, unknown>>(STATE_PARTITION, encodeKey(org));
      return JSON.parse(joinText(entity, "state")) as OrgSyncState;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return { org, consecutiveFailures: 0 };
      throw error;
    }
  }

  async save(state: OrgSyncState): Promise<void> {
    // Split, not cut: the state is read back as JSON (a delta link can be long). Strings are capped far above any
    // real value (a delta link is a few KB) only so that no input can outgrow the entity.
    const text = JSON.stringify(capStrings(state, 16_000));
    const entity = { partitionKey: STATE_PARTITION, rowKey: encodeKey(state.org), ...splitText("state", text, 16) };
    await (await this.client()).upsertEntity(fitEntity(entity), "Replace");
  }

  async update(org: string, change: (state: OrgSyncState) => void): Promise<OrgSyncState> {
    const state = await this.get(org);
    change(state);
    await this.save(state);
    return state;
  }

  async addPendingDisables(org: string, disables: PendingDisable[]): Promise<void> {
    if (disables.length === 0) return;
    const client = await this.client();
    const partitionKey = `pending-${encodeKey(org)}`;
    for (const batch of tableBatches(disables.map((d) => ["upsert", { partitionKey, rowKey: d.systemUserId, objectId: d.objectId, reason: d.reason, runId: d.runId, displayName: d.displayName, logon: d.logon }, "Replace"]))) {
      await client.submitTransaction(batch);
    }
  }

  async listPendingDisables(org: string): Promise<PendingDisable[]> {
    const client = await this.client();
    const out: PendingDisable[] = [];
    const rows = client.listEntities<{ objectId: string; reason: DisableReason; runId: string; displayName?: string; logon?: string }>({ queryOptions: { filter: `PartitionKey eq 'pending-${encodeKey(org)}'` } });
    for await (const row of rows) {
      out.push({ systemUserId: row.rowKey!, objectId: row.objectId, reason: row.reason, runId: row.runId, ...(row.displayName ? { displayName: row.displayName } : {}), ...(row.logon ? { logon: row.logon } : {}) });
    }
    return out;
  }

  async removePendingDisables(org: string, systemUserIds: string[]): Promise<void> {
    await this.deleteRows(`pending-${encodeKey(org)}`, systemUserIds);
  }

  /** Object ids a full round has seen, one row per applied page (a cut-off round resumes with them). */
  async addSeenIds(roundId: string, page: number, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const client = await this.client();
    // A page holds at most a few hundred ids (≤ 37 chars each with the comma): split, not cut, all the same.
    await client.upsertEntity(fitEntity({ partitionKey: `seen-${roundId}`, rowKey: String(page).padStart(8, "0"), ...splitText("ids", ids.join(","), 32) }), "Replace");
  }

  async listSeenIds(roundId: string): Promise<Set<string>> {
    const client = await this.client();
    const seen = new Set<string>();
    for await (const row of client.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq 'seen-${roundId}'` } })) {
      for (const id of joinText(row, "ids").split(",")) if (id) seen.add(id);
    }
    return seen;
  }

  /**
   * Writes the scope groups' members in rows 0..n-1 (one group's ids, or part of them, per row) and returns n; rows
   * from n to `previousRows` are deleted. The caller records n (and the groups' cursor) in the org state afterwards,
   * so a write cut off midway is never read as whole.
   */
  async saveScopeMembers(org: string, rows: ReadonlyArray<{ group: string; ids: readonly string[] }>, previousRows = 0): Promise<number> {
    const client = await this.client();
    const partitionKey = membersPartition(org);
    for (const [i, row] of rows.entries()) {
      await client.upsertEntity(fitEntity({ partitionKey, rowKey: rowKeyOf(i), group: row.group, ids: row.ids.join(",") }), "Replace");
    }
    for (let i = rows.length; i < previousRows; i++) await client.deleteEntity(partitionKey, rowKeyOf(i)).catch(() => undefined);
    return rows.length;
  }

  /** An access rule group's direct members (object id keys), in rows 0..n-1 like the scope members; returns n. */
  async saveGroupMembers(org: string, groupId: string, ids: readonly string[], previousRows = 0): Promise<number> {
    const rows = [];
    for (let i = 0; i < ids.length; i += SCOPE_MEMBERS_PER_ROW) rows.push({ group: groupId, ids: ids.slice(i, i + SCOPE_MEMBERS_PER_ROW) });
    const client = await this.client();
    const partitionKey = groupMembersPartition(org, groupId);
    for (const [i, row] of rows.entries()) await client.upsertEntity(fitEntity({ partitionKey, rowKey: rowKeyOf(i), ids: row.ids.join(",") }), "Replace");
    for (let i = rows.length; i < previousRows; i++) await client.deleteEntity(partitionKey, rowKeyOf(i)).catch(() => undefined);
    return rows.length;
  }

  async listGroupMembers(org: string, groupId: string, rows: number): Promise<Set<string>> {
    const members = new Set<string>();
    for (const row of await this.listMemberRows(groupMembersPartition(org, groupId), rows)) for (const id of row.ids) members.add(id);
    return members;
  }

  /** Object ids (keys) of users whose write failed: the next run fetches and plans them again (run-org-sync.ts). */
  async addRetries(org: string, objectIds: readonly string[]): Promise<void> {
    await this.addIds(retryPartition(org), objectIds);
  }

  async listRetries(org: string): Promise<string[]> {
    return this.listIds(retryPartition(org));
  }

  async removeRetries(org: string, objectIds: readonly string[]): Promise<void> {
    await this.deleteRows(retryPartition(org), objectIds);
  }

  /** Object ids (keys) of users whose access must be planned again (touched by a run cut off, or held for approval). */
  async addAccessPending(org: string, objectIds: readonly string[]): Promise<void> {
    await this.addIds(accessPartition(org), objectIds);
  }

  async listAccessPending(org: string): Promise<string[]> {
    return this.listIds(accessPartition(org));
  }

  async removeAccessPending(org: string, objectIds: readonly string[]): Promise<void> {
    await this.deleteRows(accessPartition(org), objectIds);
  }

  private async addIds(partitionKey: string, objectIds: readonly string[]): Promise<void> {
    if (objectIds.length === 0) return;
    const client = await this.client();
    const at = new Date().toISOString();
    for (const batch of tableBatches(objectIds.map((id) => ["upsert", { partitionKey, rowKey: id, objectId: id, at }, "Replace"]))) {
      await client.submitTransaction(batch);
    }
  }

  private async listIds(partitionKey: string): Promise<string[]> {
    const client = await this.client();
    const out: string[] = [];
    const rows = client.listEntities<{ objectId: string }>({ queryOptions: { filter: `PartitionKey eq ${escapeODataString(partitionKey)}` } });
    for await (const row of rows) out.push(String(row.objectId));
    return out;
  }

  private async deleteRows(partitionKey: string, rowKeys: readonly string[]): Promise<void> {
    if (rowKeys.length === 0) return;
    const client = await this.client();
    for (const batch of tableBatches(rowKeys.map((id) => ["delete", { partitionKey, rowKey: id }]))) {
      await client.submitTransaction(batch).catch(async (error: unknown) => {
        // A transaction fails whole on one missing row: fall back to one by one.
        if (!(error instanceof RestError)) throw error;
        for (const [, entity] of batch) await client.deleteEntity(entity.partitionKey, entity.rowKey).catch(() => undefined);
      });
    }
  }

  /** The scope groups' members saved in rows 0..rows-1. */
  async listScopeMembers(org: string, rows: number): Promise<Array<{ group: string; ids: string[] }>> {
    return this.listMemberRows(membersPartition(org), rows);
  }

  private async listMemberRows(partitionKey: string, rows: number): Promise<Array<{ group: string; ids: string[] }>> {
    const client = await this.client();
    const out: Array<{ group: string; ids: string[] }> = [];
    const filter = `PartitionKey eq ${escapeODataString(partitionKey)} and RowKey lt '${rowKeyOf(rows)}'`;
    for await (const row of client.listEntities<{ group?: string; ids: string }>({ queryOptions: { filter } })) {
      out.push({ group: String(row.group ?? ""), ids: row.ids ? row.ids.split(",").filter(Boolean) : [] });
    }
    return out;
  }
}
